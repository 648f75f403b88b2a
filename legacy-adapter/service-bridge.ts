// Lets runSync('service', …) inside a legacy handler reach the main thread's provided services over
// the worker's persistent port, for the duration of one request (the contract is in src/sync/services.ts).
import { setServiceBridge } from '../src/sync/services.js';
import type { WorkerLink } from './link.js';

const uninstall = (): void => setServiceBridge(null);

/**
 * Installs this request's bridge; messages for the request that arrive while runSync waits (body
 * chunks, a disconnect) are handed back to the link in order. Returns the uninstaller.
 */
export function installServiceBridge(link: WorkerLink): () => void {
  setServiceBridge({ port: link.port, signal: link.signal, onOtherMessage: (message) => link.deliver(message) });
  return uninstall;
}

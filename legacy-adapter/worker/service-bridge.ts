// Lets runSync('service', …) inside a legacy handler reach the main thread's provided services over
// the worker's persistent port, for the duration of one request (the contract is in src/sync/services.ts).
import { setServiceBridge, type ServiceBridge } from '../../src/sync/services.js';
import type { WorkerLink, WorkerChannelEnd } from './link.js';

// One bridge per worker channel, pointed at the request being handled: no allocation per request.
let current: WorkerLink | undefined;
let bridge: ServiceBridge | undefined;
let bridgeChannel: WorkerChannelEnd | undefined;

const uninstall = (): void => {
  current = undefined;
  setServiceBridge(null);
};

/**
 * Installs this request's bridge; messages that arrive while runSync waits (body chunks, a
 * disconnect) are handed back to the link in order. Returns the uninstaller.
 */
export function installServiceBridge(link: WorkerLink): () => void {
  if (bridgeChannel !== link.channel || bridge === undefined) {
    bridgeChannel = link.channel;
    bridge = { port: link.port, signal: link.signal, onOtherMessage: (message) => current?.deliver(message) };
  }
  current = link;
  setServiceBridge(bridge);
  return uninstall;
}

// Imported first by unregistered-worker.ts: this thread's port registration never leaves it.
import { parentPort, type TransferListItem } from 'node:worker_threads';

const post = parentPort!.postMessage.bind(parentPort!);
parentPort!.postMessage = (message: unknown, transfer?: readonly TransferListItem[]) => {
  if ((message as { albanyLegacyRegister?: unknown } | null)?.albanyLegacyRegister === true) return;
  post(message, transfer as never);
};

// Lets an async export hand back buffers by moving them, for large results where a copy would dominate.
import type { TransferListItem } from 'node:worker_threads';
import { kTransfer, type TransferredResult } from './protocol.js';

/**
 * Wrap an async export's return value to move `transferList` (ArrayBuffers, ports) to the caller
 * instead of copying them. The export must not touch those buffers afterwards (they are detached).
 * @example return withTransfer(bytes, [bytes.buffer]);
 */
export function withTransfer<T>(value: T, transferList: readonly TransferListItem[]): T {
  return { [kTransfer]: true, value, transferList } satisfies TransferredResult as unknown as T;
}

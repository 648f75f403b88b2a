// The main half of services: runs a worker's call on this loop and replies exactly once.
import type { TransferListItem } from 'node:worker_threads';
import { AlbanyError, ErrorCodes } from '../errors.js';
import { dataCloneError, isDataCloneError } from './clone-path.js';
import { serializeError } from '../errors-wire.js';
import type { ServiceCallMessage, ServiceCancelMessage, ServiceResultMessage } from './service-protocol.js';
import { registry } from './service-registry.js';
import { runServiceCall } from './service-waits.js';
import { contextState } from '../context/state.js';

/** Main side: true for a message from a worker that {@link handleServiceCall} must handle. */
export function isServiceMessage(msg: unknown): msg is ServiceCallMessage | ServiceCancelMessage {
  if (typeof msg !== 'object' || msg === null) return false;
  const kind = (msg as { kind?: unknown }).kind;
  return kind === 'service-call' || kind === 'service-cancel';
}

const running = new Map<string, AbortController>();

/**
 * Main side: runs a worker's service call on this loop and sends the outcome through `reply`
 * exactly once (a cancel message only aborts the running call). Never rejects. `owner` (the
 * worker's pool) marks the call as one its thread blocks on, so the pool can tell when the call
 * waits on the pool itself (see sync/service-waits.ts).
 */
export async function handleServiceCall(
  msg: ServiceCallMessage | ServiceCancelMessage,
  reply: (result: ServiceResultMessage, transfer?: readonly TransferListItem[]) => void,
  owner?: object,
): Promise<void> {
  const key = `${msg.thread}:${msg.id}`;
  if (msg.kind === 'service-cancel') {
    running.get(key)?.abort(new AlbanyError(ErrorCodes.ERR_ALBANY_ABORTED, 'the calling worker stopped waiting'));
    return;
  }
  const controller = new AbortController();
  running.set(key, controller);
  try {
    const fn = registry.get(msg.name);
    if (fn === undefined) {
      throw new AlbanyError(
        ErrorCodes.ERR_ALBANY_UNKNOWN_SERVICE,
        `no service named '${msg.name}' was provided on the main thread (known: ` +
          `${[...registry.keys()].join(', ') || 'none'})`,
        {
          details: { service: msg.name },
        },
      );
    }
    const bare = async () => fn.apply({ signal: controller.signal }, msg.args as unknown[]);
    // Back in the calling request's context (src/context), when the call names one.
    const enter = msg.ctx === undefined ? undefined : contextState.service;
    const call = enter === undefined ? bare : () => enter(msg.ctx!, msg.name, bare);
    const value = owner === undefined ? await call() : await runServiceCall(owner, msg.thread, msg.name, call);
    try {
      reply({ kind: 'service-result', id: msg.id, ok: true, value });
    } catch (err) {
      if (!isDataCloneError(err)) throw err;
      throw dataCloneError(value, 'result', err);
    }
  } catch (err) {
    try {
      reply({ kind: 'service-result', id: msg.id, ok: false, error: serializeError(err) });
    } catch {
      // The request's port is gone (the worker moved on); nobody is left to tell.
    }
  } finally {
    running.delete(key);
  }
}

// The worker side of offload(): runs one module export with its cloned arguments inside a legacy
// batch. Not an entry: only workers/legacy-worker.ts imports it. The result (or the error, with
// class name, code, props and stack) leaves at once on the worker's port, as a `legacy.result`:
// a value that cannot be cloned then fails this call alone, not the batch it came in.
import { threadId, type TransferListItem } from 'node:worker_threads';
import { albanyError } from '../src/errors.js';
import { dataCloneError, isDataCloneError } from '../src/sync/clone-path.js';
import { serializeError } from '../src/errors-wire.js';
import type { OffloadCall, TaskResult } from '../src/pool/protocol.js';
import { kTransfer, type TransferredResult } from '../src/sync/protocol.js';
import { cachedHandler, loadHandler, type LoadedHandler } from '../legacy-adapter/worker/load-handler.js';
import type { WorkerChannelEnd } from '../legacy-adapter/worker/link.js';

/**
 * Runs `call`: synchronously when its module is loaded and the function returns a plain value, else
 * as a promise. `stamp` records the start time (after a first import, so the timeout does not count
 * tsx compiling the module) and returns it; `bridge` installs runSync's service bridge for the call
 * and returns its uninstaller. Never throws: failures become the result's `error`.
 */
export function runOffloadCall(
  call: OffloadCall,
  stamp: () => number,
  bridge: () => () => void,
): TaskResult | Promise<TaskResult> {
  const loaded = cachedHandler(call.moduleUrl, call.exportName, 'plain');
  if (loaded === undefined) {
    return loadHandler(call.moduleUrl, call.exportName, 'plain').then(
      (l) => invoke(l, call, stamp(), bridge),
      (err: unknown) => failure(err, true, stamp()),
    );
  }
  return invoke(loaded, call, stamp(), bridge);
}

function invoke(
  loaded: LoadedHandler,
  call: OffloadCall,
  startedAt: number,
  bridge: () => () => void,
): TaskResult | Promise<TaskResult> {
  const uninstall = bridge();
  let value: unknown;
  try {
    value = loaded.fn(...call.args);
  } catch (err) {
    uninstall();
    return failure(err, false, startedAt);
  }
  if (typeof (value as { then?: unknown } | null)?.then === 'function') {
    return Promise.resolve(value).then(
      (v) => {
        uninstall();
        return success(v, startedAt);
      },
      (err: unknown) => {
        uninstall();
        return failure(err, false, startedAt);
      },
    );
  }
  uninstall();
  return success(value, startedAt);
}

function success(value: unknown, startedAt: number): TaskResult {
  return { start: undefined, body: undefined, error: undefined, loadError: false, aborted: false, startedAt, value };
}

function failure(err: unknown, loadError: boolean, startedAt: number): TaskResult {
  return { start: undefined, body: undefined, error: serializeError(err), loadError, aborted: false, startedAt };
}

/**
 * Posts an offload call's result on the worker's port (ahead of its batch). A value marked with
 * `withTransfer()` (the one runSync's async exports use) moves its buffers; a value structured clone refuses becomes an
 * `ERR_ALBANY_DATA_CLONE` naming where in the value the problem is.
 */
export function postOffloadResult(channel: WorkerChannelEnd, id: number, result: TaskResult): void {
  let transfer: readonly TransferListItem[] | undefined;
  if (result.error === undefined && isTransferResult(result.value)) {
    transfer = result.value.transferList;
    result.value = result.value.value;
  }
  try {
    channel.port.postMessage({ type: 'legacy.result', id, result }, transfer as never);
  } catch (err) {
    const error = isDataCloneError(err)
      ? dataCloneError(result.value, 'result', err)
      : albanyError(
          'ERR_ALBANY_PROTOCOL',
          `offload result of thread ${threadId} could not be posted: ${(err as Error).message}`,
          { cause: err },
        );
    channel.port.postMessage({
      type: 'legacy.result',
      id,
      result: { ...result, value: undefined, error: serializeError(error) },
    });
  }
}

function isTransferResult(value: unknown): value is TransferredResult {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kTransfer] === true;
}

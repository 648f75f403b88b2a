// offload(): any blocking module export as an async function that runs in a legacy pool (asgiref's
// sync_to_async). A call travels as a task of the pool's own dispatch (a LegacyTask with `call`,
// see protocol.ts), not through a piscina.run of its own: so it shares the pool's admission and
// queue bound (a flood of calls cannot starve requests or grow without bound), its batching, the
// timeout sweep, worker replacement after a timeout or crash, the re-run of calls a dead thread had
// not reached, and the metrics, and `maxThreads` bounds calls and requests together. The worker
// recognises the kind per item (workers/offload-call.ts); results come back on its port.
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { TransferListItem } from 'node:worker_threads';
import { type AlbanyError, albanyError, hasCode } from '../errors.js';
import { dataCloneError, isDataCloneError } from '../sync/clone-path.js';
import { rebuildForCaller } from '../errors-wire.js';
import { LegacyPool } from './legacy-pool.js';
import { laneFor } from './offload-lanes.js';
import { createPool } from './pool.js';
import { offloadTask, type TaskResult } from './protocol.js';
import { findLivePool } from './registry.js';
import { declarePoolName } from './config-process.js';
import { deadlineHit, deadlineLeft, deadlinePassed } from '../context/deadline.js';

/** The pool `offload()` uses when none is given: shared by the whole process, tuned by `pools.offload`. */
export const DEFAULT_OFFLOAD_POOL = 'offload';

/** The longest delay a Node timer keeps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Options of one call (see {@link OffloadedFunction.with}); they add to the function's own. */
export interface OffloadCallOptions {
  /** Aborts this call: removed if still queued (`ERR_ALBANY_ABORTED`); if running, its worker is replaced. */
  signal?: AbortSignal;
  /**
   * Most milliseconds this call may take, queue time included; past it the call fails with
   * `ERR_ALBANY_TIMEOUT` (a running one has its worker replaced). The pool's `taskTimeoutMs` still
   * bounds the running time.
   */
  timeoutMs?: number;
  /** Buffers inside the arguments to move to the worker instead of copying (unusable here afterwards). */
  transferList?: readonly TransferListItem[];
  /** Thread-sensitive mode for this call (see {@link OffloadOptions.key}). */
  key?: string;
}

/** Options of {@link offload}. */
export interface OffloadOptions {
  /**
   * The pool to run in: a {@link LegacyPool}, or a pool name (the live pool created with that name,
   * else one made on first call with `createPool({ name })`, tuned by `pools.<name>` in the config
   * file and `ALBANY_POOLS_<NAME>_*`). Default: the shared pool named `"offload"`.
   */
  pool?: LegacyPool | string;
  /**
   * Thread-sensitive mode (asgiref's `thread_sensitive=True`): calls with the same key always run on
   * the same thread, one after another in call order; different keys may run in parallel. A string
   * keys every call of this function; a function picks each call's key from its arguments
   * (`undefined`: no key). A pool of one thread is thread-sensitive already.
   */
  key?: string | ((...args: never[]) => string | undefined);
  /** Aborts every call of this function (a shutdown signal, say); a per-call signal adds to it. */
  signal?: AbortSignal;
  /** Default per-call timeout, see {@link OffloadCallOptions.timeoutMs}. */
  timeoutMs?: number;
  /** Picks the buffers to move (not copy) from each call's arguments, as runSync's `syncify` does. */
  transferList?: (...args: never[]) => readonly TransferListItem[] | undefined;
}

/** The async function {@link offload} returns. */
export interface OffloadedFunction<A extends unknown[], R> {
  /** Runs the export in the pool with these (structured-cloned) arguments. */
  (...args: A): Promise<Awaited<R>>;
  /** The same function with per-call options: `await render.with({ signal, transferList: [buf.buffer] })(buf)`. */
  with(options: OffloadCallOptions): (...args: A) => Promise<Awaited<R>>;
  /** The pool the calls run in (looked up or created on first use). */
  readonly pool: LegacyPool;
}

/**
 * Wraps a module export as an async function that runs in a legacy pool's worker threads, so blocking
 * code (a synchronous driver, zlib, a CPU-heavy render) never stalls the event loop. Arguments and
 * results are structured-cloned (buffers may be moved: `transferList` for arguments, and a result
 * wrapped in `withTransfer(value, list)` — the one from `albany/sync`). Errors thrown in the worker
 * arrive with their class name, `code`, own props and both stacks (the caller's, then the worker's;
 * the worker's error is `cause`). A call can fail like a legacy request: `ERR_ALBANY_QUEUE_FULL`,
 * `ERR_ALBANY_TIMEOUT` (its worker replaced), `ERR_ALBANY_WORKER_CRASHED`, `ERR_ALBANY_ABORTED`, plus
 * `ERR_ALBANY_DATA_CLONE` for arguments or a result that cannot cross threads and
 * `ERR_ALBANY_APP_LOAD` for a missing export.
 *
 * ```ts
 * const render = offload<typeof import('./report.js').render>(new URL('./report.js', import.meta.url), 'render');
 * const html = await render(rows);
 * ```
 */
export function offload<F extends (...args: never[]) => unknown = (...args: unknown[]) => unknown>(
  module: URL | string,
  exportName = 'default',
  options: OffloadOptions = {},
): OffloadedFunction<Parameters<F>, ReturnType<F>> {
  const moduleUrl = toModuleUrl(module);
  if (typeof exportName !== 'string' || exportName === '')
    throw invalid(`offload(): exportName must be a non-empty string, got ${String(exportName)}`);
  checkTimeout(options.timeoutMs, 'options.timeoutMs');
  const key = options.key;
  if (key !== undefined && typeof key !== 'string' && typeof key !== 'function')
    throw invalid(`offload(): options.key must be a string or a function of the arguments, got ${typeof key}`);
  const given = options.pool;
  if (given !== undefined && !(given instanceof LegacyPool) && (typeof given !== 'string' || given === '')) {
    throw invalid('offload(): options.pool must be a LegacyPool or a pool name (non-empty string)');
  }
  if (typeof given === 'string' || given === undefined) declarePoolName(given ?? DEFAULT_OFFLOAD_POOL);
  let pool: LegacyPool | undefined;
  const getPool = (): LegacyPool => {
    if (given instanceof LegacyPool) return given;
    // A named pool closed by its owner is made anew on the next call.
    if (pool === undefined || pool.closed) pool = namedPool(given ?? DEFAULT_OFFLOAD_POOL);
    return pool;
  };

  // `entry` is the function the caller called: its frame and ours are left out of the caller's stack.
  const call = (
    callOptions: OffloadCallOptions,
    args: unknown[],
    entry: (...args: unknown[]) => unknown,
  ): Promise<unknown> => {
    const holder: { stack?: string } = {};
    Error.captureStackTrace(holder, entry);
    let target = getPool();
    const callKey =
      callOptions.key ?? (typeof key === 'function' ? (key as (...a: unknown[]) => string | undefined)(...args) : key);
    if (callKey !== undefined) target = laneFor(target, String(callKey));
    const signals = [options.signal, callOptions.signal].filter((x): x is AbortSignal => x !== undefined);
    const settings: CallSettings = {
      signals,
      timeoutMs: callOptions.timeoutMs ?? options.timeoutMs,
      transferList:
        callOptions.transferList ??
        (options.transferList as ((...a: unknown[]) => readonly TransferListItem[] | undefined) | undefined)?.(...args),
    };
    return runCall(target, moduleUrl, exportName, args, settings, holder.stack);
  };
  const fn = (...args: unknown[]): Promise<unknown> => call({}, args, fn);
  const withOptions = (callOptions: OffloadCallOptions) => {
    checkTimeout(callOptions.timeoutMs, 'timeoutMs');
    if (callOptions.transferList !== undefined && !Array.isArray(callOptions.transferList)) {
      throw invalid(
        `offload(): transferList must be an array of ArrayBuffers or ports, got ${typeof callOptions.transferList}`,
      );
    }
    if (callOptions.key !== undefined && typeof callOptions.key !== 'string')
      throw invalid(`offload(): key must be a string, got ${typeof callOptions.key}`);
    const bound = (...args: unknown[]): Promise<unknown> => call(callOptions, args, bound);
    return bound;
  };
  Object.defineProperty(fn, 'with', { value: withOptions });
  Object.defineProperty(fn, 'pool', { get: getPool, enumerable: true });
  Object.defineProperty(fn, 'name', { value: exportName });
  return fn as unknown as OffloadedFunction<Parameters<F>, ReturnType<F>>;
}

/** The live pool of this name, or a new one built with its config layers. */
function namedPool(name: string): LegacyPool {
  const live = findLivePool(name);
  return live instanceof LegacyPool ? live : createPool({ name });
}

/** One call's settings, the function's and the call's options merged. */
interface CallSettings {
  signals: AbortSignal[];
  timeoutMs: number | undefined;
  transferList: readonly TransferListItem[] | undefined;
}

async function runCall(
  pool: LegacyPool,
  moduleUrl: string,
  exportName: string,
  args: unknown[],
  options: CallSettings,
  callerStack: string | undefined,
): Promise<unknown> {
  // Without a timeout of its own, a call made while serving a request waits no longer than it may.
  let timeoutMs = options.timeoutMs;
  const left = timeoutMs === undefined ? deadlineLeft() : undefined;
  if (left !== undefined) {
    if (left <= 0) throw deadlinePassed(`offload ${exportName}()`, left);
    timeoutMs = Math.min(MAX_TIMER_MS, Math.ceil(left));
  }
  const refused = pool.admit();
  if (refused !== undefined) throw refused;
  const moved = cloneArgs(args, options.transferList);
  const ticket = pool.dispatch(offloadTask({ moduleUrl, exportName, args: moved.args, transfer: moved.transfer }));
  const signals = options.signals;
  let timedOut = false;
  const onAbort = (): void => ticket.cancel('abort');
  for (const s of signals) {
    if (s.aborted) onAbort();
    else s.addEventListener('abort', onAbort, { once: true });
  }
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          // Counted as a timeout in the pool's metrics when it was running (a queued one is just removed).
          if (ticket.stage === 'running') ticket.reason ??= 'timeout';
          ticket.cancel('abort');
        }, timeoutMs);
  let result: TaskResult;
  try {
    result = await ticket.result;
  } catch (err) {
    if (timedOut && (hasCode(err, 'ERR_ALBANY_ABORTED') || hasCode(err, 'ERR_ALBANY_TIMEOUT'))) {
      const running = hasCode(err, 'ERR_ALBANY_TIMEOUT');
      const where = running ? ' (its worker was replaced)' : ' (it was still queued)';
      if (left !== undefined) throw deadlineHit(`offload ${exportName}()${where}`, left, err);
      throw albanyError(
        'ERR_ALBANY_TIMEOUT',
        `offload ${exportName}() did not finish within timeoutMs (${timeoutMs} ms)` +
          `${running ? '; its worker was replaced' : ' (it was still queued)'}`,
        { cause: err },
      );
    }
    throw err;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    for (const s of signals) s.removeEventListener('abort', onAbort);
  }
  if (result.error !== undefined)
    throw rebuildForCaller(result.error, callerStack, `in offload ${exportName}() on a worker thread`);
  return result.value;
}

/**
 * Copies the arguments now (moving `transferList`): an argument that cannot cross threads fails
 * this call with a message naming it, instead of failing the whole batch it would travel in.
 */
function cloneArgs(
  args: unknown[],
  transferList: readonly TransferListItem[] | undefined,
): { args: unknown[]; transfer: TransferListItem[] | undefined } {
  const transfer = transferList === undefined || transferList.length === 0 ? undefined : [...transferList];
  try {
    if (transfer === undefined) return { args: structuredClone(args), transfer: undefined };
    // One clone keeps identity: `copy.transfer` holds the moved buffers the copied args refer to.
    const copy = structuredClone({ args, transfer }, { transfer: transfer as never[] });
    return copy;
  } catch (err) {
    if (isDataCloneError(err)) throw dataCloneError(args, 'args', err);
    throw err;
  }
}

function checkTimeout(value: unknown, name: string): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_TIMER_MS) {
    throw invalid(
      `offload(): ${name} must be an integer number of milliseconds from 1 to ${MAX_TIMER_MS}, got ${String(value)}`,
    );
  }
}

function invalid(message: string): AlbanyError {
  return albanyError('ERR_ALBANY_USAGE', message);
}

function toModuleUrl(module: URL | string): string {
  if (module instanceof URL) return module.href;
  if (typeof module !== 'string' || module === '') throw invalid('offload(): module must be a URL or a path');
  if (/^[a-z][a-z0-9+.-]*:/i.test(module) && !/^[a-z]:[\\/]/i.test(module)) return module;
  return pathToFileURL(isAbsolute(module) ? module : resolve(module)).href;
}

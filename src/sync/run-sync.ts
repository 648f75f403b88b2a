// The caller-side API: syncify, runSync and runInReactor — blocking code calling async code.
import type { TransferListItem } from 'node:worker_threads';
import { AlbanyError, ErrorCodes } from '../errors.js';
import { EventualResult } from './eventual-result.js';
import { callerStack, unwrap } from './outcome.js';
import { checkMs, syncDefaults } from './options.js';
import { REACTOR_THREAD_FLAG } from './protocol.js';
import { reactor, type ReactorLink } from './reactor.js';
import { callService } from './services.js';
import { moduleSpecifier } from './target.js';
import { deadlineLeft, withinDeadline } from '../context/deadline.js';
import { reactorWire } from '../context/reactor-calls.js';
import type { RequestContext } from '../context/request-context.js';
import { currentContext } from '../context/state.js';

/** Per-call options of {@link syncify}. */
export interface SyncifyOptions<A extends unknown[]> {
  /** Overrides the thread's default wait (configureSync); `ERR_ALBANY_TIMEOUT` past it. */
  timeoutMs?: number;
  /** Picks, for each call, the ArrayBuffers / ports among its arguments to move instead of copy. */
  transferList?: (...args: A) => readonly TransferListItem[];
}

/** A module export run by the reactor: `{ module: new URL('./x.js', import.meta.url), export: 'load' }`. */
export interface ModuleTarget {
  module: URL | string;
  export: string;
  timeoutMs?: number;
  transferList?: readonly TransferListItem[];
}

/** A service provided on the main thread, with per-call options. */
export interface ServiceTarget {
  service: string;
  timeoutMs?: number;
}

// biome-ignore lint/suspicious/noExplicitAny: any[] parameters accept every signature; unknown[] refuses typed ones.
type AsyncFn = (...args: any[]) => unknown;

// Whether this is the reactor thread, read once: the reactor sets its flag before loading any
// module that could call in, and a thread never changes role.
let reactorThread: boolean | undefined;

/** True inside the reactor thread, where waiting on the reactor can never finish. */
function inReactor(): boolean {
  return (reactorThread ??= (globalThis as Record<symbol, unknown>)[REACTOR_THREAD_FLAG] === true);
}

// `syncified` names the export for a syncified function, else `what` is the whole name: the message
// is only built when thrown, as building it costs a string on every call. Callers test
// `reactorThread !== false` first, so the usual call makes no call at all: a helper that is always
// inlined is never optimized on its own, and runs unoptimized wherever the caller is inlined
// without it (a user's loop optimized late, whose compile exhausts V8's inlining budget).
function refuseInReactor(what: string, syncified?: boolean): void {
  if (inReactor()) {
    throw new AlbanyError(
      ErrorCodes.ERR_ALBANY_DEADLOCK,
      `${syncified === true ? `the syncified ${what}` : what} was called inside the reactor thread: it would ` +
        `block the loop that has to run it; await the function directly instead`,
    );
  }
}

function timeoutOf(value: number | undefined): number {
  return value === undefined ? syncDefaults().timeoutMs : checkMs('timeoutMs', value, true);
}

function exportNameOf(exportName: unknown): string {
  if (typeof exportName !== 'string' || exportName === '') {
    throw new AlbanyError(
      ErrorCodes.ERR_ALBANY_UNKNOWN_SERVICE,
      `the export name must be a non-empty string, got ${String(exportName)}`,
    );
  }
  return exportName;
}

/**
 * Returns a synchronous version of the async export `exportName` of `module`: each call runs it in
 * this thread's reactor (a persistent worker thread started on first use) and blocks until it
 * settles. Arguments and results are structured-cloned; errors are rebuilt with their class name,
 * `code`, props and both stacks. The module is loaded once; `.ts` modules work through tsx.
 *
 * Made while serving a request, a call runs in a copy of the request's context (`context()` in
 * the export; values set before the call travel structured-cloned) and, without a timeout of its
 * own, waits no longer than the request's deadline.
 *
 * Calling it on the main thread is allowed and blocks the main thread's event loop for the call,
 * like synckit's createSyncFn: fine in scripts and at startup, not in a request path.
 * @example const loadConfig = syncify<typeof import('./config.js').loadConfig>(new URL('./config.js', import.meta.url),
 * 'loadConfig');
 */
export function syncify<F extends AsyncFn>(
  module: URL | string,
  exportName: string,
  options: SyncifyOptions<Parameters<F>> = {},
): (...args: Parameters<F>) => Awaited<ReturnType<F>> {
  const spec = moduleSpecifier(module);
  const name = exportNameOf(exportName);
  const fixedTimeout = options.timeoutMs === undefined ? undefined : checkMs('timeoutMs', options.timeoutMs, true);
  const pickTransfer = options.transferList;
  // `arguments`, not a rest parameter: a call of one argument (most are) then makes no array, as
  // V8's optimizing compiler never makes an `arguments` object only read by length and index.
  const fn = function (this: unknown): Awaited<ReturnType<F>> {
    // As the arrow function it was: not a constructor.
    if (new.target !== undefined) throw new TypeError(`the syncified ${name} is not a constructor`);
    if (reactorThread !== false) refuseInReactor(name, true);
    const link = reactor();
    const ctx = currentContext();
    const timeoutMs = fixedTimeout ?? syncDefaults().timeoutMs;
    // biome-ignore lint/complexity/noArguments: see above.
    const given = arguments;
    if (given.length === 1 && ctx === undefined && pickTransfer === undefined) {
      return link.run(spec, name, undefined, given[0], undefined, timeoutMs, fn) as Awaited<ReturnType<F>>;
    }
    const args = Array.from(given) as Parameters<F>;
    if (ctx !== undefined) return inContext(link, ctx, args) as Awaited<ReturnType<F>>;
    return link.run(spec, name, args, undefined, pickTransfer?.(...args), timeoutMs, fn) as Awaited<ReturnType<F>>;
  } as (...args: Parameters<F>) => Awaited<ReturnType<F>>;
  // Kept out of fn, so the call made outside a request stays as small as it was.
  const inContext = (link: ReactorLink, ctx: RequestContext, args: Parameters<F>): unknown => {
    const wire = reactorWire(ctx);
    // Without a timeout of its own, a call made while serving a request waits no longer than the request may.
    const left = fixedTimeout === undefined ? ctx.remainingMs() : undefined;
    const wait = (ms: number) =>
      unwrap(link.wait(link.post(spec, name, args, pickTransfer?.(...args), wire), ms), () => callerStack(fn));
    if (left === undefined) return wait(fixedTimeout ?? syncDefaults().timeoutMs);
    return withinDeadline(`the syncified ${name}`, left, syncDefaults().timeoutMs, wait);
  };
  return fn;
}

/**
 * Runs `target` with `args` and blocks until it settles. `target` is a module export
 * (`{ module, export }`) run in the reactor, or the name of a service the main thread registered
 * with `provide()` (`'db.query'` or `{ service: 'db.query', timeoutMs }`): inside a legacy handler
 * that service runs on the main thread's event loop. Either way, a call made while serving a
 * request runs in its context (see {@link syncify}).
 * Throws `ERR_ALBANY_DEADLOCK` where the wait could never end (a service called on the thread
 * that provides it, a module call inside the reactor).
 */
export function runSync<T = unknown>(target: ModuleTarget | ServiceTarget | string, ...args: unknown[]): T {
  if (typeof target === 'string') {
    // Without a timeout of its own, a call made while serving a request waits no longer than the request may.
    const left = deadlineLeft();
    if (left === undefined) return callService(target, args, syncDefaults().timeoutMs, runSync) as T;
    const wait = (ms: number) => callService(target, args, ms, runSync);
    return withinDeadline(`runSync('${target}')`, left, syncDefaults().timeoutMs, wait) as T;
  }
  if (typeof target === 'object' && target !== null && 'service' in target) {
    const left = target.timeoutMs === undefined ? deadlineLeft() : undefined;
    if (left !== undefined) {
      const wait = (ms: number) => callService(target.service, args, ms, runSync);
      return withinDeadline(`runSync('${target.service}')`, left, syncDefaults().timeoutMs, wait) as T;
    }
    return callService(target.service, args, timeoutOf(target.timeoutMs), runSync) as T;
  }
  if (typeof target !== 'object' || target === null || !('module' in target)) {
    throw new AlbanyError(
      ErrorCodes.ERR_ALBANY_UNKNOWN_SERVICE,
      'runSync(target): target must be a service name, { service } or { module, export }',
    );
  }
  if (reactorThread !== false) refuseInReactor('runSync');
  const spec = moduleSpecifier(target.module);
  const name = exportNameOf(target.export);
  const link = reactor();
  const ctx = currentContext();
  if (ctx !== undefined) {
    // The export runs in a copy of the request's context; without a timeout of its own, the call
    // waits no longer than the request may.
    const wire = reactorWire(ctx);
    const wait = (ms: number) =>
      unwrap(link.wait(link.post(spec, name, args, target.transferList, wire), ms), () => callerStack(runSync));
    const left = target.timeoutMs === undefined ? ctx.remainingMs() : undefined;
    if (left === undefined) return wait(timeoutOf(target.timeoutMs)) as T;
    return withinDeadline(`runSync(${name})`, left, syncDefaults().timeoutMs, wait) as T;
  }
  return link.run(spec, name, args, undefined, target.transferList, timeoutOf(target.timeoutMs), runSync) as T;
}

/**
 * Starts `exportName` of `module` in the reactor without blocking and returns an
 * {@link EventualResult}: `wait(ms)` blocks for it, `await` gets it from async code, `cancel()`
 * aborts `this.signal` inside the export. Started while serving a request, it runs in a copy of
 * the request's context.
 */
export function runInReactor<T = unknown>(
  module: URL | string,
  exportName: string,
  args: readonly unknown[] = [],
  options: { timeoutMs?: number; transferList?: readonly TransferListItem[] } = {},
): EventualResult<T> {
  refuseInReactor('runInReactor');
  const spec = moduleSpecifier(module);
  const name = exportNameOf(exportName);
  const timeoutMs = timeoutOf(options.timeoutMs);
  const link = reactor();
  const ctx = currentContext();
  const call = link.post(spec, name, args, options.transferList, ctx === undefined ? undefined : reactorWire(ctx));
  return new EventualResult<T>(link, call, timeoutMs, callerStack(runInReactor));
}

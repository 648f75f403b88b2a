// Whether a handler touched timers, without asking node for every active resource after each
// request. The worker gives a request that leaves a timer behind one timers phase before its
// result goes out, so a throw there fails that request (workers/legacy-worker.ts). Knowing that
// meant `process.getActiveResourcesInfo()` after every request: an array of every handle, request
// and timer name, ~1.7k instructions each time under callgrind, on a path whose trivial handler
// costs a few thousand. The public timer functions of this thread are wrapped to count their
// calls instead: a request that made none cannot have added a timer, and only one that did pays
// for the count. Timers node makes for itself (a socket's idle timeout) are not user timers that
// throw; a handler's `timers/promises` timer is awaited (a stray one is not counted, as before it
// fired within one timers phase only if it was due at once).
import { syncBuiltinESMExports } from 'node:module';
import timers from 'node:timers';

let changes = 0;

/**
 * How many times this thread created, cleared, ref'd or unref'd a timer through the public timer
 * functions since {@link watchTimers}. Unchanged across a handler call: the count of active
 * timers did not go up.
 */
export function timerChanges(): number {
  return changes;
}

const NAMES = ['setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'clearImmediate'] as const;

// The wrapper keeps the original's name, length and util.promisify.custom, so `promisify(setTimeout)`
// and stack traces read the same.
function counted<F extends (...args: never[]) => unknown>(original: F): F {
  const wrapper = function (this: unknown, ...args: unknown[]): unknown {
    changes++;
    return Reflect.apply(original, this, args);
  };
  Object.defineProperties(wrapper, Object.getOwnPropertyDescriptors(original));
  return wrapper as unknown as F;
}

let watching = false;

/**
 * Counts this thread's timer calls from now on: the global timer functions, `node:timers`' exports
 * (and their ESM bindings), and ref()/unref() of Timeout and Immediate objects. Call once, before
 * any handler module loads.
 */
export function watchTimers(): void {
  if (watching) return;
  watching = true;
  const table = timers as unknown as Record<string, (...args: never[]) => unknown>;
  const global = globalThis as unknown as Record<string, unknown>;
  // The prototypes, from one timer of each kind made and cleared with the originals.
  const timeout = timers.setTimeout(() => {}, 0);
  const immediate = timers.setImmediate(() => {});
  timers.clearTimeout(timeout);
  timers.clearImmediate(immediate);
  for (const proto of [Object.getPrototypeOf(timeout), Object.getPrototypeOf(immediate)] as Array<
    Record<string, (...args: never[]) => unknown>
  >) {
    for (const method of ['ref', 'unref'] as const) {
      if (typeof proto[method] === 'function') proto[method] = counted(proto[method]);
    }
  }
  for (const name of NAMES) {
    const original = table[name]!;
    const wrapped = counted(original);
    table[name] = wrapped;
    if (global[name] === original) global[name] = wrapped;
  }
  syncBuiltinESMExports();
}

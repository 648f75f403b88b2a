// The request context across a runSync reactor hop: the caller sends a copy of its request's context
// with each call, and the reactor runs the call inside it. The reactor's event loop runs many calls
// at once, so it keeps them apart with an AsyncLocalStorage, made on the first call that brings a
// context (a reactor that never sees one pays nothing).
import { AsyncLocalStorage } from 'node:async_hooks';
import { RequestContext, type WireContext } from './request-context.js';
import { contextState } from './state.js';

/**
 * Caller side: the copy of `ctx` a reactor call carries (values structured-cloned, as on a pool
 * hop). The task key is kept, so a copy made on a pool thread still names that thread's task.
 */
export function reactorWire(ctx: RequestContext): WireContext {
  return ctx.toWire(ctx.taskKey);
}

/**
 * Reactor side: runs `fn(...args)` inside the context rebuilt from `wire`, so context() there
 * (across awaits) returns it while the reactor's other calls keep their own.
 */
export function runInWire<A extends unknown[], R>(wire: WireContext, fn: (...args: A) => R, ...args: A): R {
  const storage = (contextState.storage ??= new AsyncLocalStorage<RequestContext>());
  return storage.run(RequestContext.fromWire(wire), fn, ...args);
}

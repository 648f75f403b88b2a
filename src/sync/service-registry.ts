// The services this thread provides, by name: filled by provide(), read by both bridge halves.
import { AlbanyError, ErrorCodes } from '../errors.js';
import type { ReactorCallContext } from './protocol.js';

/** An async function the main thread offers to legacy workers; `this.signal` aborts on cancel. */
// biome-ignore lint/suspicious/noExplicitAny: any[] parameters accept every signature; unknown[] refuses typed ones.
export type ServiceFn = (this: ReactorCallContext, ...args: any[]) => unknown;

/**
 * name → function, for this thread. Kept on globalThis so that every copy of this file in a thread
 * (the adapter's and the app's, CJS and ESM, src and dist) shares one registry.
 */
export const registry = ((globalThis as Record<symbol, unknown>)[Symbol.for('albany.sync.services')] ??= new Map<
  string,
  ServiceFn
>()) as Map<string, ServiceFn>;

/**
 * Registers `fn` under `name` on this (the main) thread. Blocking code in legacy workers reaches it
 * with `runSync(name, ...args)`; it runs on this thread's event loop, so it can use objects that
 * live here (a DB pool, an HTTP agent). Returns a function that withdraws it.
 */
export function provide(name: string, fn: ServiceFn): () => void {
  if (typeof name !== 'string' || name === '')
    throw new AlbanyError(ErrorCodes.ERR_ALBANY_INVALID_CONFIG, 'provide(name, fn): name must be a non-empty string');
  if (typeof fn !== 'function')
    throw new AlbanyError(
      ErrorCodes.ERR_ALBANY_INVALID_CONFIG,
      `provide('${name}', fn): fn must be a function, got ${typeof fn}`,
    );
  registry.set(name, fn);
  return () => {
    if (registry.get(name) === fn) registry.delete(name);
  };
}

// TypeScript modules through tsx: its ESM hooks are registered once per thread, by whichever part of
// albany needs them first (the CLI, the reactor, a legacy worker). Node 20 does not carry a parent's
// hooks into worker threads, so each thread registers its own.

/** Set on globalThis once tsx's hooks are active in this thread (the reactor's bootstrap sets it too). */
export const TSX_FLAG = Symbol.for('albany.sync.tsx');
const PENDING = Symbol.for('albany.tsx.pending');

type Slots = Record<symbol, unknown>;

/** True for a `.ts`/`.mts`/`.cts`/`.tsx` path or URL (a query string may follow). */
export function isTypeScriptPath(spec: string): boolean {
  return /\.[cm]?tsx?(?:$|\?)/.test(spec);
}

/** True once tsx's hooks are active in this thread. */
export function tsxActive(): boolean {
  return (globalThis as Slots)[TSX_FLAG] === true;
}

/**
 * Registers tsx's ESM hooks in this thread, once; concurrent callers share one registration. Kept on
 * globalThis so that two copies of this file in a thread (src and dist, ESM and CJS) agree.
 */
export function registerTsx(): Promise<void> {
  const slots = globalThis as Slots;
  if (slots[TSX_FLAG] === true) return Promise.resolve();
  return (slots[PENDING] ??= import('tsx/esm/api').then((api) => {
    api.register();
    slots[TSX_FLAG] = true;
  })) as Promise<void>;
}

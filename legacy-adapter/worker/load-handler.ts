// Loads a legacy handler module inside a worker (once per worker) and decides which style it speaks.
import type { HandlerStyle } from '../../src/pool/protocol.js';
import { albanyError } from '../../src/errors.js';
import { captureListen, isNoExport, type CapturedListen } from '../../src/listen-capture.js';
import { isTypeScriptPath, registerTsx } from '../../src/typescript.js';

/** A handler function with the style it will be called in. */
export interface LoadedHandler {
  fn: (...args: unknown[]) => unknown;
  style: HandlerStyle;
  /** Set when the module exported nothing and the handler is its own `listen()` call's (e.g. `listen(3000)`). */
  listen?: string;
}

interface ImportedModule {
  mod: Record<string, unknown>;
  /** The app's own listen() during the import, caught (see src/listen-capture.ts). */
  captured: CapturedListen | undefined;
}

const modules = new Map<string, Promise<ImportedModule>>();
const handlers = new Map<string, LoadedHandler>();

/**
 * Returns the handler for `moduleUrl`, importing the module on first use in this worker.
 *
 * Style, when not forced: an export named `handle` (or the module's `handle` when no export is
 * named) is plain; a module may declare `export const style = 'wsgi' | 'plain' | 'node'`; a
 * function of one parameter is plain, of three or more is Node `(req, res, next)`; with two
 * parameters the names decide (`environ`/`env`, `startResponse` → WSGI; `req`/`request`,
 * `res`/`response` → Node); anything else is ambiguous and needs the `style` option.
 */
export async function loadHandler(
  moduleUrl: string,
  exportName: string | undefined,
  style: HandlerStyle | undefined,
): Promise<LoadedHandler> {
  const key = `${moduleUrl}\0${exportName ?? ''}\0${style ?? ''}`;
  const cached = handlers.get(key);
  if (cached !== undefined) return cached;
  const { mod, captured } = await importOnce(moduleUrl);
  const name =
    exportName ??
    (style === undefined || style === 'plain' ? (typeof mod.handle === 'function' ? 'handle' : 'default') : 'default');
  const fn = mod[name];
  // Passenger-style: a module that exports nothing but called app.listen() is served through its
  // listener, as a node handler; any export (or a named one) wins.
  if (
    exportName === undefined &&
    isNoExport(fn) &&
    captured !== undefined &&
    (style === undefined || style === 'node')
  ) {
    const loaded: LoadedHandler = { fn: captured.handler as LoadedHandler['fn'], style: 'node', listen: captured.call };
    handlers.set(key, loaded);
    return loaded;
  }
  if (typeof fn !== 'function') {
    const exported = Object.keys(mod).filter(
      (k) => k !== 'module.exports' && !(k === 'default' && isNoExport(mod.default)),
    );
    const listenHint =
      exportName === undefined && isNoExport(fn)
        ? ' and did not call app.listen()/server.listen() while loading: ' +
          'export the handler (export default app) or let it call app.listen(port)'
        : '';
    throw albanyError(
      'ERR_ALBANY_APP_LOAD',
      `legacy module ${moduleUrl} has no function export "${name}" (exports: ` +
        `${exported.join(', ') || 'none'})${listenHint}`,
    );
  }
  const loaded: LoadedHandler = {
    fn: fn as LoadedHandler['fn'],
    style: style ?? detectStyle(fn as LoadedHandler['fn'], name, mod.style, moduleUrl),
  };
  handlers.set(key, loaded);
  return loaded;
}

/**
 * Like {@link loadHandler}, without the import: the handler if this worker loaded it already (no await on the hot
 * path).
 */
export function cachedHandler(
  moduleUrl: string,
  exportName: string | undefined,
  style: HandlerStyle | undefined,
): LoadedHandler | undefined {
  return handlers.get(`${moduleUrl}\0${exportName ?? ''}\0${style ?? ''}`);
}

function importOnce(moduleUrl: string): Promise<ImportedModule> {
  let mod = modules.get(moduleUrl);
  if (mod === undefined) {
    mod = (async () => {
      try {
        const { value, captured } = await captureListen(() => importTs(moduleUrl), {
          warn: (message) => process.emitWarning(message, 'AlbanyListenWarning'),
          wantsListen: (m) =>
            isNoExport(m.default) &&
            typeof m.handle !== 'function' &&
            Object.keys(m).every((k) => k === 'default' || k === 'module.exports'),
        });
        return { mod: value, captured };
      } catch (err) {
        throw albanyError(
          'ERR_ALBANY_APP_LOAD',
          `could not load legacy module ${moduleUrl}: ${(err as Error).message}`,
          { cause: err },
        );
      }
    })();
    modules.set(moduleUrl, mod);
    mod.catch(() => modules.delete(moduleUrl));
  }
  return mod;
}

// Node 20 does not carry the main thread's ESM loader hooks into worker threads (and piscina may load
// its entry through require), so a TypeScript handler gets tsx's ESM loader installed in this worker
// before its first import: a failed import would be cached, so there is no trying first.
async function importTs(moduleUrl: string): Promise<Record<string, unknown>> {
  if (isTypeScriptPath(new URL(moduleUrl).pathname)) await registerTsx();
  return (await import(moduleUrl)) as Record<string, unknown>;
}

function detectStyle(fn: LoadedHandler['fn'], name: string, declared: unknown, moduleUrl: string): HandlerStyle {
  if (declared === 'wsgi' || declared === 'plain' || declared === 'node') return declared;
  if (name === 'handle' || fn.length <= 1) return 'plain';
  if (fn.length >= 3) return 'node';
  const [first = '', second = ''] = parameterNames(fn);
  if (/^(environ|env)$/i.test(first) || /^start_?response$/i.test(second)) return 'wsgi';
  if (/^(req|request)$/i.test(first) || /^(res|response|reply)$/i.test(second)) return 'node';
  throw albanyError(
    'ERR_ALBANY_APP_LOAD',
    `cannot tell whether export "${name}" of ${moduleUrl} is WSGI (environ, startResponse) or Node (req, res): ` +
      `pass legacy(url, { style: 'wsgi' | 'node' }) or export const style`,
  );
}

function parameterNames(fn: LoadedHandler['fn']): string[] {
  const match = /^[^(]*\(([^)]*)\)/.exec(Function.prototype.toString.call(fn));
  return match === null ? [] : match[1]!.split(',').map((p) => p.trim().replace(/[=:\s].*$/, ''));
}

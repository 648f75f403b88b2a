// The reactor's module cache: each target module is imported once per reactor thread, .ts included.
import { AlbanyError, ErrorCodes } from '../errors.js';
import { isTypeScriptPath, registerTsx, tsxActive } from '../typescript.js';

const loaded = new Map<string, Record<string, unknown>>();

/** The namespace of `spec` if already loaded: lets a call start without waiting a microtask. */
export function loadedModule(spec: string): Record<string, unknown> | undefined {
  return loaded.get(spec);
}

const loading = new Map<string, Promise<Record<string, unknown>>>();

/** Loads `spec` once (registering tsx first for a .ts module if nothing has); later calls share it. */
export function loadModule(spec: string): Promise<Record<string, unknown>> {
  let p = loading.get(spec);
  if (p === undefined) {
    // The bootstrap registered tsx when the reactor runs from sources; otherwise a .ts target does it.
    p = (isTypeScriptPath(spec) && !tsxActive() ? registerTsx() : Promise.resolve())
      .then(() => import(spec) as Promise<Record<string, unknown>>)
      .then(
        (mod) => {
          loaded.set(spec, mod);
          return mod;
        },
        (err: unknown) => {
          loading.delete(spec); // let a later call retry (the file may be fixed or created)
          throw new AlbanyError(
            ErrorCodes.ERR_ALBANY_APP_LOAD,
            `the reactor could not load ${spec}: ${(err as Error)?.message ?? String(err)}`,
            {
              cause: err,
              details: { module: spec },
            },
          );
        },
      );
    loading.set(spec, p);
  }
  return p;
}

// `albany serve --provide [NAME=]MODULE`: a main-thread module whose exported functions become the
// runSync services blocking handlers call, with optional startup()/shutdown() around the server's life.
//
//   // users.mjs                                   albany serve --legacy app.mjs --provide users.mjs
//   export async function startup() { db = await connect(); }
//   export async function get(id) { return db.user(id); }     // runSync('users.get', 1) in a handler
//   export async function shutdown() { await db.close(); }
import { existsSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { AlbanyError, ErrorCodes } from './errors.js';
import { importModule, splitModuleSpec } from './load-app.js';
import type { Logger } from './server/options.js';
import { provide, registry } from './sync/service-registry.js';

/** Exports that are lifecycle hooks, not services. */
const HOOKS = new Set(['startup', 'shutdown', 'default']);

/** A service-name prefix as `--provide NAME=MODULE` may give it. */
const PREFIX = /^[\w$-]+(?:\.[\w$-]+)*$/u;

/** One parsed `--provide` value. */
export interface ProvideSpec {
  /** Absolute path of the module. */
  file: string;
  /** What every service name of this module starts with, before the dot. */
  prefix: string;
}

/** Services and hooks that are live; {@link ProvidedServices.stop} undoes them. */
export interface ProvidedServices {
  /** The names registered, in order. */
  readonly names: readonly string[];
  /** Runs each module's `shutdown()` (last started, first stopped) and withdraws the services. */
  stop(): Promise<void>;
}

/**
 * Splits `[NAME=]MODULE`: NAME defaults to the file name without its extension (`users.mjs` →
 * `users`), so export `get` becomes the service `users.get`.
 */
export function parseProvideSpec(spec: string, cwd: string): ProvideSpec {
  const eq = spec.indexOf('=');
  const named = eq > 0 && PREFIX.test(spec.slice(0, eq));
  const { file, exportName } = splitModuleSpec(named ? spec.slice(eq + 1) : spec, cwd);
  if (exportName !== undefined) {
    throw new AlbanyError(
      ErrorCodes.ERR_ALBANY_USAGE,
      `--provide takes [NAME=]MODULE, not MODULE:EXPORT (every exported function of the module is provided), ` +
        `got ${JSON.stringify(spec)}`,
    );
  }
  return { file, prefix: named ? spec.slice(0, eq) : basename(file, extname(file)) };
}

/**
 * Checks, without running them, that the `--provide` values parse and their files exist: under
 * `--workers` the primary does this so a typo stops the CLI instead of every worker failing to start.
 * @throws AlbanyError `ERR_ALBANY_USAGE` or `ERR_ALBANY_APP_LOAD`, one line.
 */
export function checkProvideSpecs(specs: readonly string[], cwd: string): void {
  for (const spec of specs) {
    const { file } = parseProvideSpec(spec, cwd);
    if (!existsSync(file)) throw new AlbanyError(ErrorCodes.ERR_ALBANY_APP_LOAD, `--provide module not found: ${file}`);
  }
}

interface Started {
  spec: ProvideSpec;
  shutdown: (() => unknown) | undefined;
  withdraw: Array<() => void>;
}

/**
 * Imports each module on this thread, registers its exported functions as services
 * (`PREFIX.exportName`; `startup`, `shutdown` and `default` excepted) and awaits its `startup()`,
 * in order. On any failure what was already started is stopped again before the error is thrown.
 * @throws AlbanyError `ERR_ALBANY_APP_LOAD` for a module that cannot be loaded, provides nothing or
 * reuses a service name; `ERR_ALBANY_LIFESPAN` when a `startup()` throws.
 */
export async function startProvided(specs: readonly ProvideSpec[], logger: Logger): Promise<ProvidedServices> {
  const started: Started[] = [];
  const owner = new Map<string, string>();
  const names: string[] = [];
  const stop = async (): Promise<void> => {
    const failures: string[] = [];
    for (const entry of started.reverse()) {
      try {
        await entry.shutdown?.();
      } catch (error) {
        failures.push(`${entry.spec.file}: shutdown() failed: ${(error as Error)?.message ?? String(error)}`);
      }
      for (const withdraw of entry.withdraw) withdraw();
    }
    started.length = 0;
    if (failures.length > 0) throw new AlbanyError(ErrorCodes.ERR_ALBANY_LIFESPAN, `--provide ${failures.join('; ')}`);
  };
  try {
    for (const spec of specs) {
      const mod = await load(spec);
      const entry: Started = { spec, shutdown: hook(mod, 'shutdown', spec), withdraw: [] };
      const startup = hook(mod, 'startup', spec);
      for (const [exportName, value] of Object.entries(mod)) {
        if (HOOKS.has(exportName) || typeof value !== 'function') continue;
        const name = `${spec.prefix}.${exportName}`;
        const previous = owner.get(name) ?? (registry.has(name) ? 'code that called provide()' : undefined);
        if (previous !== undefined) {
          throw new AlbanyError(
            ErrorCodes.ERR_ALBANY_APP_LOAD,
            `--provide ${spec.file}: the service "${name}" is already provided by ${previous}; give this ` +
              `module another name with --provide NAME=MODULE`,
          );
        }
        owner.set(name, spec.file);
        entry.withdraw.push(provide(name, value as (...args: unknown[]) => unknown));
        names.push(name);
      }
      if (entry.withdraw.length === 0 && startup === undefined && entry.shutdown === undefined) {
        throw new AlbanyError(
          ErrorCodes.ERR_ALBANY_APP_LOAD,
          `--provide ${spec.file} exports no functions to provide (exports: ` +
            `${Object.keys(mod).join(', ') || 'none'}); a default export is not a service`,
        );
      }
      started.push(entry);
      if (startup !== undefined) {
        try {
          await startup();
        } catch (error) {
          throw new AlbanyError(
            ErrorCodes.ERR_ALBANY_LIFESPAN,
            `--provide ${spec.file}: startup() failed: ${(error as Error)?.message ?? String(error)}`,
            { cause: error },
          );
        }
      }
      logger.debug(`provided ${entry.withdraw.length} service(s) from ${spec.file}`);
    }
  } catch (error) {
    await stop().catch((stopError: unknown) => logger.error(`${(stopError as Error).message}`));
    throw error;
  }
  return { names, stop };
}

async function load(spec: ProvideSpec): Promise<Record<string, unknown>> {
  try {
    return await importModule(spec.file);
  } catch (error) {
    // importModule says "module FILE[:LINE] problem" (or "module not found: FILE") on one line already.
    throw new AlbanyError(ErrorCodes.ERR_ALBANY_APP_LOAD, `--provide ${(error as Error).message}`, { cause: error });
  }
}

function hook(
  mod: Record<string, unknown>,
  name: 'startup' | 'shutdown',
  spec: ProvideSpec,
): (() => unknown) | undefined {
  const value = mod[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'function')
    throw new AlbanyError(
      ErrorCodes.ERR_ALBANY_APP_LOAD,
      `--provide ${spec.file}: export "${name}" must be a function, got ${typeof value}`,
    );
  return value as () => unknown;
}

// Turns "path/to/module.js:export" into the exported value, loading TypeScript through tsx when needed.
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AlbanyError, ErrorCodes } from './errors.js';
import { describeLoadFailure, errorInfo } from './load-failure.js';
import { captureListen, isNoExport, type CapturedListen } from './listen-capture.js';
import { isTypeScriptPath, registerTsx } from './typescript.js';

/** A parsed `module[:export]` target. */
export interface AppTarget {
  /** Absolute file path of the module. */
  file: string;
  /** The export to use; `default` when none was named. */
  exportName: string;
}

/** An export name as `MODULE:EXPORT` may give it: a JavaScript identifier. */
const EXPORT_NAME = /^[\p{L}\p{Nl}$_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}$_]*$/u;

/**
 * Splits `module[:export]` into the module's absolute path and the export it names, if any. Only
 * an identifier after the last ':' is an export, so `C:\\app.js`, `dir:v2/app.js` and `app.js`
 * are paths; a file whose whole name matches `name:word` is still found when it exists and the
 * shorter path does not.
 */
export function splitModuleSpec(spec: string, cwd: string): { file: string; exportName: string | undefined } {
  const whole = isAbsolute(spec) ? spec : resolve(cwd, spec);
  const colon = spec.lastIndexOf(':');
  if (colon <= 0 || !EXPORT_NAME.test(spec.slice(colon + 1))) return { file: whole, exportName: undefined };
  const modulePath = spec.slice(0, colon);
  const file = isAbsolute(modulePath) ? modulePath : resolve(cwd, modulePath);
  if (!existsSync(file) && existsSync(whole)) return { file: whole, exportName: undefined };
  return { file, exportName: spec.slice(colon + 1) };
}

/** Splits `module[:export]`; the module path is resolved against `cwd`, the export defaults to `default`. */
export function parseTarget(spec: string, cwd: string): AppTarget {
  const { file, exportName } = splitModuleSpec(spec, cwd);
  return { file, exportName: exportName ?? 'default' };
}

/**
 * Imports a module file, falling back to registering tsx when node cannot load the extension.
 * @throws AlbanyError `ERR_ALBANY_APP_LOAD` when the file is missing or fails to load (one line: file, line, problem).
 */
export async function importModule(file: string): Promise<Record<string, unknown>> {
  if (!existsSync(file)) throw new AlbanyError(ErrorCodes.ERR_ALBANY_APP_LOAD, `module not found: ${file}`);
  const url = pathToFileURL(file).href;
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_UNKNOWN_FILE_EXTENSION' && isTypeScriptPath(file)) {
      await registerTsx();
      // Node caches the failed load under the plain URL, so importing it again would fail the same
      // way; a query makes it a fresh module record that goes through the tsx hooks.
      try {
        return (await import(`${url}?albany-tsx`)) as Record<string, unknown>;
      } catch (retryError) {
        throw await loadFailure(file, retryError);
      }
    }
    throw await loadFailure(file, error);
  }
}

/** One line with the file, the line of a syntax error or a throw at import time, and the problem. */
async function loadFailure(file: string, error: unknown): Promise<AlbanyError> {
  return new AlbanyError(ErrorCodes.ERR_ALBANY_APP_LOAD, await describeLoadFailure('module', file, errorInfo(error)), {
    cause: error,
  });
}

/**
 * Loads the export a target names.
 * @throws AlbanyError `ERR_ALBANY_APP_LOAD` when the module or the export is missing.
 */
export async function loadTarget(target: AppTarget): Promise<unknown> {
  return exportOf(target, await importModule(target.file));
}

/** What {@link loadApp} found: the export, or the handler of the app's own `listen()` call. */
export interface LoadedApp {
  value: unknown;
  /** Set when the app's own listen was served instead of an export. */
  listen: CapturedListen | undefined;
}

/**
 * Loads a serve target the way Passenger loads node apps: the named export when there is one, else
 * the 'request' handler of the server the app itself asked to listen (see listen-capture.ts),
 * which binds nothing. An explicit export wins over a captured listen; a named export must exist.
 * @throws AlbanyError `ERR_ALBANY_APP_LOAD` when the module fails to load or has neither.
 */
export async function loadApp(
  target: AppTarget,
  warn: (message: string) => void,
  exportNamed = target.exportName !== 'default',
): Promise<LoadedApp> {
  const { value: mod, captured } = await captureListen(() => importModule(target.file), {
    warn,
    wantsListen: (m) =>
      !exportNamed &&
      isNoExport(m[target.exportName]) &&
      Object.keys(m).every((k) => k === 'default' || k === 'module.exports' || k === '__esModule'),
  });
  const value = mod[target.exportName];
  if (exportNamed || !isNoExport(value)) {
    if (captured !== undefined)
      warn(
        `serving export "${target.exportName}" of ${target.file}; the app's own ${captured.call} was not ` +
          `bound (an export wins)`,
      );
    return { value: exportOf(target, mod), listen: undefined };
  }
  if (captured !== undefined) return { value: captured.handler, listen: captured };
  const names = Object.keys(mod).filter(
    (k) => k !== '__esModule' && k !== 'module.exports' && !(k === 'default' && isNoExport(mod.default)),
  );
  throw new AlbanyError(
    ErrorCodes.ERR_ALBANY_APP_LOAD,
    `module ${target.file} has no export ` +
      `"${target.exportName}"${names.length ? ` (it exports: ${names.join(', ')})` : ''} and did not call ` +
      `app.listen()/server.listen() while loading: export the app (export default app) or let it call ` +
      `app.listen(port)`,
  );
}

/** The export `target` names from an imported module, or `ERR_ALBANY_APP_LOAD` naming what it does export. */
function exportOf(target: AppTarget, mod: Record<string, unknown>): unknown {
  if (!(target.exportName in mod) || mod[target.exportName] === undefined) {
    const names = Object.keys(mod).filter((k) => k !== '__esModule');
    throw new AlbanyError(
      ErrorCodes.ERR_ALBANY_APP_LOAD,
      `module ${target.file} has no export ` +
        `"${target.exportName}"${names.length ? ` (it exports: ${names.join(', ')})` : ''}`,
    );
  }
  return mod[target.exportName];
}

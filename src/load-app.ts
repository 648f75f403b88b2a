// Turns "path/to/module.js:export" into the exported value, loading TypeScript through tsx when needed.
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AlbanyError, ErrorCodes } from './errors.js';
import { isTypeScriptPath, registerTsx } from './typescript.js';

/** A parsed `module[:export]` target. */
export interface AppTarget {
  /** Absolute file path of the module. */
  file: string;
  /** The export to use; `default` when none was named. */
  exportName: string;
}

/** Splits `module[:export]`; the module path is resolved against `cwd`. */
export function parseTarget(spec: string, cwd: string): AppTarget {
  const colon = spec.lastIndexOf(':');
  // A colon followed by a path separator or at index 1 (C:\) belongs to the path, not an export.
  const hasExport = colon > 1 && !/[\\/]/.test(spec.slice(colon + 1)) && spec.slice(colon + 1) !== '';
  const modulePath = hasExport ? spec.slice(0, colon) : spec;
  const exportName = hasExport ? spec.slice(colon + 1) : 'default';
  return { file: isAbsolute(modulePath) ? modulePath : resolve(cwd, modulePath), exportName };
}

/**
 * Imports a module file, falling back to registering tsx when node cannot load the extension.
 * @throws AlbanyError `ERR_ALBANY_APP_LOAD` when the file is missing or fails to load.
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
        throw new AlbanyError(ErrorCodes.ERR_ALBANY_APP_LOAD, `could not load ${file}: ${(retryError as Error).message}`, { cause: retryError });
      }
    }
    throw new AlbanyError(ErrorCodes.ERR_ALBANY_APP_LOAD, `could not load ${file}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Loads the export a target names.
 * @throws AlbanyError `ERR_ALBANY_APP_LOAD` when the module or the export is missing.
 */
export async function loadTarget(target: AppTarget): Promise<unknown> {
  const mod = await importModule(target.file);
  if (!(target.exportName in mod) || mod[target.exportName] === undefined) {
    const names = Object.keys(mod).filter((k) => k !== '__esModule');
    throw new AlbanyError(
      ErrorCodes.ERR_ALBANY_APP_LOAD,
      `module ${target.file} has no export "${target.exportName}"${names.length ? ` (it exports: ${names.join(', ')})` : ''}`,
    );
  }
  return mod[target.exportName];
}

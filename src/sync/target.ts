// Turns the module a caller names into one canonical specifier, so the reactor loads each module once.
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AlbanyError, ErrorCodes } from '../errors.js';

/**
 * A `file:`/`data:`/`node:` URL (or URL object) and absolute paths are taken as they are; bare
 * package names resolve from albany's own location. Relative paths are refused: relative to what?
 */
export function moduleSpecifier(module: URL | string): string {
  if (module instanceof URL) return module.href;
  if (typeof module !== 'string' || module === '') {
    throw new AlbanyError(
      ErrorCodes.ERR_ALBANY_UNKNOWN_SERVICE,
      `a runSync module must be a URL or a non-empty string, got ${typeof module}`,
    );
  }
  if (isAbsolute(module)) return pathToFileURL(module).href;
  if (/^[a-z][a-z0-9+.-]+:/i.test(module)) return module;
  if (module.startsWith('.')) {
    throw new AlbanyError(
      ErrorCodes.ERR_ALBANY_UNKNOWN_SERVICE,
      `runSync cannot resolve the relative module "${module}" (the reactor has no idea what it is relative ` +
        `to); pass new URL('${module}', import.meta.url)`,
      { details: { module } },
    );
  }
  return module;
}

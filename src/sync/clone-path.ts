// Names the value structured clone refused (`args[1].cb`), so ERR_ALBANY_DATA_CLONE says where to look.
import { AlbanyError, ErrorCodes } from '../errors.js';
import { describe } from '../errors-wire.js';

/**
 * Path of the first value structured clone refuses inside `root` (`args[1].cb`), or `root` itself.
 * Only called after a clone failed, so its cost is off the fast path.
 */
export function findUncloneablePath(value: unknown, root: string): string {
  return walk(value, root, new Set()) ?? root;
}

function walk(value: unknown, path: string, seen: Set<object>): string | undefined {
  if (typeof value === 'function' || typeof value === 'symbol') return path;
  if (typeof value !== 'object' || value === null) return undefined;
  if (seen.has(value)) return undefined;
  seen.add(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const hit = walk(value[i], `${path}[${i}]`, seen);
      if (hit !== undefined) return hit;
    }
    return undefined;
  }
  if (value instanceof Map) {
    for (const [k, v] of value) {
      const hit = walk(k, `${path}.<key ${describe(k)}>`, seen) ?? walk(v, `${path}.get(${describe(k)})`, seen);
      if (hit !== undefined) return hit;
    }
    return undefined;
  }
  if (value instanceof Set) {
    let i = 0;
    for (const v of value) {
      const hit = walk(v, `${path}.<entry ${i++}>`, seen);
      if (hit !== undefined) return hit;
    }
    return undefined;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    for (const key of Object.keys(value)) {
      const hit = walk((value as Record<string, unknown>)[key], `${path}${propPath(key)}`, seen);
      if (hit !== undefined) return hit;
    }
    return undefined;
  }
  // Anything else (class instances, host objects): ask structured clone directly.
  try {
    structuredClone(value);
    return undefined;
  } catch {
    return path;
  }
}

function propPath(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/** True for the DOMException structured clone throws on a value it cannot copy. */
export function isDataCloneError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'DataCloneError';
}

/** The `ERR_ALBANY_DATA_CLONE` error for a value under `root` that could not be cloned. */
export function dataCloneError(value: unknown, root: string, cause: unknown): AlbanyError {
  const path = findUncloneablePath(value, root);
  return new AlbanyError(
    ErrorCodes.ERR_ALBANY_DATA_CLONE,
    `${path} cannot be copied to another thread (structured clone refused it: ` +
      `${describe((cause as Error)?.message ?? cause)}); pass plain data, typed arrays or transferables`,
    { cause, details: { path } },
  );
}

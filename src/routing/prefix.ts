// Pure, segment-aware prefix arithmetic shared by mount() and everything that turns a scope's
// rootPath back into a path below it: "/app" owns "/app" and "/app/x", never "/apple".
import { decodePath } from '../server/scope.js';

/**
 * The part of `path` below `prefix` ("/" when `path` is the prefix itself), or undefined when
 * `path` is not under it. Whole segments only. An empty prefix owns every path.
 */
export function pathBelow(path: string, prefix: string): string | undefined {
  if (prefix === '') return path;
  if (!path.startsWith(prefix)) return undefined;
  if (path.length === prefix.length) return '/';
  return path.charCodeAt(prefix.length) === 47 /* / */ ? path.slice(prefix.length) : undefined;
}

/**
 * The raw (still percent-encoded) path below a decoded `rootPath`, or undefined when the raw path
 * does not start with whole segments that decode to it. `/ap%70/x` under `/app` is `/x`; a root
 * that only an encoded slash reaches (`/app%2Fx`) is not aligned and gives undefined.
 */
export function rawPathBelow(rawPath: string, rootPath: string): string | undefined {
  const literal = pathBelow(rawPath, rootPath);
  if (literal !== undefined || rawPath.indexOf('%') === -1) return literal;
  // Try each literal '/' boundary: the raw head up to it must decode to exactly the root.
  for (let i = 1; i <= rawPath.length; i++) {
    if (i < rawPath.length && rawPath.charCodeAt(i) !== 47) continue;
    const head = decodePath(rawPath.slice(0, i));
    if (head === rootPath) return i === rawPath.length ? '/' : rawPath.slice(i);
    if (head.length >= rootPath.length) return undefined;
  }
  return undefined;
}

/** Percent-encodes a decoded path back into request-target form (`?`, `#` and `%` included). */
export function encodePathText(path: string): string {
  return encodeURI(path).replace(/\?/g, '%3F').replace(/#/g, '%23');
}

/**
 * The request-target path below a scope's root, for handlers that want a Node-style `url`: the raw
 * path below `rootPath` when it lines up segment by segment, else the decoded `path` re-encoded
 * when the root applies only after decoding (an encoded slash), else the raw path as received.
 */
export function targetBelowRoot(scope: { rawPath: string; rootPath: string; path: string }): string {
  const root = scope.rootPath;
  if (root === '') return scope.rawPath;
  const below = rawPathBelow(scope.rawPath, root);
  if (below !== undefined) return below;
  return pathBelow(decodePath(scope.rawPath), root) !== undefined ? encodePathText(scope.path) : scope.rawPath;
}

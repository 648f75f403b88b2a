// Pure builders: a request line and raw headers become a gateway scope. No sockets here, so every
// case can be tested from a table.
import { lowerHeaderName } from '../gateway/helpers.js';
import {
  GATEWAY_VERSION,
  SPEC_VERSION,
  type Address,
  type Headers,
  type HttpScope,
  type WebSocketScope,
} from '../gateway/types.js';

/** What a host knows about one request before the app sees it. */
export interface RequestHead {
  method: string;
  /** The request target as sent ("/a%20b?x=1", or absolute-form "http://h/a"). */
  target: string;
  httpVersion: string;
  /** Node-style flat raw header list: [name, value, name, value, …] with original case. */
  rawHeaders: string[];
  scheme: string;
  client: Address;
  server: Address;
  rootPath?: string;
  state?: Record<string, unknown>;
}

const ALBANY = Object.freeze({ version: GATEWAY_VERSION, specVersion: SPEC_VERSION });

/** Lower-cases names of a flat raw header list into `[name, value]` pairs, keeping order and duplicates. */
export function pairHeaders(rawHeaders: readonly string[]): Headers {
  const out: Headers = new Array(rawHeaders.length >> 1);
  for (let i = 0, j = 0; i < rawHeaders.length; i += 2, j++) {
    out[j] = [lowerHeaderName(rawHeaders[i]!), rawHeaders[i + 1]!];
  }
  return out;
}

/**
 * Splits a request target into raw path and query string, dropping the scheme and authority of an
 * absolute-form target.
 */
export function splitTarget(target: string): { rawPath: string; queryString: string } {
  let start = 0;
  if (target.charCodeAt(0) !== 47 /* / */) {
    const scheme = target.indexOf('://');
    if (scheme > 0) {
      const slash = target.indexOf('/', scheme + 3);
      if (slash === -1) {
        const q = target.indexOf('?', scheme + 3);
        return { rawPath: '/', queryString: q === -1 ? '' : target.slice(q + 1) };
      }
      start = slash;
    }
  }
  const q = target.indexOf('?', start);
  if (q === -1) return { rawPath: start === 0 ? target : target.slice(start), queryString: '' };
  return { rawPath: target.slice(start, q), queryString: target.slice(q + 1) };
}

/**
 * Percent-decodes a path as UTF-8. Invalid UTF-8 or stray `%` never throw: the bad bytes become
 * U+FFFD, so a hostile path reaches the app as text it can reject, not as a server error.
 */
export function decodePath(rawPath: string): string {
  if (rawPath.indexOf('%') === -1) return rawPath;
  try {
    return decodeURIComponent(rawPath);
  } catch {
    const bytes: number[] = [];
    for (let i = 0; i < rawPath.length; i++) {
      const c = rawPath.charCodeAt(i);
      if (c === 37 && i + 2 < rawPath.length && /^[0-9a-fA-F]{2}$/.test(rawPath.slice(i + 1, i + 3))) {
        bytes.push(parseInt(rawPath.slice(i + 1, i + 3), 16));
        i += 2;
      } else if (c < 0x80) {
        bytes.push(c);
      } else {
        // Whole code points, so a character outside the BMP is not split into two lone surrogates.
        const ch = String.fromCodePoint(rawPath.codePointAt(i)!);
        for (const b of Buffer.from(ch, 'utf8')) bytes.push(b);
        i += ch.length - 1;
      }
    }
    return Buffer.from(bytes).toString('utf8');
  }
}

/** Strips `rootPath` from the front of `path` when the path lies under it ("/" when it is the mount itself). */
function underRoot(path: string, rootPath: string): string {
  if (rootPath && (path === rootPath || path.startsWith(`${rootPath}/`))) return path.slice(rootPath.length) || '/';
  return path;
}

/** A shallow copy of the lifespan state; an empty state (the usual case) skips the spread's copy IC. */
function copyState(state: Record<string, unknown>): Record<string, unknown> {
  for (const _ in state) return { ...state };
  return {};
}

/** Builds the http scope for one request. */
export function buildHttpScope(head: RequestHead): HttpScope {
  const target = head.target;
  let rawPath: string;
  let queryString = '';
  let path: string;
  if (target.charCodeAt(0) === 47 /* / */) {
    // Origin form, nearly every request: one pass finds the query and says whether to decode.
    let escaped = false;
    let q = -1;
    for (let i = 0; i < target.length; i++) {
      const c = target.charCodeAt(i);
      if (c === 63 /* ? */) {
        q = i;
        break;
      }
      if (c === 37 /* % */) escaped = true;
    }
    if (q === -1) rawPath = target;
    else {
      rawPath = target.slice(0, q);
      queryString = target.slice(q + 1);
    }
    path = escaped ? decodePath(rawPath) : rawPath;
  } else {
    ({ rawPath, queryString } = splitTarget(target));
    path = decodePath(rawPath);
  }
  const rootPath = head.rootPath ?? '';
  return {
    type: 'http',
    albany: ALBANY,
    httpVersion: head.httpVersion,
    method: head.method,
    scheme: head.scheme,
    path: rootPath === '' ? path : underRoot(path, rootPath),
    rawPath,
    queryString,
    rootPath,
    headers: pairHeaders(head.rawHeaders),
    client: head.client,
    server: head.server,
    state: head.state ? copyState(head.state) : {},
    extensions: EXTENSIONS,
  };
}

const EXTENSIONS = Object.freeze({ 'http.response.pathsend': {}, 'http.response.trailers': {} }) as Record<
  string,
  Record<string, unknown>
>;

/** Builds the websocket scope for one upgrade request; subprotocols come from `sec-websocket-protocol`. */
export function buildWebSocketScope(head: RequestHead): WebSocketScope {
  const http = buildHttpScope(head);
  const subprotocols: string[] = [];
  for (const [name, value] of http.headers) {
    if (name === 'sec-websocket-protocol') {
      for (const p of value.split(',')) if (p.trim()) subprotocols.push(p.trim());
    }
  }
  const { method: _method, type: _type, extensions: _ext, ...rest } = http;
  return {
    ...rest,
    type: 'websocket',
    scheme: head.scheme === 'https' ? 'wss' : head.scheme === 'http' ? 'ws' : head.scheme,
    subprotocols,
  };
}

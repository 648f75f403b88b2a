// Worker side: the WSGI environ and the Node-style header object, built from the request the main
// thread copied (legacy-adapter/request.ts) — here, where the CPU is spare, not on the event loop.
import type { Headers, HttpScope } from '../../src/gateway/types.js';

/** The scope fields the environ is made of (an {@link HttpScope} or a {@link LegacyRequest}). */
export type EnvironSource = Pick<
  HttpScope,
  'method' | 'rootPath' | 'path' | 'queryString' | 'httpVersion' | 'scheme' | 'headers' | 'client' | 'server'
>;

/**
 * Builds the string part of a WSGI environ (the worker adds `wsgi.input`, `wsgi.errors` and the
 * flags). Repeated headers are joined with ", " as WSGI servers do, except `cookie`, joined with
 * "; " (RFC 6265 allows only one Cookie header). `PATH_INFO` is the decoded path as a JS string
 * (not the latin1 re-encoding Python needs).
 */
export function buildEnviron(scope: EnvironSource): Record<string, string> {
  const [serverName, serverPort] = scope.server ?? hostFromHeaders(scope.headers, scope.scheme);
  const environ: Record<string, string> = {
    REQUEST_METHOD: scope.method,
    SCRIPT_NAME: scope.rootPath,
    PATH_INFO: scope.path,
    QUERY_STRING: scope.queryString,
    SERVER_NAME: serverName,
    SERVER_PORT: String(serverPort),
    SERVER_PROTOCOL: `HTTP/${scope.httpVersion}`,
    'wsgi.url_scheme': scope.scheme,
  };
  if (scope.client !== null) {
    environ.REMOTE_ADDR = scope.client[0];
    environ.REMOTE_PORT = String(scope.client[1]);
  }
  const headers = scope.headers;
  for (let i = 0; i < headers.length; i++) {
    const [name, value] = headers[i]!;
    let key: string;
    if (name === 'content-type') key = 'CONTENT_TYPE';
    else if (name === 'content-length') key = 'CONTENT_LENGTH';
    else key = cgiName(name);
    const previous = environ[key];
    environ[key] = previous === undefined ? value : `${previous}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
  return environ;
}

// Header names repeat from request to request: remember their CGI spelling (bounded).
const cgiNames = new Map<string, string>();
function cgiName(name: string): string {
  let key = cgiNames.get(name);
  if (key === undefined) {
    key = `HTTP_${name.toUpperCase().replaceAll('-', '_')}`;
    if (cgiNames.size < 1000) cgiNames.set(name, key);
  }
  return key;
}

/**
 * Joins a header list into a Node-style object: lower-case names, duplicates joined with ", "
 * (`cookie` with "; "); `set-cookie` is the one name kept apart, as an array, like Node does.
 */
export function headersObject(headers: Headers): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of headers) {
    const previous = out[name];
    if (name === 'set-cookie') {
      out[name] = Array.isArray(previous) ? [...previous, value] : [value];
    } else if (previous === undefined) {
      out[name] = value;
    } else {
      out[name] = `${String(previous)}${name === 'cookie' ? '; ' : ', '}${value}`;
    }
  }
  return out;
}

// WSGI falls back to the Host header when the server address is unknown (Unix sockets, tests).
function hostFromHeaders(headers: Headers, scheme: string): [string, number] {
  const fallbackPort = scheme === 'https' || scheme === 'wss' ? 443 : 80;
  const host = headers.find(([name]) => name === 'host')?.[1];
  if (host === undefined || host === '') return ['localhost', fallbackPort];
  const match = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(host);
  if (match === null) return [host, fallbackPort];
  return [match[1] ?? host, match[2] === undefined ? fallbackPort : Number(match[2])];
}

// Pure: the CGI variables a web server sends in PARAMS become the same http scope the HTTP host builds.
import type { Address, Headers, HttpScope } from '../gateway/types.js';
import { headersHostOk, isValidHost } from './host.js';
import { forwardedClientAndScheme, forwardedHostsOk, type ProxyTrust } from './proxy-headers.js';
import { buildHttpScope } from './scope.js';

/** What the FastCGI host needs from PARAMS besides the scope: how the body is framed. */
export interface FastCGIRequestHead {
  scope: HttpScope;
  /** CONTENT_LENGTH when sent and valid. */
  contentLength: number | undefined;
  /**
   * False when HTTP_HOST (or, with proxy headers on, an X-Forwarded-Host) is not a valid authority
   * or comes twice: the host answers 400 without running the app (see server/host.ts).
   */
  hostOk: boolean;
}

/** Options that shape a FastCGI scope. */
export interface FastCGIScopeOptions extends ProxyTrust {
  /** Used when the web server sends no SCRIPT_NAME/PATH_INFO split. */
  rootPath: string;
  state: Record<string, unknown>;
}

// Encodes a decoded path back into a request target (CGI gives SCRIPT_NAME/PATH_INFO decoded).
function encodePath(path: string): string {
  return encodeURI(path).replace(/\?/g, '%3F').replace(/#/g, '%23');
}

function toAddress(host: string | undefined, port: string | undefined): Address {
  if (!host) return null;
  const n = Number(port);
  return [host, Number.isInteger(n) && n >= 0 ? n : 0];
}

/**
 * Builds the http scope from PARAMS.
 *
 * The path comes from REQUEST_URI (raw, as the client sent it). SCRIPT_NAME becomes `rootPath` only
 * when PATH_INFO is non-empty: nginx's stock `fastcgi_params` sets SCRIPT_NAME to the whole path and
 * no PATH_INFO, and taking that as a mount point would leave the app an empty path. A mount is
 * declared with `fastcgi_split_path_info`, which fills both.
 */
export function buildFastCGIScope(
  params: ReadonlyArray<readonly [string, string]>,
  options: FastCGIScopeOptions,
): FastCGIRequestHead {
  const env = new Map<string, string>();
  const rawHeaders: string[] = [];
  let contentLength: number | undefined;
  for (const [name, value] of params) {
    if (name.startsWith('HTTP_')) {
      // HTTP_CONTENT_LENGTH/TYPE are not real CGI variables; the unprefixed ones below are authoritative.
      if (name === 'HTTP_CONTENT_LENGTH' || name === 'HTTP_CONTENT_TYPE') continue;
      rawHeaders.push(name.slice(5).replace(/_/g, '-'), value);
    } else {
      env.set(name, value);
      if (name === 'CONTENT_TYPE' && value !== '') rawHeaders.push('content-type', value);
      else if (name === 'CONTENT_LENGTH' && value !== '') {
        rawHeaders.push('content-length', value);
        const n = Number(value);
        if (/^\d+$/.test(value) && Number.isSafeInteger(n)) contentLength = n;
      }
    }
  }

  const scriptName = env.get('SCRIPT_NAME') ?? '';
  const pathInfo = env.get('PATH_INFO') ?? '';
  const mounted = pathInfo !== '' && scriptName !== '' && scriptName !== '/';
  const query = env.get('QUERY_STRING') ?? '';
  let target = env.get('REQUEST_URI');
  if (!target)
    target = encodePath(mounted ? scriptName + pathInfo : pathInfo || scriptName || '/') + (query ? `?${query}` : '');

  const protocol = env.get('SERVER_PROTOCOL') ?? '';
  const httpVersion = protocol.startsWith('HTTP/') ? protocol.slice(5) : '1.1';
  const https = env.get('HTTPS');
  let scheme =
    https !== undefined && https !== '' && https.toLowerCase() !== 'off'
      ? 'https'
      : env.get('REQUEST_SCHEME') === 'https'
        ? 'https'
        : 'http';
  const remote = env.get('REMOTE_ADDR');
  let client = toAddress(remote, env.get('REMOTE_PORT'));
  // SERVER_NAME is the web server's configuration, not the client's word, so a bad one is not the
  // request's fault: it is passed over for SERVER_ADDR (nginx sends a regex server_name as written,
  // and an app building a URL from scope.server must not get a '/' or '^' in its authority).
  const serverName = env.get('SERVER_NAME');
  const server = toAddress(
    serverName && isValidHost(serverName) ? serverName : env.get('SERVER_ADDR'),
    env.get('SERVER_PORT'),
  );

  const scope = buildHttpScope({
    method: (env.get('REQUEST_METHOD') || 'GET').toUpperCase(),
    target,
    httpVersion,
    rawHeaders,
    scheme,
    client,
    server,
    rootPath: mounted ? scriptName : options.rootPath,
    state: options.state,
  });
  if (mounted) scope.path = pathInfo;
  const hostOk = headersHostOk(scope.headers, false) && (!options.proxyHeaders || forwardedHostsOk(scope.headers));
  if (options.proxyHeaders && remote) {
    ({ client, scheme } = forwardedClientAndScheme(scope.headers as Headers, remote, client, scheme, options));
    scope.client = client;
    scope.scheme = scheme;
  }
  // REQUEST_URI keeps the query too, but when a server rewrote it QUERY_STRING is the one in force.
  if (env.has('QUERY_STRING')) scope.queryString = query;
  return { scope, contentLength, hostOk };
}

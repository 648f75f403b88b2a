// Fetch-style handlers ((Request) => Response, e.g. Hono's app.fetch) run as gateway apps, and
// gateway apps answer fetch Requests (mount in Hono, Bun-style servers, tests with no socket).
import { AlbanyError, ErrorCodes } from '../errors.js';
import type { App, HttpScope, Receive, Scope, Send } from '../gateway/types.js';
import { HttpCycle } from '../server/cycle.js';
import { BAD_HOST_MESSAGE, isValidHost, sendBadHost } from '../server/host.js';
import { buildHttpScope } from '../server/scope.js';
import { FetchRequestSource, FetchResponseSink } from './fetch-host.js';
import { withDirectNodeHandler } from '../server/direct.js';
import { directFetchHandler } from './fetch-direct.js';
import type { FetchHandler } from './fetch-types.js';
import { afterResponse, requestUrlOf, ScopeRequest } from './fetch-request.js';
import { checkedSend, sendResponse } from './fetch-send.js';
import { installLightResponse, lightState, NativeResponse } from './light-response.js';

export type { FetchHandler };

/** Options for {@link fromFetch}. */
export interface FromFetchOptions {
  /**
   * Replace `globalThis.Response` with albany's light Response (default true), as
   * @hono/node-server does: building a real Response per request is the largest cost of a
   * hello-world hop. `instanceof Response` and every Response API keep working.
   */
  lightResponse?: boolean;
  /** Called when the handler throws; return a Response to send instead (default: 500 and rethrow). */
  onError?: (error: unknown, request: Request) => Response | Promise<Response>;
}

/**
 * Wraps a fetch handler as a gateway App. The handler gets a Request whose method, url, headers
 * and body readers come straight from the scope and `receive()` (no real Request unless asked for
 * a stream, signal-bound fetch, clone…); the Response is written with streaming and backpressure.
 */
export function fromFetch(handler: FetchHandler | { fetch: FetchHandler }, options: FromFetchOptions = {}): App {
  const fetch =
    typeof handler === 'function'
      ? handler
      : typeof handler?.fetch === 'function'
        ? handler.fetch.bind(handler)
        : undefined;
  if (fetch === undefined) {
    throw new AlbanyError(
      ErrorCodes.ERR_ALBANY_INTERFACE,
      `fromFetch: expected a (request) => Response function or an object with .fetch, got ${typeof handler}`,
    );
  }
  if (options.lightResponse !== false) installLightResponse();
  const onError = options.onError;

  // Not an async function: a handler that answers synchronously (most Hono routes) is sent in the
  // same tick, with no promise of ours in between; only a promised answer is waited for.
  const fetchApp = function fetchApp(scope: Scope, receive: Receive, send: Send): Promise<void> {
    if (scope.type !== 'http') {
      if (scope.type === 'websocket') return send({ type: 'websocket.close', code: 1000 });
      return Promise.reject(
        new AlbanyError(ErrorCodes.ERR_ALBANY_INTERFACE, `a fetch handler does not support the ${scope.type} scope`),
      );
    }
    const http = scope as HttpScope;
    const url = requestUrlOf(http);
    // A Host that is not an authority never reaches the handler (its URL would be wrong or invalid).
    if (url === undefined) return sendBadHost(send);
    const request = new ScopeRequest(http.method, url, http.headers, receive) as unknown as Request;
    let result: Response | Promise<Response>;
    try {
      result = fetch(request);
    } catch (error) {
      return recover(error, request, send);
    }
    if (lightState(result) !== undefined) return afterResponse(request, sendResponse(result as Response, send));
    return Promise.resolve(result).then(
      (response) => afterResponse(request, checkedSend(response, send)),
      (error: unknown) => recover(error, request, send),
    );
  };
  // On albany's node:http host the same handler answers without the gateway's messages (same
  // behaviour, less work per request); everywhere else, and with `directApps: false`, fetchApp runs.
  return withDirectNodeHandler(fetchApp, directFetchHandler(fetch, recover));

  function recover(error: unknown, request: Request, send: Send): Promise<void> {
    if (onError === undefined) return Promise.reject(error);
    return Promise.resolve(onError(error, request)).then((response) =>
      afterResponse(request, checkedSend(response, send)),
    );
  }
}

/** Options for {@link toFetch}. */
export interface ToFetchOptions {
  /** Reported as `scope.rootPath` (default ""): the prefix under which the app is mounted. */
  rootPath?: string;
  /** Shallow-copied into every scope as `scope.state`. */
  state?: Record<string, unknown>;
  /** Where app errors are reported (default: console.error). */
  logError?: (error: unknown, requestLine: string) => void;
}

function defaultLogError(error: unknown, requestLine: string): void {
  console.error(`albany: exception in app for "${requestLine}":`, error);
}

/**
 * Wraps a gateway App as a fetch handler: `(request) => Promise<Response>`. The request body is
 * streamed into `receive()`; the response streams out as the app sends (a single-chunk response
 * becomes a plain Response). The request's `signal` is the client-disconnect signal.
 */
export function toFetch(app: App, options: ToFetchOptions = {}): (request: Request) => Promise<Response> {
  const rootPath = options.rootPath ?? '';
  const state = options.state ?? {};
  const logError = options.logError ?? defaultLogError;
  return (request: Request) => {
    const url = new URL(request.url);
    // The URL is parsed already, but a Host header of its own goes into the scope as sent.
    const ownHost = request.headers.get('host');
    if (ownHost !== null && !isValidHost(ownHost))
      return Promise.resolve(
        new NativeResponse(BAD_HOST_MESSAGE, { status: 400, headers: { 'content-type': 'text/plain; charset=utf-8' } }),
      );
    // The scope is built by the hosts' own builder, so the path is decoded and unmounted exactly as
    // albany's servers do it (bad UTF-8 → U+FFFD) and the scope has the same shape.
    const rawHeaders: string[] = request.headers.has('host') ? [] : ['host', url.host];
    for (const [name, value] of request.headers) rawHeaders.push(name, value);
    const scope = buildHttpScope({
      method: request.method,
      target: url.pathname + url.search,
      httpVersion: '1.1',
      rawHeaders,
      scheme: url.protocol.slice(0, -1),
      client: null,
      server: [url.hostname, Number(url.port) || (url.protocol === 'https:' ? 443 : 80)],
      rootPath,
      state,
    });
    const sink = new FetchResponseSink(
      () => cycle.clientGone(),
      () => cycle.responseSent(),
    );
    const cycle = new HttpCycle(scope, new FetchRequestSource(request), sink);
    request.signal.addEventListener('abort', () => cycle.clientGone(), { once: true });
    void cycle.run(app, logError);
    return sink.response;
  };
}

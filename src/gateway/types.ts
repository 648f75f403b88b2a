// The gateway interface: what a server hands an app (scope, receive, send) and every message between them.

/** Header list: lower-case names, latin1 values, order and duplicates preserved. */
export type Headers = Array<[name: string, value: string]>;

/** A `[host, port]` pair for `client` / `server`, or null when unknown (Unix sockets, tests). */
export type Address = [host: string, port: number] | null;

/** Identifies the interface version an app is being called with. */
export interface AlbanyInfo {
  /** The interface version: "1.0". */
  version: string;
  /** The version of the http/websocket sub-spec. */
  specVersion: string;
}

interface ConnectionScopeBase {
  albany: AlbanyInfo;
  /** "1.0", "1.1" or "2". */
  httpVersion: string;
  /** "http"/"https" for http scopes, "ws"/"wss" for websocket scopes. */
  scheme: string;
  /** Percent-decoded path, without the root path. */
  path: string;
  /** The path exactly as received (not decoded), without the query. */
  rawPath: string;
  /** Raw query string, without the leading "?". */
  queryString: string;
  /** The mount point of this app ("" at the top). */
  rootPath: string;
  headers: Headers;
  client: Address;
  server: Address;
  /** Shallow copy of what the app put in the lifespan scope's state during startup. */
  state: Record<string, unknown>;
  /** Extensions the server supports, e.g. `{ 'http.response.pathsend': {} }`. */
  extensions?: Record<string, Record<string, unknown>>;
}

/** One HTTP request. */
export interface HttpScope extends ConnectionScopeBase {
  type: 'http';
  /** Upper-case method. */
  method: string;
}

/** One WebSocket connection. */
export interface WebSocketScope extends ConnectionScopeBase {
  type: 'websocket';
  /** Subprotocols the client offered, in order. */
  subprotocols: string[];
}

/** The application's life: startup and shutdown. */
export interface LifespanScope {
  type: 'lifespan';
  albany: AlbanyInfo;
  /** Fill during startup; a shallow copy lands in every request scope. */
  state: Record<string, unknown>;
}

/** Any scope a server may call an app with. */
export type Scope = HttpScope | WebSocketScope | LifespanScope;

// --- http ------------------------------------------------------------------

/** A chunk of the request body. `moreBody: false` marks the last one. */
export interface HttpRequestMessage {
  type: 'http.request';
  body: Uint8Array;
  moreBody: boolean;
}
/** The client went away, or the response is finished and nothing more will come. */
export interface HttpDisconnectMessage {
  type: 'http.disconnect';
}
/**
 * Status line and headers. `trailers: true` promises an `http.response.trailers` message.
 * docs/spec.md has the full rules (statuses, `reason`, framing, head timing).
 *
 * The head leaves for the client when the app sends this message, unless a body message follows
 * in the same turn of the event loop, in which case both leave together (coalesced, never delayed).
 */
export interface HttpResponseStartMessage {
  type: 'http.response.start';
  /** An integer from 100 to 999 (the range node:http writes). */
  status: number;
  headers?: Headers;
  trailers?: boolean;
  /**
   * Extension: the reason phrase of the status line (`HTTP/1.1 200 ok`). Absent: the standard
   * phrase for the status (`OK`), or `unknown` for a code without one, as node:http writes.
   * Tab, space, visible ASCII and latin1 only (no CR, LF or NUL). Hosts without a status line
   * (HTTP/2, a fetch Response's `statusText` aside) may drop it.
   */
  reason?: string;
}
/** A chunk of the response body. `moreBody` defaults to false. */
export interface HttpResponseBodyMessage {
  type: 'http.response.body';
  body?: Uint8Array;
  moreBody?: boolean;
}
/** Trailing headers (only when `trailers: true` was sent in start). */
export interface HttpResponseTrailersMessage {
  type: 'http.response.trailers';
  headers?: Headers;
  moreTrailers?: boolean;
}
/** Ask the server to stream a file as the whole body. */
export interface HttpResponsePathsendMessage {
  type: 'http.response.pathsend';
  path: string;
}

/** What `receive()` yields in an http scope. */
export type HttpReceiveMessage = HttpRequestMessage | HttpDisconnectMessage;
/** What an app may `send()` in an http scope. */
export type HttpSendMessage =
  | HttpResponseStartMessage
  | HttpResponseBodyMessage
  | HttpResponseTrailersMessage
  | HttpResponsePathsendMessage;

// --- websocket -------------------------------------------------------------

/** The client asks to connect. */
export interface WebSocketConnectMessage {
  type: 'websocket.connect';
}
/** Accept the connection, optionally choosing a subprotocol and adding response headers. */
export interface WebSocketAcceptMessage {
  type: 'websocket.accept';
  subprotocol?: string | null;
  headers?: Headers;
}
/** A message from the client: exactly one of bytes / text. */
export interface WebSocketReceiveMessage {
  type: 'websocket.receive';
  bytes?: Uint8Array | null;
  text?: string | null;
}
/** A message to the client: exactly one of bytes / text. */
export interface WebSocketSendMessage {
  type: 'websocket.send';
  bytes?: Uint8Array | null;
  text?: string | null;
}
/** Close (or, before accept, reject with 403). */
export interface WebSocketCloseMessage {
  type: 'websocket.close';
  code?: number;
  reason?: string;
}
/** The connection is gone. */
export interface WebSocketDisconnectMessage {
  type: 'websocket.disconnect';
  code: number;
  reason?: string;
}

/** What `receive()` yields in a websocket scope. */
export type WebSocketReceiveEvent = WebSocketConnectMessage | WebSocketReceiveMessage | WebSocketDisconnectMessage;
/** What an app may `send()` in a websocket scope. */
export type WebSocketSendEvent = WebSocketAcceptMessage | WebSocketSendMessage | WebSocketCloseMessage;

// --- lifespan --------------------------------------------------------------

/** Lifespan messages the server sends. */
export type LifespanReceiveMessage = { type: 'lifespan.startup' } | { type: 'lifespan.shutdown' };
/** Lifespan messages the app sends. */
export type LifespanSendMessage =
  | { type: 'lifespan.startup.complete' }
  | { type: 'lifespan.startup.failed'; message?: string }
  | { type: 'lifespan.shutdown.complete' }
  | { type: 'lifespan.shutdown.failed'; message?: string };

// --- the call --------------------------------------------------------------

/** Any message a server hands to an app. */
export type ReceiveMessage = HttpReceiveMessage | WebSocketReceiveEvent | LifespanReceiveMessage;
/** Any message an app hands to a server. */
export type SendMessage = HttpSendMessage | WebSocketSendEvent | LifespanSendMessage;

/** Waits for the next message from the server. */
export type Receive = () => Promise<ReceiveMessage>;
/** Hands one message to the server; resolves when the server has taken it (backpressure). */
export type Send = (message: SendMessage) => Promise<void>;

/** A gateway application. Called once per request, connection, or lifespan. */
export type App = (scope: Scope, receive: Receive, send: Send) => Promise<void>;

/** The interface version albany speaks. */
export const GATEWAY_VERSION = '1.0';
/** The version of the http/websocket sub-spec. */
export const SPEC_VERSION = '1.0';

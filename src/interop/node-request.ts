// A real http.IncomingMessage whose body comes from a gateway `receive()`, so Express, Koa and
// body-parser get the request object they were written for.
import { IncomingMessage } from 'node:http';
import type { Headers, HttpReceiveMessage, HttpScope, Receive } from '../gateway/types.js';
import { kHeadersCount } from './node-internals.js';
import { AlbanyError, ErrorCodes } from '../errors.js';
import { constructWith } from './node-prototypes.js';
import { targetBelowRoot } from '../routing/prefix.js';

/**
 * What the request side needs of the stand-in socket (node-socket.ts's GatewaySocket): the body's
 * source and books. Declared here so this file does not import the socket, which imports it.
 */
export interface BodySocket {
  /** The request whose body this socket feeds; set once, by createIncomingMessage. */
  request: IncomingMessage | null;
  /** Where the body comes from: the gateway's `receive()`... */
  receive: Receive | undefined;
  /** ...or, in a legacy worker, a blocking reader used instead. */
  receiveSync: (() => HttpReceiveMessage) | undefined;
  /** True while a `receive()` for the body is pending. */
  pulling: boolean;
  /** Called once the whole body has been received (the disconnect watcher waits for it). */
  onBodyComplete: (() => void) | undefined;
  /** The client went away mid-body. */
  hangUp(): void;
}

/** The request as node builds it; albany keeps no state of its own on it (see {@link BodySocket}). */
export type GatewayIncomingMessage = IncomingMessage;

type Internals = IncomingMessage & { [kHeadersCount]: number };

function toBuffer(body: Uint8Array): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

function connectionReset(): Error {
  return Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
}

/** A body read's failure as the request's error: an Error as is, anything else wrapped with it as the cause. */
function asError(error: unknown): Error {
  if (error instanceof Error) return error;
  return new AlbanyError(
    ErrorCodes.ERR_ALBANY_ABORTED,
    `reading the request body failed with a non-Error value: ${String(error)}`,
    { cause: error },
  );
}

/** Marks the request as fully received and tells whoever waits for that (the disconnect watcher). */
function complete(req: IncomingMessage, socket: BodySocket): void {
  req.complete = true;
  req.push(null);
  const done = socket.onBodyComplete;
  socket.onBodyComplete = undefined;
  done?.();
}

/**
 * The connection is gone (client left, or the handler destroyed it): the request ends the way
 * node's does — `aborted` and an ECONNRESET error (emitted only when someone listens) unless the
 * handler had read it to the end. Called by the socket just before its `close`.
 */
export function abortRequest(req: IncomingMessage): void {
  if (req.destroyed) return;
  if (!req.readableEnded || !req.complete) req.destroy(connectionReset());
  else req.destroy();
}

function onMessage(socket: BodySocket, req: IncomingMessage, message: HttpReceiveMessage): void {
  socket.pulling = false;
  if (message.type !== 'http.request') {
    // The client left mid-body: the socket tears the exchange down (the request aborts with it).
    socket.hangUp();
    return;
  }
  if (!message.moreBody) {
    if (message.body.length > 0) req.push(toBuffer(message.body));
    complete(req, socket);
  } else if (message.body.length === 0 || req.push(toBuffer(message.body))) {
    // Readable only calls _read again after a push; an empty chunk pushes nothing, so ask ourselves.
    pullBody(socket);
  }
}

/**
 * Reads the next body message into the socket's request. Node's own `IncomingMessage#_read` calls
 * `socket.resume()` when the consumer wants more (on a real socket that lets the parser push the
 * next chunk), which is exactly when the gateway's backpressure wants us to call receive(); so the
 * request keeps node's `_read`, and no own property of ours changes its shape (Express and Koa add
 * theirs on top, and every extra field makes those additions copy a larger property store).
 */
export function pullBody(socket: BodySocket): void {
  const req = socket.request;
  if (req === null || socket.pulling || req.complete || req.destroyed) return;
  const sync = socket.receiveSync;
  if (sync !== undefined) {
    // In a legacy worker the body is read blocking, so a synchronous handler's read() gets it at once.
    let message: HttpReceiveMessage;
    try {
      message = sync();
    } catch (error) {
      req.destroy(asError(error));
      return;
    }
    onMessage(socket, req, message);
    return;
  }
  socket.pulling = true;
  socket.receive!().then(
    (message) => onMessage(socket, req, message as HttpReceiveMessage),
    (error: unknown) => req.destroy(asError(error)),
  );
}

/** What a request looks like before it has a body: method, target, version, headers. */
export interface NodeRequestHead {
  method: string;
  /** The request target as `req.url` shows it (path below the mount point, plus `?query`). */
  url: string;
  /** `1.0`, `1.1` or `2`. */
  httpVersion: string;
  headers: Headers;
}

/** Where the body comes from: gateway `receive()`, or (legacy workers) a blocking reader. */
export interface NodeRequestBody {
  receive: Receive;
  /** When present, used instead of `receive`: returns the next message at once (it may block). */
  receiveSync?: () => HttpReceiveMessage;
}

/** True when the head says a body follows (content-length > 0 or any transfer-encoding). */
function declaresBody(headers: Headers): boolean {
  for (let i = 0; i < headers.length; i++) {
    const name = headers[i]![0];
    if (name === 'content-length') return headers[i]![1] !== '0';
    if (name === 'transfer-encoding') return true;
  }
  return false;
}

/** The path as the handler should see it: the raw path below the mount point, plus the query. */
export function requestUrl(scope: HttpScope): string {
  // Whole segments, and a root reached through percent-encoding (`/ap%70/x` under mount('/app')) too.
  const path = scope.rootPath === '' ? scope.rawPath : targetBelowRoot(scope);
  return scope.queryString ? `${path}?${scope.queryString}` : path;
}

/** The request head of an http scope. */
export function scopeRequestHead(scope: HttpScope): NodeRequestHead {
  return { method: scope.method, url: requestUrl(scope), httpVersion: scope.httpVersion, headers: scope.headers };
}

/**
 * Builds the IncomingMessage for one request. A request without a declared body is complete at
 * once (like node's parser, which pushes the end before the handler runs); otherwise the body is
 * pulled from `body` only as the handler reads. With `prototype` (see node-prototypes.ts) the request
 * inherits from it from the start.
 */
export function createIncomingMessage(
  head: NodeRequestHead,
  body: NodeRequestBody,
  socket: BodySocket,
  prototype?: object,
): GatewayIncomingMessage {
  const req = (
    prototype === undefined
      ? new IncomingMessage(socket as never)
      : constructWith(IncomingMessage, prototype, socket as never)
  ) as Internals;
  socket.request = req;
  socket.receive = body.receive;
  socket.receiveSync = body.receiveSync;
  req.method = head.method;
  req.url = head.url;
  const version = head.httpVersion;
  req.httpVersion = version === '2' ? '2.0' : version;
  req.httpVersionMajor = version === '1.0' ? 1 : version === '2' ? 2 : 1;
  req.httpVersionMinor = version === '1.0' ? 0 : version === '2' ? 0 : 1;
  const headers = head.headers;
  const raw: string[] = new Array(headers.length * 2);
  for (let i = 0, j = 0; i < headers.length; i++) {
    raw[j++] = headers[i]![0];
    raw[j++] = headers[i]![1];
  }
  req.rawHeaders = raw;
  req[kHeadersCount] = raw.length;
  if (!declaresBody(headers)) complete(req, socket);
  return req;
}

/**
 * Calls `then` once the whole request body has been received (at once if it already was). The
 * disconnect watcher waits for this so it never competes with the body reader for `receive()`.
 */
export function whenComplete(socket: BodySocket, then: () => void): void {
  const req = socket.request;
  if (req === null || req.complete) then();
  else socket.onBodyComplete = then;
}

// A real http.IncomingMessage whose body comes from a gateway `receive()`, so Express, Koa and
// body-parser get the request object they were written for.
import { IncomingMessage } from 'node:http';
import type { Headers, HttpReceiveMessage, HttpScope, Receive } from '../gateway/types.js';
import { kHeadersCount } from './node-internals.js';
import { AlbanyError, ErrorCodes } from '../errors.js';
import type { GatewaySocket } from './node-socket.js';
import { targetBelowRoot } from '../routing/prefix.js';

const kReceive = Symbol('albany.receive');
const kReceiveSync = Symbol('albany.receiveSync');
const kPulling = Symbol('albany.pulling');
const kOnComplete = Symbol('albany.onComplete');

/** The request plus the albany state it carries (own properties, so they survive Express's prototype swap). */
export interface GatewayIncomingMessage extends IncomingMessage {
  [kReceive]: Receive;
  [kReceiveSync]: (() => HttpReceiveMessage) | undefined;
  [kPulling]: boolean;
  [kOnComplete]: (() => void) | undefined;
}

type Internals = GatewayIncomingMessage & {
  _consuming: boolean;
  _readableState: { readingMore: boolean };
  [kHeadersCount]: number;
};

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
function complete(req: Internals): void {
  req.complete = true;
  req.push(null);
  const done = req[kOnComplete];
  req[kOnComplete] = undefined;
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

function onMessage(req: Internals, message: HttpReceiveMessage): void {
  req[kPulling] = false;
  if (message.type !== 'http.request') {
    // The client left mid-body: the socket tears the exchange down (the request aborts with it).
    (req.socket as unknown as GatewaySocket).hangUp();
    return;
  }
  if (!message.moreBody) {
    if (message.body.length > 0) req.push(toBuffer(message.body));
    complete(req);
  } else if (message.body.length === 0 || req.push(toBuffer(message.body))) {
    // Readable only calls _read again after a push; an empty chunk pushes nothing, so ask ourselves.
    pull.call(req);
  }
}

// Installed as an own `_read` on each request: Readable calls it when the consumer wants more, which
// is exactly when the gateway's backpressure wants us to call receive().
function pull(this: Internals): void {
  if (!this._consuming) {
    this._readableState.readingMore = false;
    this._consuming = true;
  }
  if (this[kPulling] || this.complete || this.destroyed) return;
  const sync = this[kReceiveSync];
  if (sync !== undefined) {
    // In a legacy worker the body is read blocking, so a synchronous handler's read() gets it at once.
    let message: HttpReceiveMessage;
    try {
      message = sync();
    } catch (error) {
      this.destroy(asError(error));
      return;
    }
    onMessage(this, message);
    return;
  }
  this[kPulling] = true;
  this[kReceive]().then(
    (message) => onMessage(this, message as HttpReceiveMessage),
    (error: unknown) => this.destroy(asError(error)),
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
 * pulled from `body` only as the handler reads.
 */
export function createIncomingMessage(
  head: NodeRequestHead,
  body: NodeRequestBody,
  socket: GatewaySocket,
): GatewayIncomingMessage {
  const req = new IncomingMessage(socket as never) as Internals;
  req[kReceive] = body.receive;
  req[kReceiveSync] = body.receiveSync;
  req[kPulling] = false;
  req[kOnComplete] = undefined;
  req._read = pull;
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
  if (!declaresBody(headers)) complete(req);
  return req;
}

/**
 * Calls `then` once the whole request body has been received (at once if it already was). The
 * disconnect watcher waits for this so it never competes with the body reader for `receive()`.
 */
export function whenComplete(req: GatewayIncomingMessage, then: () => void): void {
  if (req.complete) then();
  else req[kOnComplete] = then;
}

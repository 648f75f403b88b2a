// A real http.IncomingMessage whose body comes from a gateway `receive()`, so Express, Koa and
// body-parser get the request object they were written for.
import { IncomingMessage } from 'node:http';
import type { HttpReceiveMessage, HttpScope, Receive } from '../gateway/types.js';
import { kHeadersCount } from './node-internals.js';
import type { GatewaySocket } from './node-socket.js';
import { targetBelowRoot } from '../routing/prefix.js';

const kReceive = Symbol('albany.receive');
const kPulling = Symbol('albany.pulling');
const kOnComplete = Symbol('albany.onComplete');

/** The request plus the albany state it carries (own properties, so they survive Express's prototype swap). */
export interface GatewayIncomingMessage extends IncomingMessage {
  [kReceive]: Receive;
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

/** Marks the request as fully received and tells whoever waits for that (the disconnect watcher). */
function complete(req: Internals): void {
  req.complete = true;
  req.push(null);
  const done = req[kOnComplete];
  req[kOnComplete] = undefined;
  done?.();
}

/**
 * The client went away before the body ended: same signals as node:http (`aborted`, then destroy
 * with ECONNRESET, which node only emits as 'error' when someone listens).
 */
export function abortRequest(req: IncomingMessage): void {
  const socket = req.socket as unknown as GatewaySocket;
  // Destroy the stand-in socket first so IncomingMessage#_destroy does not wait on it as a stream.
  if (!socket.destroyed) socket.destroy();
  if (!req.destroyed) req.destroy(req.complete ? undefined : connectionReset());
}

function onMessage(req: Internals, message: HttpReceiveMessage): void {
  req[kPulling] = false;
  if (message.type !== 'http.request') {
    abortRequest(req);
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
  this[kPulling] = true;
  this[kReceive]().then(
    (message) => onMessage(this, message as HttpReceiveMessage),
    (error: unknown) => this.destroy(error instanceof Error ? error : new Error(String(error))),
  );
}

/** True when the head says a body follows (content-length > 0 or any transfer-encoding). */
function declaresBody(scope: HttpScope): boolean {
  const headers = scope.headers;
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

/**
 * Builds the IncomingMessage for one request. A request without a declared body is complete at
 * once (like node's parser, which pushes the end before the handler runs); otherwise the body is
 * pulled from `receive()` only as the handler reads.
 */
export function createIncomingMessage(scope: HttpScope, receive: Receive, socket: GatewaySocket): GatewayIncomingMessage {
  const req = new IncomingMessage(socket as never) as Internals;
  req[kReceive] = receive;
  req[kPulling] = false;
  req[kOnComplete] = undefined;
  req._read = pull;
  req.method = scope.method;
  req.url = requestUrl(scope);
  const version = scope.httpVersion;
  req.httpVersion = version === '2' ? '2.0' : version;
  req.httpVersionMajor = version === '1.0' ? 1 : version === '2' ? 2 : 1;
  req.httpVersionMinor = version === '1.0' ? 0 : version === '2' ? 0 : 1;
  const headers = scope.headers;
  const raw: string[] = new Array(headers.length * 2);
  for (let i = 0, j = 0; i < headers.length; i++) {
    raw[j++] = headers[i]![0];
    raw[j++] = headers[i]![1];
  }
  req.rawHeaders = raw;
  req[kHeadersCount] = raw.length;
  if (!declaresBody(scope)) complete(req);
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

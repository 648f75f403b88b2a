// node:http adapters for a cycle: the request body as http.request messages with backpressure, and
// the response sink that writes status, headers, body and trailers to a ServerResponse.
import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { Headers, HttpReceiveMessage } from '../gateway/types.js';
import { DISCONNECT, END_OF_BODY } from '../gateway/messages.js';
import type { RequestSource, ResponseSink } from './cycle.js';
import { hasHeader, lowerHeaderName } from '../gateway/helpers.js';
import { kOutHeaders } from '../interop/node-internals.js';
import { regularFileSize } from './send-file.js';
import type { NodeExchange } from './direct.js';
import { mayAddContentLength } from './framing.js';

// Bodies up to this size, sent whole with the head, are written as one latin1 string.
const SMALL_BODY = 1024;
const latin1Slice = (
  Buffer.prototype as unknown as { latin1Slice(this: Uint8Array, start: number, end: number): string }
).latin1Slice;
const END_OF_BODY_PROMISE = Promise.resolve(END_OF_BODY);
// The header list of a response not started yet (start() replaces it; nothing appends to it).
const NO_HEADERS: Headers = Object.freeze([]) as unknown as Headers;

/** The source of every request without a body: one shared object, nothing to allocate per request. */
export const NO_BODY: RequestSource = Object.freeze({ next: () => END_OF_BODY_PROMISE });

/** Whether `req` is an HTTP/2 request whose stream the client reset (its body ended early). */
function streamAborted(req: IncomingMessage): boolean {
  return (req as IncomingMessage & { stream?: { aborted?: boolean } }).stream?.aborted === true;
}

/**
 * Reads a request body in paused mode: nothing is pulled from the socket until the app asks, and
 * node pauses the socket once its small buffer is full, so a slow app never makes us read ahead.
 */
export class NodeRequestSource implements RequestSource {
  private received = 0;
  private done: boolean;
  private gone = false;
  private wake: (() => void) | undefined;

  /**
   * @param expected content-length when the client sent one (lets the last chunk say moreBody: false)
   * @param limit largest body accepted (0 = none); `onTooLarge` is called once when passed
   * @param beforeFirstRead called once when the app first asks for the body (sends `100 Continue`)
   */
  constructor(
    private readonly req: IncomingMessage,
    hasBody: boolean,
    private readonly expected: number | undefined,
    private readonly limit: number,
    private readonly onTooLarge: () => void,
    private beforeFirstRead?: () => void,
  ) {
    this.done = !hasBody;
    if (hasBody) {
      const notify = () => {
        const wake = this.wake;
        this.wake = undefined;
        wake?.();
      };
      req.on('readable', notify);
      req.on('end', notify);
      req.on('close', () => {
        if (!req.complete) this.gone = true;
        notify();
      });
      // An aborted upload surfaces as an 'error' on the request; the 'close' above already covers it.
      req.on('error', () => {});
    }
  }

  async next(): Promise<HttpReceiveMessage> {
    if (this.beforeFirstRead !== undefined && !this.done && !this.gone) {
      const first = this.beforeFirstRead;
      this.beforeFirstRead = undefined;
      first();
    }
    for (;;) {
      if (this.done) return END_OF_BODY;
      if (this.gone) return DISCONNECT;
      const chunk = this.req.read() as Buffer | null;
      if (chunk !== null) {
        this.received += chunk.length;
        if (this.limit > 0 && this.received > this.limit) {
          this.gone = true;
          this.onTooLarge();
          return DISCONNECT;
        }
        const last = this.expected !== undefined && this.received >= this.expected;
        if (last) this.done = true;
        return { type: 'http.request', body: chunk, moreBody: !last };
      }
      if (this.req.readableEnded || (this.req.complete && this.req.readableLength === 0)) {
        // HTTP/2's compat request ends its body when the client resets the stream, too.
        if (streamAborted(this.req)) {
          this.gone = true;
          return DISCONNECT;
        }
        this.done = true;
        return END_OF_BODY;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}

// Connection-specific headers HTTP/2 forbids (RFC 9113 §8.2.2): an app written for HTTP/1.1 may
// send them, node would drop them with a process warning; they mean nothing on a stream.
const H2_FORBIDDEN = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

/** `headers` without those HTTP/2 forbids (`te` only as `trailers`). */
function h2Headers(headers: Headers): Headers {
  return headers.filter(([name, value]) => !H2_FORBIDDEN.has(name) && (name !== 'te' || value === 'trailers'));
}

/** Whether `res` answers an HTTP/2 request (node's compat Http2ServerResponse). */
function isH2(res: ServerResponse): boolean {
  return res.req?.httpVersionMajor === 2;
}

function flatten(headers: Headers, extra?: [string, string]): string[] {
  const flat: string[] = new Array(headers.length * 2 + (extra ? 2 : 0));
  let j = 0;
  for (let i = 0; i < headers.length; i++) {
    flat[j++] = headers[i]![0];
    flat[j++] = headers[i]![1];
  }
  if (extra) {
    flat[j++] = extra[0];
    flat[j] = extra[1];
  }
  return flat;
}

// node:http's own map of the headers set on a response (`{ lowerName: [name, value] }`, what
// setHeader fills). _storeHeader writes the map that is `res[kOutHeaders]` without checking its
// bytes again, because setHeader checked them on the way in. The cycle has checked every header an
// app sends as node would (gateway/validate.ts), so handing the headers over as that map leaves
// one check per header instead of two, with the same guarantee: nothing node would refuse is
// written.
type OutgoingMap = Record<string, [string, string]>;
type OwnedResponse = ServerResponse & { [kOutHeaders]: OutgoingMap | null };

/** node:http's own framing state of an HTTP/1 response (what _storeHeader reads to frame the body). */
type FramedResponse = OwnedResponse & {
  _contentLength: number | null;
  _hasBody: boolean;
  _removedContLen: boolean;
  useChunkedEncodingByDefault: boolean;
};

/**
 * Whether node will write `content-length: <_contentLength>` itself for this response: an HTTP/1.1
 * response that may carry a body and has no framing of its own yet (the conditions under which
 * _storeHeader uses `_contentLength`, as @hono/node-server's trySetContentLength checks them).
 */
function nodeFrames(res: FramedResponse): boolean {
  return (
    res._contentLength === null &&
    res._hasBody &&
    res.useChunkedEncodingByDefault &&
    !res._removedContLen &&
    res[kOutHeaders] === null &&
    !isH2(res)
  );
}

/**
 * `headers` (and `extra`) as node's outgoing-header map, or undefined when a name repeats: a map
 * holds one entry per name, and regrouping `a, b, a` as `a, a, b` would change what is written.
 */
function outgoingMap(headers: Headers, extra: [string, string] | undefined): OutgoingMap | undefined {
  const map: OutgoingMap = {};
  for (let i = 0; i < headers.length; i++) {
    const pair = headers[i]!;
    const key = lowerHeaderName(pair[0]);
    // An inherited name (`constructor`) reads as a repeat, and `__proto__` cannot be a key: both
    // take node's array path, as repeats do.
    if (map[key] !== undefined || key === '__proto__') return undefined;
    map[key] = pair;
  }
  if (extra !== undefined) map['content-length'] = extra;
  return map;
}

// Sinks whose head was started without a body message yet. One setImmediate per event-loop turn
// looks at them all: a body sent in the same turn (the usual start + body) has taken its head
// along as one sized write by then, and a head still waiting leaves at the end of the turn instead
// of waiting for a slow body (coalesce, never delay). One array for the life of the process.
const pendingHeads: NodeResponseSink[] = [];

function flushPendingHeads(): void {
  const n = pendingHeads.length;
  for (let i = 0; i < n; i++) pendingHeads[i]!.flushHead();
  pendingHeads.splice(0, n);
}

/**
 * Writes a cycle's response to a node ServerResponse. The head waits for a body message sent in
 * the same turn, so a one-chunk response goes out as one write with a content-length; otherwise
 * it leaves at the end of the turn in which the app sent `http.response.start`.
 */
export class NodeResponseSink implements ResponseSink {
  // Assigned in the constructor rather than as class fields: one of these is made per request,
  // and plain stores there are cheaper than the per-field defines that class fields compile to.
  declare private status: number;
  declare private reason: string | undefined;
  declare private headers: Headers;
  declare private wantsTrailers: boolean;
  declare protected flushed: boolean;
  /**
   * Whether node holds the response to a content-length the app declared (a shorter body would
   * leave the client waiting for bytes that never come, a longer one would corrupt the next
   * response on the connection). Set by hosts that own the connection; off for a response someone
   * else started (a node app that mounts this one keeps its own setting).
   */
  declare protected holdsLength: boolean;
  /** True once sendFile() took the body over: its head waits for the file's size. */
  declare private fileBody: boolean;
  declare private pendingTrailers: Record<string, string | string[]> | undefined;
  declare readonly res: ServerResponse;
  /** Response body bytes handed to node so far (for the access log). */
  declare bytes: number;

  constructor(res: ServerResponse) {
    this.res = res;
    this.status = 200;
    this.reason = undefined;
    this.headers = NO_HEADERS;
    this.wantsTrailers = false;
    this.flushed = false;
    this.holdsLength = false;
    this.fileBody = false;
    this.pendingTrailers = undefined;
    this.bytes = 0;
  }

  /**
   * Called once when the response has been ended on our side (not on abort: a host learns of that
   * from the socket closing). Hosts that keep books per response override it.
   */
  protected ended(): void {}

  private end(chunk?: Uint8Array | string): void {
    if (chunk === undefined) this.res.end();
    else {
      this.bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
      this.res.end(chunk);
    }
    this.ended();
  }

  // end() for a body whose byte length the caller has measured already.
  private endSized(chunk: Uint8Array | string, size: number): void {
    this.bytes += size;
    this.res.end(chunk);
    this.ended();
  }

  // A small whole body goes out as a latin1 string (byte for byte the same): node then joins it to
  // the head and writes one string, where a buffer body makes it queue the head separately and
  // write a two-part writev.
  private endLatin1(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    this.res.end(latin1Slice.call(chunk, 0, chunk.length), 'latin1');
    this.ended();
  }

  start(status: number, headers: Headers, trailers: boolean, reason: string | undefined): void {
    this.status = status;
    this.reason = reason;
    this.headers = headers;
    this.wantsTrailers = trailers;
    if (pendingHeads.push(this) === 1) setImmediate(flushPendingHeads);
  }

  /** True while the head is started but neither sent nor taken along by a body (or a file). */
  private waitsForBody(): boolean {
    const res = this.res;
    return !this.flushed && !this.fileBody && !res.headersSent && !res.destroyed;
  }

  /**
   * Sends the head now if no body message has taken it along yet (called at the end of the turn
   * that started the response). A head node refuses is left for the next body() call, which
   * reports it through the cycle (a 500) instead of throwing here, outside any request.
   */
  flushHead(): void {
    const res = this.res;
    if (!this.waitsForBody()) return;
    try {
      this.writeHead();
    } catch {
      return;
    }
    this.flushed = true;
    res.flushHeaders();
  }

  private flush(extra?: [string, string], exact = false): void {
    this.flushed = true;
    this.writeHead(extra, exact);
  }

  // The one place the head is handed to node, alone (flushHead) or with a body (flush).
  // `exact`: the content-length is albany's own, for the whole body it writes at once, so holding the
  // response to it (node's strictContentLength, a byte count and a header lookup per write) is moot.
  private writeHead(extra?: [string, string], exact = false): void {
    const res = this.res as OwnedResponse;
    if (this.holdsLength && !exact) res.strictContentLength = true;
    // HTTP/2 has no reason phrase and no connection headers.
    if (isH2(res)) {
      res.writeHead(this.status, flatten(h2Headers(this.headers), extra));
      return;
    }
    // Headers someone set on the response before us (a node app mounting this one) keep node's
    // merging path; so does a list that repeats a name (node's map would regroup its values).
    const map = res[kOutHeaders] === null ? outgoingMap(this.headers, extra) : undefined;
    if (map === undefined) {
      if (this.reason === undefined) res.writeHead(this.status, flatten(this.headers, extra));
      else res.writeHead(this.status, this.reason, flatten(this.headers, extra));
      return;
    }
    res[kOutHeaders] = map;
    try {
      if (this.reason === undefined) res.writeHead(this.status);
      else res.writeHead(this.status, this.reason);
    } catch (error) {
      // Nothing was written (a head node refuses as a whole, such as a trailer header on a response
      // that is not chunked): the 500 that follows must not carry the app's headers.
      res[kOutHeaders] = null;
      throw error;
    }
  }

  body(chunk: Uint8Array | undefined, more: boolean): void | Promise<void> {
    const res = this.res;
    const first = !this.flushed;
    if (first) {
      const sized =
        !more &&
        !this.wantsTrailers &&
        mayAddContentLength(this.status, chunk === undefined ? 0 : chunk.length, res.req?.method);
      const own = sized && !hasHeader(this.headers, 'content-length') && !hasHeader(this.headers, 'transfer-encoding');
      // Our own length is exact only when this chunk is the whole body, written at once below.
      if (own) this.flush(['content-length', `${chunk === undefined ? 0 : chunk.length}`], true);
      else this.flush();
    }
    if (!more && !this.wantsTrailers) {
      if (chunk === undefined || chunk.length === 0) this.end();
      else if (first && chunk.length <= SMALL_BODY) this.endLatin1(chunk);
      else this.end(chunk);
      return;
    }
    if (chunk === undefined || chunk.length === 0) {
      // An empty first chunk (what flushHeaders() sends through fromNodeHandler): the head goes now.
      if (first) res.flushHeaders();
      return;
    }
    this.bytes += chunk.length;
    if (!res.write(chunk)) return this.drained();
  }

  trailers(headers: Headers, more: boolean): void {
    if (!this.flushed) this.flush();
    const t = (this.pendingTrailers ??= {});
    for (const [name, value] of headers) {
      const prev = t[name];
      t[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
    }
    if (!more) {
      this.res.addTrailers(t);
      this.end();
    }
  }

  async sendFile(path: string): Promise<void> {
    this.fileBody = true;
    const size = await regularFileSize(path).catch((error: unknown) => {
      this.fail(404, 'Not Found');
      throw error;
    });
    if (!this.flushed)
      this.flush(hasHeader(this.headers, 'content-length') ? undefined : ['content-length', String(size)]);
    try {
      this.bytes += size;
      await pipeline(createReadStream(path), this.res);
      this.ended();
    } catch (error) {
      this.res.destroy();
      throw error;
    }
  }

  /**
   * Writes a complete response in one go, outside the message protocol: for direct handlers (see
   * server/direct.ts, {@link NodeExchange.sendWhole}). node's writeHead validates `headers` (unless
   * `checked`) and throws before anything is written.
   */
  sendWhole(
    status: number,
    headers: string[],
    body: string | Uint8Array | null,
    size: number,
    own: boolean,
    checked: boolean,
  ): void {
    const res = this.res as FramedResponse;
    // Our own length is exact for a body written whole, so holding the response to it is moot
    // (node's strictContentLength costs a byte count per write); an app's declared one is held.
    if (this.holdsLength && !own) res.strictContentLength = true;
    if (checked && nodeFrames(res)) {
      // Albany's own constant headers go over as node's outgoing map, which it does not check
      // again; the length as node's own framing (`_contentLength`, written by _storeHeader as it
      // would write a chunked body's Transfer-Encoding), the way @hono/node-server gives it.
      const map: OutgoingMap = {};
      for (let i = 0; i < headers.length; i += 2) map[headers[i]!] = [headers[i]!, headers[i + 1]!];
      res[kOutHeaders] = map;
      if (own) res._contentLength = size;
      try {
        res.writeHead(status);
      } catch (error) {
        // Nothing was written: the 500 that follows must carry neither these headers nor this length.
        res[kOutHeaders] = null;
        res._contentLength = null;
        throw error;
      }
    } else {
      if (own) headers.push('content-length', String(size));
      res.writeHead(status, headers);
    }
    this.flushed = true;
    if (body === null || size === 0) this.end();
    else if (typeof body !== 'string' && size <= SMALL_BODY) this.endLatin1(body);
    else this.endSized(body, size);
  }

  fail(status: number, text: string): void {
    const res = this.res;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    this.flushed = true;
    // A writeHead that node refused may have kept the app's reason phrase: the failure has its own.
    if (!isH2(res)) res.statusMessage = '';
    res.writeHead(status, [
      'content-type',
      'text/plain; charset=utf-8',
      'content-length',
      String(Buffer.byteLength(text)),
    ]);
    this.end(text);
  }

  abort(): void {
    this.res.destroy();
  }

  private drained(): Promise<void> {
    const res = this.res;
    return new Promise((resolve) => {
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });
  }
}

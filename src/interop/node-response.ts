// A real http.ServerResponse whose output becomes gateway messages: node keeps all the header and
// status logic (setHeader, writeHead, HEAD/204 body rules), albany takes over at the point where node
// would serialize bytes for the socket.
import { OutgoingMessage, STATUS_CODES, ServerResponse, type IncomingMessage } from 'node:http';
import type { Headers, Send, SendMessage } from '../gateway/types.js';
import { SENT } from '../gateway/messages.js';
import { kNeedDrain, kOutHeaders } from './node-internals.js';
import { AlbanyError, ErrorCodes } from '../errors.js';
import { constructWith } from './node-prototypes.js';
import type { GatewaySocket } from './node-socket.js';

/**
 * Emits `close` on a response once, as node's emitCloseNT does (it also marks the response
 * destroyed, which is what node reports after a normal end too).
 */
export function closeResponse(res: ServerResponse): void {
  const r = res as ServerResponse & { _closed: boolean };
  if (r._closed) return;
  r.destroyed = true;
  r._closed = true;
  r.emit('close');
}

const kBridge = Symbol('albany.bridge');
// Bytes handed to send() but not yet taken before write() starts returning false; node's own default.
const HIGH_WATER_MARK = 16 * 1024;
const EMPTY = Buffer.alloc(0);

type Callback = (error?: Error | null) => void;
type OutgoingHeaders = Record<string, unknown> | unknown[] | null | undefined;

/** The response plus the albany bridge it carries (own properties survive Express's prototype swap). */
export interface GatewayServerResponse extends ServerResponse {
  [kBridge]: ResponseBridge;
}

type Internals = GatewayServerResponse & {
  _header: string | null;
  _headerSent: boolean;
  _hasBody: boolean;
  /** What addTrailers() stored, serialized as `Name: value\r\n` lines (node validated them). */
  _trailer: string;
  _closed: boolean;
  finished: boolean;
  [kOutHeaders]: Record<string, [string, unknown]> | null;
  [kNeedDrain]: boolean;
  _storeHeader(firstLine: string, headers: OutgoingHeaders): void;
  _send(data: string | Uint8Array, encoding: BufferEncoding | Callback | null, callback?: Callback | null): boolean;
  _writeRaw(data: unknown, encoding: unknown, callback?: Callback): boolean;
};

// Node's own header bookkeeping, run only for responses that declare a Trailer header.
const nodeStoreHeader = (OutgoingMessage.prototype as unknown as Internals)._storeHeader;

function pushValue(out: Headers, name: string, value: unknown): void {
  if (Array.isArray(value)) for (const v of value) out.push([name, String(v)]);
  else if (value !== undefined) out.push([name, String(value)]);
}

/** Node's header shapes (setHeader map, writeHead object, flat or nested array) → gateway pairs. */
function toGatewayHeaders(res: Internals, headers: OutgoingHeaders): Headers {
  const out: Headers = [];
  if (headers == null) return out;
  if (headers === res[kOutHeaders]) {
    const map = headers as Record<string, [string, unknown]>;
    for (const key in map) pushValue(out, key, map[key]![1]);
  } else if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) {
      for (const pair of headers as Array<[string, unknown]>) pushValue(out, String(pair[0]).toLowerCase(), pair[1]);
    } else {
      for (let i = 0; i + 1 < headers.length; i += 2) pushValue(out, String(headers[i]).toLowerCase(), headers[i + 1]);
    }
  } else {
    for (const key in headers) pushValue(out, key.toLowerCase(), (headers as Record<string, unknown>)[key]);
  }
  return out;
}

/** True when the headers handed to _storeHeader include `Trailer` (`out` is their gateway form). */
function declaresTrailer(res: Internals, headers: OutgoingHeaders, out: Headers): boolean {
  if (headers === res[kOutHeaders]) return (headers as Record<string, unknown>)['trailer'] !== undefined;
  for (let i = 0; i < out.length; i++) if (out[i]![0] === 'trailer') return true;
  return false;
}

/** addTrailers()' serialized lines → gateway pairs (names lower-cased, repeated names kept). */
function trailerPairs(serialized: string): Headers {
  const out: Headers = [];
  for (const line of serialized.split('\r\n')) {
    if (line === '') continue;
    // Node wrote `field + ': ' + value`, and a field is a token, so the first ': ' splits them.
    const colon = line.indexOf(': ');
    out.push([line.slice(0, colon).toLowerCase(), line.slice(colon + 2)]);
  }
  return out;
}

/**
 * Would node's socket-backed response carry trailers? Asks node itself: its _storeHeader picks
 * chunked framing (or throws ERR_HTTP_TRAILER_INVALID, e.g. with a content-length, for HEAD/204/304
 * or an HTTP/1.0 client), and node writes `_trailer` only after a chunked body.
 */
function nodeSendsTrailers(res: Internals, firstLine: string, headers: OutgoingHeaders): boolean {
  nodeStoreHeader.call(res, firstLine, headers);
  const chunked = res.chunkedEncoding && res._hasBody;
  // Framing is the host's job; left on, node would chunk-encode the bytes handed to _send.
  res.chunkedEncoding = false;
  return chunked;
}

function runCallbacks(callbacks: Callback[]): void {
  for (const cb of callbacks) cb();
}

// EventEmitter's own listener table, read once: Express swaps the request's prototype, so every
// method call on it is a slow lookup, and this runs for every response.
type Listeners = { end?: unknown; close?: unknown; data?: unknown; readable?: unknown };

function listensForEnd(req: IncomingMessage): boolean {
  const events = (req as unknown as { _events: Listeners })._events;
  return (
    events.end !== undefined || events.close !== undefined || events.data !== undefined || events.readable !== undefined
  );
}

/** 'finish' (among `callbacks`), then node's end-of-response steps. */
function finishNow(res: Internals, callbacks: Callback[] | undefined): void {
  if (callbacks !== undefined) runCallbacks(callbacks);
  finishResponse(res);
}

type DumpableRequest = IncomingMessage & {
  _consuming: boolean;
  _readableState: { resumeScheduled: boolean };
  _dump(): void;
};

// After a normal end node discards a request body nobody read (so the request ends and closes),
// detaches the socket (a keep-alive connection moves on) and closes `res`.
function finishResponse(res: Internals): void {
  const req = res.req as DumpableRequest;
  // Only when someone could tell: the stream machinery of a dump is a large share of a small
  // request's cost, and a body left unread here is the host's to discard, not ours.
  if (!req._consuming && !req._readableState.resumeScheduled && listensForEnd(req)) req._dump();
  const socket = res.socket as unknown as GatewaySocket | null;
  if (socket !== null && socket.response === res) {
    // detachSocket(), without the listener it would remove (createServerResponse adds none).
    socket.response = null;
    (res as { socket: unknown }).socket = null;
  }
  closeResponse(res);
}

/**
 * Per-response state between node's ServerResponse and the gateway `send`. Every `write()` leaves at
 * once as one `http.response.body`; only the bytes `end(chunk)` hands over are kept until node has
 * finished its end() call, so the common `res.end(body)` goes out as one message with
 * `moreBody: false` (one write with a content-length). `flushHeaders()` sends
 * `http.response.start` (and an empty body chunk, so every host sends the head now). Keeps
 * messages in order and turns pending sends into node's write() → false / 'drain' backpressure.
 */
export class ResponseBridge {
  private status = 200;
  private headers: Headers = [];
  private trailers = false;
  private started = false;
  private ended = false;
  private failed = false;
  /** True when the response failed because the handler destroyed it or its socket (see {@link fail}). */
  reset = false;
  /** True while node's end() runs: what it writes is the last of the body. */
  ending = false;
  // What end() wrote: one chunk in `held` (the usual case, no array), more in `heldMore`.
  private held: Buffer | undefined;
  private heldMore: Buffer[] | undefined;
  private heldCallbacks: Callback[] | undefined;
  /** The last send that has not settled yet (only when the host asked to wait). */
  private tail: Promise<void> | undefined;
  private inflight = 0;
  private needDrain = false;
  /** How the response ended, once it has: `null` when fully handed over, else why it could not be. */
  private outcome: { error: unknown } | null | undefined = undefined;
  /** {@link done}, made on first use: most responses end before anyone asks, and then it is {@link SENT}. */
  private donePromise: Promise<void> | undefined = undefined;
  private resolveDone: (() => void) | undefined = undefined;
  private rejectDone: ((error: unknown) => void) | undefined = undefined;

  constructor(
    private readonly res: Internals,
    private readonly send: Send,
  ) {}

  /**
   * Settles when the response is fully handed to the gateway (or rejects with why it could not be).
   * A response that ended within the handler's own call (the usual `res.send()`) gives the settled
   * {@link SENT}, so the host goes on in the same tick instead of waiting a promise turn.
   */
  get done(): Promise<void> {
    let promise = this.donePromise;
    if (promise === undefined) {
      const outcome = this.outcome;
      if (outcome === null) promise = SENT;
      else if (outcome !== undefined) promise = Promise.reject(outcome.error);
      else {
        promise = new Promise<void>((resolve, reject) => {
          this.resolveDone = resolve;
          this.rejectDone = reject;
        });
      }
      this.donePromise = promise;
    }
    return promise;
  }

  /** Records how the response ended (the first call counts, as a promise settles once) and tells {@link done}. */
  private settle(error?: unknown): void {
    if (this.outcome !== undefined) return;
    this.outcome = error === undefined ? null : { error };
    if (error === undefined) this.resolveDone?.();
    else this.rejectDone?.(error);
    this.resolveDone = undefined;
    this.rejectDone = undefined;
  }

  /** True once end() was called or the response failed. */
  get closed(): boolean {
    return this.ended || this.failed;
  }

  /** True once the response failed (destroyed, refused by the gateway, or the handler threw). */
  get broken(): boolean {
    return this.failed;
  }

  /** True once `http.response.start` was sent. */
  get headSent(): boolean {
    return this.started;
  }

  /** The headers are final; `firstLine` is node's status line (only needed to check trailers). */
  head(status: number, firstLine: string, headers: OutgoingHeaders): void {
    const out = toGatewayHeaders(this.res, headers);
    // Responses without a Trailer header pay only for declaresTrailer's lookup.
    if (declaresTrailer(this.res, headers, out)) this.trailers = nodeSendsTrailers(this.res, firstLine, headers);
    this.status = status;
    this.headers = out;
  }

  write(chunk: Buffer, callback: Callback | null | undefined): boolean {
    if (this.failed) return false;
    if (this.ending) {
      if (chunk.length > 0) {
        if (this.held === undefined) this.held = chunk;
        else (this.heldMore ??= []).push(chunk);
      }
      if (callback) (this.heldCallbacks ??= []).push(callback);
      return true;
    }
    if (!this.started) {
      this.start();
      // flushHeaders(): an empty chunk tells every host (and a legacy worker) to send the head now.
      if (chunk.length === 0) this.enqueue({ type: 'http.response.body', body: EMPTY, moreBody: true }, 0, undefined);
    }
    if (chunk.length === 0) {
      if (callback) this.later(callback);
      return !this.needDrain;
    }
    this.enqueue(
      { type: 'http.response.body', body: chunk, moreBody: true },
      chunk.length,
      callback ? [callback] : undefined,
    );
    if (this.inflight >= HIGH_WATER_MARK) {
      this.needDrain = true;
      return false;
    }
    return true;
  }

  /** end() has run: what it wrote is in `held`. */
  end(): void {
    this.ending = false;
    if (this.ended || this.failed) return;
    this.ended = true;
    let last = this.held ?? EMPTY;
    const more = this.heldMore;
    const callbacks = this.heldCallbacks;
    this.held = undefined;
    this.heldMore = undefined;
    this.heldCallbacks = undefined;
    if (!this.started) {
      this.start();
      // The handler removed content-length (Koa for 205), so node would frame the body without one:
      // an unsized first message keeps the host from adding one.
      if (more === undefined && (this.res as unknown as { _removedContLen?: boolean })._removedContLen === true) {
        this.enqueue({ type: 'http.response.body', body: EMPTY, moreBody: true }, 0, undefined);
      }
    }
    if (more !== undefined) {
      this.enqueue({ type: 'http.response.body', body: last, moreBody: true }, last.length, undefined);
      for (let i = 0; i < more.length - 1; i++)
        this.enqueue({ type: 'http.response.body', body: more[i]!, moreBody: true }, more[i]!.length, undefined);
      last = more[more.length - 1]!;
    }
    // The last message's callbacks (node's 'finish' among them) run in finished(), just before
    // `res` closes: one tick for both.
    this.enqueue({ type: 'http.response.body', body: last, moreBody: false }, last.length, undefined);
    // 'finish' waits for the trailers: they end the response.
    if (this.trailers)
      this.enqueue(
        { type: 'http.response.trailers', headers: trailerPairs(this.res._trailer), moreTrailers: false },
        0,
        undefined,
      );
    if (this.failed) return;
    if (this.tail === undefined) {
      this.settle();
      process.nextTick(finishNow, this.res, callbacks);
    } else {
      this.tail.then(() => this.finished(callbacks));
    }
  }

  private finished(callbacks: Callback[] | undefined): void {
    if (this.failed) return;
    this.settle();
    finishNow(this.res, callbacks);
  }

  /**
   * The response cannot complete: the gateway refused a message (client gone), the handler
   * destroyed the response or its socket, or it threw. With `reset`, a response that has not
   * started yet starts now, so the host cuts the connection (an app failing after start is
   * aborted) rather than answering 500: what a destroyed socket does on node:http.
   */
  fail(error: unknown, reset = false): void {
    if (this.failed) return;
    // Cleanup code (on-finished, Koa) destroys responses and sockets that already ended: not a failure.
    if (reset && this.ended) return;
    this.failed = true;
    this.reset = reset;
    this.held = undefined;
    this.heldMore = undefined;
    this.heldCallbacks = undefined;
    if (reset && !this.started && this.tail === undefined) {
      this.started = true;
      this.send({ type: 'http.response.start', status: this.status, headers: [] }).then(undefined, noop);
    }
    const res = this.res;
    // Destroys the socket too, whose close then aborts the request and closes `res`.
    if (!res.destroyed) OutgoingMessage.prototype.destroy.call(res);
    else if (res.socket === null) process.nextTick(closeResponse, res);
    this.settle(
      error ??
        new AlbanyError(ErrorCodes.ERR_ALBANY_HANDLER, 'the node handler destroyed the response before it ended'),
    );
  }

  /** Runs `callback` after everything sent so far has been taken. */
  private later(callback: Callback): void {
    if (this.tail !== undefined) this.tail.then(() => callback());
    else process.nextTick(callback);
  }

  private start(): void {
    this.started = true;
    const start: SendMessage = this.trailers
      ? { type: 'http.response.start', status: this.status, headers: this.headers, trailers: true }
      : { type: 'http.response.start', status: this.status, headers: this.headers };
    // A custom reason phrase (`res.statusMessage = 'ok'`, `writeHead(200, 'ok')`) rides along as the gateway's
    // `reason`.
    if (this.res.statusMessage !== (STATUS_CODES[this.status] ?? 'unknown'))
      (start as { reason?: string }).reason = this.res.statusMessage;
    this.enqueue(start, 0, undefined);
  }

  private enqueue(message: SendMessage, size: number, callbacks: Callback[] | undefined): void {
    if (this.tail === undefined) {
      // Nothing in flight: send now, and when the host took it at once (SENT), go on in this tick.
      let sent: Promise<void>;
      try {
        sent = this.send(message);
      } catch (error) {
        sent = Promise.reject(error);
      }
      if (sent === SENT) {
        if (callbacks !== undefined) process.nextTick(runCallbacks, callbacks);
        return;
      }
      this.track(sent, size, callbacks);
      return;
    }
    const run = () => (this.failed ? undefined : this.send(message));
    this.track(this.tail.then(run), size, callbacks);
  }

  private track(sent: Promise<void>, size: number, callbacks: Callback[] | undefined): void {
    this.inflight += size;
    const tail: Promise<void> = sent.then(
      () => {
        this.inflight -= size;
        if (this.tail === tail) this.tail = undefined;
        if (callbacks !== undefined) runCallbacks(callbacks);
        if (this.needDrain && this.inflight < HIGH_WATER_MARK && !this.failed) {
          this.needDrain = false;
          this.res[kNeedDrain] = false;
          this.res.emit('drain');
        }
      },
      (error: unknown) => {
        if (this.tail === tail) this.tail = undefined;
        this.fail(error);
      },
    );
    this.tail = tail;
  }
}

function noop(): void {}

// The overrides below are installed as own properties of each response: Express swaps the
// prototype of `res` for its own (which inherits ServerResponse), and own properties survive that.

function storeHeader(this: Internals, firstLine: string, headers: OutgoingHeaders): void {
  // First, so that a response node refuses (Trailer with content-length) throws before it counts as sent.
  const bridge = this[kBridge];
  bridge.head(this.statusCode, firstLine, headers);
  // A non-empty _header makes headersSent true; _headerSent stops node prepending it to the body.
  this._header = firstLine;
  // Once the response is broken nothing is "sent": node's end() then hands its 'finish' callback
  // to _send, which drops it, as a destroyed socket does on node:http (no 'finish' after destroy).
  this._headerSent = !bridge.broken;
}

function sendData(
  this: Internals,
  data: string | Uint8Array,
  encoding: BufferEncoding | Callback | null,
  callback?: Callback | null,
): boolean {
  if (typeof encoding === 'function') {
    callback = encoding;
    encoding = null;
  }
  const chunk =
    typeof data === 'string'
      ? data.length === 0
        ? EMPTY
        : Buffer.from(data, encoding ?? 'utf8')
      : Buffer.isBuffer(data)
        ? data
        : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return this[kBridge].write(chunk, callback);
}

// Interim responses (100-continue, 103) have no gateway message; the host handles 100-continue.
function writeRaw(this: Internals, _data: unknown, encoding: unknown, callback?: Callback): boolean {
  const cb = typeof encoding === 'function' ? (encoding as Callback) : callback;
  if (cb) process.nextTick(cb);
  return true;
}

function endResponse(this: Internals, chunk?: unknown, encoding?: unknown, callback?: unknown): Internals {
  const bridge = this[kBridge];
  // What node's end() writes is the last of the body: it is kept until end() returns.
  bridge.ending = !this.finished;
  if (bridge.broken) this._headerSent = false;
  try {
    ServerResponse.prototype.end.call(this, chunk as never, encoding as never, callback as never);
  } finally {
    if (this.finished) bridge.end();
    else bridge.ending = false;
  }
  return this;
}

/**
 * Builds the ServerResponse for `req` whose output goes to `send`; `bridge.done` settles with it. With
 * `prototype` (see node-prototypes.ts) the response inherits from it from the start.
 */
export function createServerResponse(
  req: IncomingMessage,
  send: Send,
  socket: GatewaySocket,
  prototype?: object,
): { res: GatewayServerResponse; bridge: ResponseBridge } {
  const res = (
    prototype === undefined ? new ServerResponse(req) : constructWith(ServerResponse, prototype, req)
  ) as Internals;
  const bridge = new ResponseBridge(res, send);
  res[kBridge] = bridge;
  res._storeHeader = storeHeader;
  res._send = sendData;
  res._writeRaw = writeRaw;
  res.end = endResponse as never;
  // What assignSocket() does, minus its 'socket' event (nobody can listen yet) and its 'close'
  // listener: the socket closes `res` itself (see GatewaySocket). node's destroy() destroys the
  // socket, whose owner then fails the bridge.
  socket.response = res;
  (res as { socket: unknown }).socket = socket;
  return { res, bridge };
}

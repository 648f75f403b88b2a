// Writes a fetch Response as gateway messages: light responses without touching undici, real ones
// through their body stream with backpressure (each send() awaited before the next read).
import { AlbanyError, ErrorCodes } from '../errors.js';
import type { Headers as GatewayHeaders, HttpResponseStartMessage, Send, SendMessage } from '../gateway/types.js';
import { SENT } from '../gateway/messages.js';
import type { ReadableStreamReadResult } from 'node:stream/web';
import { hasHeader, lowerHeaderName } from '../gateway/helpers.js';
import { lightState, TEXT_PLAIN, type HeadersInit } from './light-response.js';

const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();

/**
 * A string body as bytes. Short ASCII text (the usual `c.text('…')`) is copied in a loop, which
 * skips the C++ call Buffer.from makes; anything longer or non-ASCII takes Buffer.from.
 */
function encodeText(text: string): Uint8Array {
  const n = text.length;
  if (n > 64) return Buffer.from(text);
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) return Buffer.from(text);
    out[i] = c;
  }
  return out;
}

/**
 * Calls `add` with each header of a Response's init (a Headers, `[name, value]` pairs or a record,
 * array values repeated), names lower-cased and values as strings, in order. A Headers from
 * another realm or library (undici's own copy, a ponyfill) is recognised by being iterable, not
 * by `instanceof`, which only knows this realm's class.
 */
export function eachInitHeader(init: HeadersInit | undefined, add: (name: string, value: string) => void): void {
  if (init === undefined || init === null) return;
  if (init instanceof Headers) {
    for (const [name, value] of init) add(name, value);
  } else if (Array.isArray(init) || typeof (init as unknown as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const [name, value] of init as unknown as Iterable<[string, string]>)
      add(lowerHeaderName(name), String(value));
  } else {
    for (const name in init) {
      const value = (init as Record<string, string | string[]>)[name];
      const lower = lowerHeaderName(name);
      if (Array.isArray(value)) for (const v of value) add(lower, String(v));
      else if (value !== undefined) add(lower, String(value));
    }
  }
}

/**
 * What albany needs of a Response: a status, headers it can iterate, and a body as a stream or
 * behind `arrayBuffer()`. Every fetch Response has these, whichever realm or library made it
 * (this realm's, undici's own copy, @hono/node-server's light one, a @whatwg-node ponyfill).
 */
export interface ResponseLike {
  readonly status: number;
  readonly statusText?: string;
  readonly headers: HeadersLike;
  readonly body?: { getReader(): ReadableStreamDefaultReader<unknown> } | null;
  arrayBuffer?(): Promise<ArrayBuffer>;
}

/** Headers as any fetch implementation has them: iterable pairs, or at least `forEach`. */
export type HeadersLike = Iterable<[string, string]> | { forEach(fn: (value: string, name: string) => void): void };

/**
 * True when `value` behaves as a Response: a numeric status, iterable (or forEach-able) headers and
 * a body (a stream, null) or `arrayBuffer()`. No `instanceof`: a Response from another realm or
 * library is as good as this realm's.
 */
export function isResponseLike(value: unknown): value is ResponseLike {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { status?: unknown; headers?: unknown; body?: unknown; arrayBuffer?: unknown };
  if (typeof v.status !== 'number') return false;
  const h = v.headers as { forEach?: unknown; [Symbol.iterator]?: unknown } | null | undefined;
  if (
    typeof h !== 'object' ||
    h === null ||
    (typeof h[Symbol.iterator] !== 'function' && typeof h.forEach !== 'function')
  )
    return false;
  const body = v.body as { getReader?: unknown } | null | undefined;
  return (
    body === null ||
    (typeof body === 'object' && typeof body.getReader === 'function') ||
    typeof v.arrayBuffer === 'function'
  );
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' ? `an object (${name})` : 'an object';
}

/** Sends whatever a fetch handler answered, after checking it behaves as a Response at all. */
export function checkedSend(response: unknown, send: Send): Promise<void> {
  if (lightState(response) === undefined && !isResponseLike(response)) {
    return Promise.reject(
      new AlbanyError(
        ErrorCodes.ERR_ALBANY_INTERFACE,
        `the fetch handler returned ${describe(response)}, not a Response (expected a numeric status, ` +
          `iterable headers, and a body stream, null or arrayBuffer())`,
      ),
    );
  }
  return sendResponse(response as Response, send);
}

function toBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === 'string') return encoder.encode(chunk);
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new AlbanyError(
    ErrorCodes.ERR_ALBANY_INTERFACE,
    `the fetch handler's response body stream yielded ${describe(chunk)}; expected Uint8Array chunks (a ` +
      `string or ArrayBuffer is accepted too)`,
  );
}

// A read that has already settled (queued data, or end of stream) wins this race; a read still
// waiting on the producer loses, so a streaming response is never held back waiting to see its end.
const notYet = Symbol('notYet');
function settledNow<T>(read: Promise<T>): Promise<T | typeof notYet> {
  return Promise.race([read, Promise.resolve().then(() => Promise.resolve(notYet))]);
}

/**
 * Streams `stream` as body messages. The last chunk is sent with `moreBody: false` when the end
 * is already known, so a one-chunk stream still goes out as one sized write.
 */
export async function sendStream(stream: ReadableStream<unknown>, send: Send): Promise<void> {
  const reader = stream.getReader();
  try {
    let held: Uint8Array | undefined;
    let pending: Promise<ReadableStreamReadResult<unknown>> | undefined;
    for (;;) {
      const read = pending ?? reader.read();
      pending = undefined;
      let result: ReadableStreamReadResult<unknown> | typeof notYet =
        held === undefined ? await read : await settledNow(read);
      if (result === notYet) {
        await send({ type: 'http.response.body', body: held!, moreBody: true });
        held = undefined;
        result = await read;
      }
      if (result.done) {
        await send({ type: 'http.response.body', body: held ?? EMPTY, moreBody: false });
        return;
      }
      const bytes = toBytes(result.value);
      if (held !== undefined) await send({ type: 'http.response.body', body: held, moreBody: true });
      held = bytes;
    }
  } catch (error) {
    reader.cancel(error).catch(() => {});
    throw error;
  }
}

/** Sends `second` once `first` settled: at once when `first` is the already-settled {@link SENT}. */
function thenSend(first: Promise<void>, send: Send, second: SendMessage): Promise<void> {
  return first === SENT ? send(second) : first.then(() => send(second));
}

/**
 * Sends `res` as `http.response.start` + body messages; resolves when the last one was taken. A
 * light response with a string or bytes body is sent without an async function or an await, so on
 * albany's own hosts a synchronous handler's answer completes in the tick it was made.
 */
export function sendResponse(res: Response | ResponseLike, send: Send): Promise<void> {
  const light = lightState(res);
  if (light === undefined) return sendNative(res as ResponseLike, send);
  const headers: GatewayHeaders = [];
  eachInitHeader(light.headers, (name, value) => headers.push([name, value]));
  const body = light.body;
  if (typeof body === 'string' && !hasHeader(headers, 'content-type')) headers.push(['content-type', TEXT_PLAIN]);
  const started = send({ type: 'http.response.start', status: light.status, headers });
  if (body === null) return thenSend(started, send, { type: 'http.response.body', body: EMPTY, moreBody: false });
  if (typeof body === 'string')
    return thenSend(started, send, { type: 'http.response.body', body: encodeText(body), moreBody: false });
  if (body instanceof Uint8Array) return thenSend(started, send, { type: 'http.response.body', body, moreBody: false });
  return started.then(() => sendStream(body, send));
}

/** A Response's headers as a gateway list, whatever implementation holds them. */
function headerList(source: HeadersLike): GatewayHeaders {
  const headers: GatewayHeaders = [];
  if (typeof (source as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const [name, value] of source as Iterable<[string, string]>) headers.push([lowerHeaderName(name), value]);
  } else {
    (source as { forEach(fn: (value: string, name: string) => void): void }).forEach((value, name) => {
      headers.push([lowerHeaderName(name), value]);
    });
  }
  return headers;
}

// Any Response that is not albany's light one: this realm's, or one that only behaves as a
// Response (another realm, undici's own copy, a ponyfill). Its statusText becomes the reason
// phrase: a proxied upstream's own phrase reaches the client.
async function sendNative(res: ResponseLike, send: Send): Promise<void> {
  // The body first: a lazy Response (@hono/node-server's) builds its real one on that read, and
  // only that one's headers hold the default content-type of a text body.
  const body = res.body;
  const start: HttpResponseStartMessage = {
    type: 'http.response.start',
    status: res.status,
    headers: headerList(res.headers),
  };
  const reason = res.statusText;
  if (typeof reason === 'string' && reason !== '') start.reason = reason;
  await send(start);
  if (body === null) await send({ type: 'http.response.body', body: EMPTY, moreBody: false });
  else if (body !== undefined && typeof body.getReader === 'function')
    await sendStream(body as ReadableStream<unknown>, send);
  else await send({ type: 'http.response.body', body: new Uint8Array(await res.arrayBuffer!()), moreBody: false });
}

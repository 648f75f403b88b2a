// Writes a fetch Response as gateway messages: light responses without touching undici, real ones
// through their body stream with backpressure (each send() awaited before the next read).
import { AlbanyError, ErrorCodes } from '../errors.js';
import type { Headers as GatewayHeaders, Send, SendMessage } from '../gateway/types.js';
import { SENT } from '../server/cycle.js';
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
 * array values repeated), names lower-cased and values as strings, in order.
 */
export function eachInitHeader(init: HeadersInit | undefined, add: (name: string, value: string) => void): void {
  if (init === undefined || init === null) return;
  if (init instanceof Headers) {
    for (const [name, value] of init) add(name, value);
  } else if (Array.isArray(init)) {
    for (const [name, value] of init as Array<[string, string]>) add(lowerHeaderName(name), String(value));
  } else {
    for (const name in init) {
      const value = (init as Record<string, string | string[]>)[name];
      const lower = lowerHeaderName(name);
      if (Array.isArray(value)) for (const v of value) add(lower, String(v));
      else if (value !== undefined) add(lower, String(value));
    }
  }
}

/** Sends whatever a fetch handler answered, after checking it is a Response at all. */
export function checkedSend(response: unknown, send: Send): Promise<void> {
  if (lightState(response) === undefined && !(response instanceof Response)) {
    return Promise.reject(new AlbanyError(ErrorCodes.ERR_ALBANY_INTERFACE, `the fetch handler returned ${response === null ? 'null' : typeof response}, not a Response`));
  }
  return sendResponse(response as Response, send);
}

function toBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === 'string') return encoder.encode(chunk);
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TypeError(`response body stream yielded ${typeof chunk}; expected Uint8Array chunks`);
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
      let result: ReadableStreamReadResult<unknown> | typeof notYet = held === undefined ? await read : await settledNow(read);
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
export function sendResponse(res: Response, send: Send): Promise<void> {
  const light = lightState(res);
  if (light === undefined) return sendNative(res, send);
  const headers: GatewayHeaders = [];
  eachInitHeader(light.headers, (name, value) => headers.push([name, value]));
  const body = light.body;
  if (typeof body === 'string' && !hasHeader(headers, 'content-type')) headers.push(['content-type', TEXT_PLAIN]);
  const started = send({ type: 'http.response.start', status: light.status, headers });
  if (body === null) return thenSend(started, send, { type: 'http.response.body', body: EMPTY, moreBody: false });
  if (typeof body === 'string') return thenSend(started, send, { type: 'http.response.body', body: encodeText(body), moreBody: false });
  if (body instanceof Uint8Array) return thenSend(started, send, { type: 'http.response.body', body, moreBody: false });
  return started.then(() => sendStream(body, send));
}

async function sendNative(res: Response, send: Send): Promise<void> {
  const headers: GatewayHeaders = [];
  for (const [name, value] of res.headers) headers.push([name, value]);
  await send({ type: 'http.response.start', status: res.status, headers });
  const body = res.body;
  if (body === null) await send({ type: 'http.response.body', body: EMPTY, moreBody: false });
  else await sendStream(body, send);
}

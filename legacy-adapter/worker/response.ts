// Turns what a legacy handler produces (startResponse + iterable, or writes) into response messages,
// sending each chunk as it is produced and keeping the last one for the task's return value.
import { STATUS_CODES } from 'node:http';
import type { Headers } from '../../src/gateway/types.js';
import { albanyError } from '../../src/errors.js';
import { badReasonChar, describeBadReason } from '../../src/gateway/validate.js';
import type { WorkerLink } from './link.js';

/** Status and headers of a response; `reason` only when the handler chose its own phrase. */
export interface ResponseHead {
  status: number;
  headers: Headers;
  reason?: string;
}

/** What a header collection may look like when a handler hands it over. */
export type HeaderInput = Iterable<readonly [string, unknown]> | Record<string, unknown> | undefined | null;

const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();

// The last text encoded and its bytes: a handler that answers with the same text every time (a
// literal, a constant page) does not pay for a new ArrayBuffer and an encode per request (~1.3k
// instructions for 'hello' under callgrind). Sharing the bytes is safe: they never reach handler
// code, and whatever takes them copies them (a result record, a port message's structured clone).
// Bounded, so a large body is not kept alive by the thread.
const TEXT_CACHE_MAX = 4096;
let lastText: string | undefined;
let lastBytes: Uint8Array = new Uint8Array(0);

/** A body chunk as handlers give it: text is sent as UTF-8. */
export function toBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === 'string') {
    if (chunk === lastText) return lastBytes;
    const bytes = encoder.encode(chunk);
    if (chunk.length <= TEXT_CACHE_MAX) {
      lastText = chunk;
      lastBytes = bytes;
    }
    return bytes;
  }
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  throw albanyError('ERR_ALBANY_HANDLER', `a response chunk must be a string or Uint8Array, got ${typeof chunk}`);
}

/** Headers as a gateway list: lower-case names, string values, arrays expanded to repeated headers. */
export function normalizeHeaders(input: HeaderInput): Headers {
  if (input === undefined || input === null) return [];
  if (Array.isArray(input)) return normalizeHeaderList(input as unknown[]);
  const entries =
    Symbol.iterator in input
      ? (input as Iterable<readonly [string, unknown]>)
      : Object.entries(input as Record<string, unknown>);
  const out: Headers = [];
  for (const [name, value] of entries) {
    if (value === undefined) continue;
    const lower = lowerName(name);
    if (Array.isArray(value)) for (const v of value) out.push([lower, String(v)]);
    else out.push([lower, String(value)]);
  }
  return out;
}

// The common input, an array of [name, value] pairs, by index: the generic loop's iterator
// protocol, destructuring and String() calls cost about as much again as the rest of a trivial
// handler's head. An entry that is not an array (any other iterable pair) is destructured as before.
function normalizeHeaderList(input: unknown[]): Headers {
  const out: Headers = [];
  for (let i = 0; i < input.length; i++) {
    const entry = input[i];
    let name: unknown;
    let value: unknown;
    if (Array.isArray(entry)) {
      name = entry[0];
      value = entry[1];
    } else {
      [name, value] = entry as Iterable<unknown>;
    }
    if (value === undefined) continue;
    const lower = lowerName(name);
    if (typeof value === 'string') out.push([lower, value]);
    else if (Array.isArray(value)) for (const v of value) out.push([lower, String(v)]);
    else out.push([lower, String(value)]);
  }
  return out;
}

// Response header names repeat from request to request: remember their lower-case spelling (bounded).
const lowerNames = new Map<unknown, string>();
function lowerName(name: unknown): string {
  let lower = lowerNames.get(name);
  if (lower === undefined) {
    lower = String(name).toLowerCase();
    if (typeof name === 'string' && lowerNames.size < 1000) lowerNames.set(name, lower);
  }
  return lower;
}

/** Accepts `"200 OK"`, `"404"` or `404`. */
export function parseStatus(status: unknown): number {
  const code = typeof status === 'number' ? status : Number.parseInt(String(status), 10);
  if (!Number.isInteger(code) || code < 100 || code > 999) {
    throw albanyError(
      'ERR_ALBANY_HANDLER',
      `startResponse / status must start with a 3-digit code, got ${JSON.stringify(status)}`,
    );
  }
  return code;
}

/**
 * A WSGI status (`"299 Custom Thing"`, `"404"`, `404`) as a code and the reason phrase to send:
 * the text after the code and one space, or undefined when there is none or it is the standard
 * phrase (nothing to carry). A phrase with CR, LF, NUL or a character past latin1 is refused here,
 * at startResponse, where the handler's stack shows who sent it.
 */
export function parseStatusLine(status: unknown): { status: number; reason: string | undefined } {
  // The same status line as last time (nearly every response is "200 OK"): parsed once. The
  // result is only read by its callers.
  if (status === lastStatus && lastLine !== undefined) return lastLine;
  const line = parseNewStatusLine(status);
  if (typeof status === 'string' && status.length <= 256) {
    lastStatus = status;
    lastLine = line;
  }
  return line;
}

let lastStatus: string | undefined;
let lastLine: { status: number; reason: string | undefined } | undefined;

function parseNewStatusLine(status: unknown): { status: number; reason: string | undefined } {
  const code = parseStatus(status);
  if (typeof status !== 'string') return { status: code, reason: undefined };
  const space = status.indexOf(' ');
  if (space === -1) return { status: code, reason: undefined };
  const reason = status.slice(space + 1);
  if (reason === STATUS_CODES[code]) return { status: code, reason: undefined };
  const bad = badReasonChar(reason);
  if (bad !== -1)
    throw albanyError('ERR_ALBANY_HANDLER', `startResponse: the status ${describeBadReason(reason, bad)}`);
  return { status: code, reason };
}

/**
 * One response on its way out of the worker. Headers leave with the first non-empty body chunk
 * (WSGI's rule); every chunk is posted when written; {@link end} returns what is left for the task result.
 */
export class ResponseOutput {
  private head: ResponseHead | undefined;
  private headPosted = false;
  /** True once a body byte left the worker (headers can no longer change). */
  bodyStarted = false;

  constructor(private readonly link: WorkerLink) {}

  /** True once status and headers were set. */
  get hasHead(): boolean {
    return this.head !== undefined;
  }

  /** Sets (or, before any body byte, replaces) status and headers. */
  setHead(head: ResponseHead): void {
    this.head = head;
  }

  /** Posts a chunk now. Empty chunks are skipped (they must not commit the headers). */
  write(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    this.postHead();
    this.bodyStarted = true;
    this.link.postBody(chunk, true);
  }

  /** Ends the response: returns the head (if not posted yet) and the last chunk for the task result. */
  end(last: Uint8Array = EMPTY): { start: ResponseHead | undefined; body: Uint8Array } {
    if (this.head === undefined)
      throw albanyError(
        'ERR_ALBANY_HANDLER',
        'the handler finished without a status (startResponse / writeHead was never called)',
      );
    this.bodyStarted = true;
    const start = this.headPosted ? undefined : this.head;
    this.headPosted = true;
    return { start, body: last };
  }

  private postHead(): void {
    if (this.headPosted) return;
    if (this.head === undefined)
      throw albanyError('ERR_ALBANY_HANDLER', 'body written before startResponse / writeHead');
    this.headPosted = true;
    const head = this.head;
    this.link.post(
      head.reason === undefined
        ? { type: 'legacy.start', id: this.link.id, status: head.status, headers: head.headers }
        : { type: 'legacy.start', id: this.link.id, status: head.status, headers: head.headers, reason: head.reason },
    );
  }
}

/** WSGI's `start_response(status, headers, exc_info?)`, returning the `write()` callable. */
export type StartResponse = (
  status: string | number,
  headers: HeaderInput,
  excInfo?: unknown,
) => (data: unknown) => void;

/**
 * Builds `startResponse` with WSGI's rules: a second call is allowed only with `excInfo`, and only
 * before the first body byte (after it, the error in `excInfo` is re-raised).
 */
export function createStartResponse(output: ResponseOutput): StartResponse {
  const write = (data: unknown): void => output.write(toBytes(data));
  return (status, headers, excInfo) => {
    if (excInfo !== undefined && excInfo !== null) {
      if (output.bodyStarted) throw excInfoError(excInfo);
    } else if (output.hasHead) {
      throw albanyError('ERR_ALBANY_HANDLER', 'startResponse called a second time without excInfo');
    }
    const line = parseStatusLine(status);
    output.setHead(
      line.reason === undefined
        ? { status: line.status, headers: normalizeHeaders(headers) }
        : { status: line.status, headers: normalizeHeaders(headers), reason: line.reason },
    );
    return write;
  };
}

/** A WSGI handler: `(environ, startResponse) => iterable of chunks`. */
export type WsgiHandler = (environ: Record<string, unknown>, startResponse: StartResponse) => unknown;

/**
 * Runs a WSGI handler to the end. Arrays keep their last chunk for the task result (one hop for the
 * common `return [body]`); other iterables are posted chunk by chunk. `close()` on the result is
 * always called, also when the client went away or the handler threw.
 */
export function runWsgi(
  handler: WsgiHandler,
  environ: Record<string, unknown>,
  output: ResponseOutput,
): { start: ResponseHead | undefined; body: Uint8Array } {
  const result = handler(environ, createStartResponse(output));
  try {
    if (typeof result === 'string' || result instanceof Uint8Array) return output.end(toBytes(result));
    if (Array.isArray(result)) {
      for (let i = 0; i < result.length - 1; i++) output.write(toBytes(result[i]));
      return output.end(result.length === 0 ? EMPTY : toBytes(result[result.length - 1]));
    }
    if (result === null || typeof result !== 'object' || !(Symbol.iterator in result)) {
      throw albanyError(
        'ERR_ALBANY_HANDLER',
        `a WSGI handler must return an iterable of chunks, got ${result === null ? 'null' : typeof result}`,
      );
    }
    for (const chunk of result as Iterable<unknown>) output.write(toBytes(chunk));
    return output.end();
  } finally {
    const close = (result as { close?: unknown } | null)?.close;
    if (typeof close === 'function') close.call(result);
  }
}

// Python passes (type, value, traceback); JS handlers pass the error itself or that triple.
function excInfoError(excInfo: unknown): unknown {
  return Array.isArray(excInfo) ? (excInfo[1] ?? excInfo[0]) : excInfo;
}

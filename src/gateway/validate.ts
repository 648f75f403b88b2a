// Checks what an app sends before a server acts on it, so a broken message never reaches the wire.
import { AlbanyError, ErrorCodes } from '../errors.js';
import type { Headers } from './types.js';

// RFC 9110 token characters: what a header name may be made of. A table and a loop rather than a
// regular expression: these run for every response header, and a regex call costs more than the
// scan of a short name.
const TOKEN_CHARS = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
  TOKEN_CHARS[c.charCodeAt(0)] = 1;

function tokenOk(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c > 127 || TOKEN_CHARS[c] === 0) return false;
  }
  return true;
}

// Field values may hold tab, space, visible ASCII and obs-text (0x80-0xFF), as RFC 9110 and node:http
// allow; CR, LF and NUL would split or end the message, other controls and characters past 0xFF are
// refused as node's writeHead refuses them. The index of the first character that is not allowed,
// or -1.
function badValueChar(value: string): number {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 32 ? c !== 9 : c === 127 || c > 255) return i;
  }
  return -1;
}

// Strings already found valid, one per length class (direct-mapped on length & 31). Most apps send
// the same header names, and often the same values, on every response, as literals or constants:
// a string equal to one already checked is valid too (strings are immutable), and comparing it
// costs a pointer test where the scan costs a few instructions per character. A different string
// of the same length class is simply checked and takes the slot. This is the one check of a
// header's bytes on the node:http host: it refuses what node's writeHead would (which then writes
// the head without checking it again, see server/node-io.ts), and lets the app's send() fail first.
const GOOD_NAMES: Array<string | undefined> = new Array(32).fill(undefined);
const GOOD_VALUES: Array<string | undefined> = new Array(32).fill(undefined);

function nameOk(name: string): boolean {
  const slot = name.length & 31;
  if (GOOD_NAMES[slot] === name) return true;
  if (!tokenOk(name)) return false;
  if (name.length < 128) GOOD_NAMES[slot] = name;
  return true;
}

function fieldValueOk(value: string): boolean {
  const slot = value.length & 31;
  if (GOOD_VALUES[slot] === value) return true;
  if (badValueChar(value) !== -1) return false;
  // Short ones only: a slot must not keep a large string alive.
  if (value.length < 128) GOOD_VALUES[slot] = value;
  return true;
}

/** Throws `ERR_ALBANY_INVALID_MESSAGE` with `what` in the text. */
export function invalidMessage(what: string, details?: Record<string, unknown>): never {
  throw new AlbanyError(ErrorCodes.ERR_ALBANY_INVALID_MESSAGE, what, details === undefined ? undefined : { details });
}

/** True when `name` is a valid header name (an RFC 9110 token). */
export function isToken(name: string): boolean {
  return tokenOk(name);
}

/**
 * Validates an HTTP status code: an integer from 100 to 999, the range node:http writes (three
 * digits, RFC 9110 §15). Codes past 599 have no meaning in the RFC but are legal on the wire, and
 * apps that use them (private protocols, tests of the frameworks) must get them unchanged.
 */
export function checkStatus(status: unknown, type: string): number {
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 999) {
    invalidMessage(`${type}: status must be an integer from 100 to 999, got ${String(status)}`, { status });
  }
  return status;
}

/**
 * Validates a reason phrase (the `reason` extension of `http.response.start`): a string of
 * RFC 9112 reason-phrase characters (tab, space, visible ASCII, and latin1 obs-text 0x80–0xFF).
 * Anything else, CR/LF/NUL above all, would split or corrupt the status line; node:http refuses
 * the same characters in `writeHead`.
 */
export function checkReason(reason: unknown, type: string): string {
  if (typeof reason !== 'string')
    invalidMessage(`${type}: reason must be a string, got ${reason === null ? 'null' : typeof reason}`);
  const i = badReasonChar(reason);
  if (i !== -1) invalidMessage(`${type}: ${describeBadReason(reason, i)}`, { index: i });
  return reason;
}

/** The index of the first character a reason phrase may not hold (see {@link checkReason}), or -1. */
export function badReasonChar(reason: string): number {
  for (let i = 0; i < reason.length; i++) {
    const c = reason.charCodeAt(i);
    if (c < 32 ? c !== 9 : c === 127 || c > 255) return i;
  }
  return -1;
}

/** The error text for a reason phrase whose character at `index` is not allowed. */
export function describeBadReason(reason: string, index: number): string {
  const c = reason.charCodeAt(index);
  return (
    `reason ${JSON.stringify(reason)} has character U+${c.toString(16).toUpperCase().padStart(4, '0')} at ` +
    `${index}; allowed are tab, space, visible ASCII and latin1 (U+0080–U+00FF), never CR, LF or NUL`
  );
}

/**
 * Validates a header list from an app: an array of `[name, value]` string pairs, names are tokens,
 * values hold tab, space, visible ASCII and latin1 only (never CR, LF, NUL or another control).
 * Returns the list unchanged so callers can chain.
 */
export function checkHeaders(headers: unknown, type: string): Headers {
  if (headers === undefined) return [];
  if (!Array.isArray(headers)) invalidMessage(`${type}: headers must be an array of [name, value] pairs`);
  for (let i = 0; i < headers.length; i++) {
    const pair = headers[i];
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') {
      invalidMessage(`${type}: headers[${i}] must be a [name, value] pair of strings`);
    }
    const name = pair[0];
    if (!nameOk(name)) {
      invalidMessage(`${type}: header name ${JSON.stringify(name)} at headers[${i}] is not a valid token`, {
        index: i,
      });
    }
    if (!fieldValueOk(pair[1])) badValue(type, name, pair[1], i);
  }
  return headers as Headers;
}

function badValue(type: string, name: string, value: string, index: number): never {
  const at = badValueChar(value);
  const c = value.charCodeAt(at);
  const what = `${type}: header ${JSON.stringify(name)} at headers[${index}]`;
  if (c === 13 || c === 10 || c === 0) invalidMessage(`${what} contains CR, LF or NUL`, { index });
  const code = `U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
  return invalidMessage(
    `${what} contains ${code} at ${at}; allowed are tab, space, visible ASCII and latin1 (U+0080–U+00FF)`,
    { index },
  );
}

/** Validates an optional body field: absent, or a Uint8Array (Buffer included). */
export function checkBody(body: unknown, type: string): Uint8Array | undefined {
  if (body === undefined || body instanceof Uint8Array) return body;
  return invalidMessage(`${type}: body must be a Uint8Array, got ${typeof body}`);
}

/** Validates that `message` is an object with a string `type`. */
export function checkMessage(message: unknown): string {
  if (typeof message !== 'object' || message === null || typeof (message as { type?: unknown }).type !== 'string') {
    invalidMessage(`message must be an object with a string "type", got ${message === null ? 'null' : typeof message}`);
  }
  return (message as { type: string }).type;
}

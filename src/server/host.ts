// The Host header (and HTTP_HOST, X-Forwarded-Host) must be a URL authority and nothing more: a '/',
// '?', '#', '@' or a space in it moves the path, query or user part of every URL an app builds from
// it (`Host: example.com/admin` + `GET /public` is `http://example.com/admin/public`). Every front
// checks it with the function here, before any app runs, and answers 400.
import { isIPv6 } from 'node:net';
import type { Headers, Send } from '../gateway/types.js';
import { lowerHeaderName } from '../gateway/helpers.js';

// Character classes, one table lookup per character (the check runs on every request).
const REG_NAME = 1; // RFC 3986 unreserved + sub-delims (pct-encoded is refused, see isValidHost)
const DIGIT = 2;
const HEX = 4;
const IPV6 = 8; // inside [ ]: hex digits, ':' and '.' (an IPv4 tail)
const TABLE = new Uint8Array(128);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=")
  TABLE[c.charCodeAt(0)]! |= REG_NAME;
for (const c of '0123456789') TABLE[c.charCodeAt(0)]! |= DIGIT | HEX | IPV6;
for (const c of 'abcdefABCDEF') TABLE[c.charCodeAt(0)]! |= HEX | IPV6;
TABLE[58]! |= IPV6; // ':'
TABLE[46]! |= IPV6; // '.'

/** What a 400 for a bad Host says: what was wrong and what is allowed (never the hostile value itself). */
export const BAD_HOST_MESSAGE =
  'Bad Request: Host (sent once) and any X-Forwarded-Host must be host[:port]: a name, an IPv4 address or an ' +
  '[IPv6] address, port 0-65535';

/**
 * True when `value` is a valid authority for an http(s) URL: RFC 3986 `host [":" port]` without
 * userinfo. The host is a reg-name (letters, digits, `-._~!$&'()*+,;=`), a dotted-decimal IPv4
 * address, or an IPv6 address in brackets; the port is 1–5 digits, at most 65535.
 *
 * Stricter than RFC 3986 where the WHATWG URL parser (what every fetch handler's `new URL()` uses)
 * would read the text differently or fail: no percent-encoding (it is decoded into the host, `%2F`
 * included), a name whose last label is numeric must be an exact IPv4 address (`1.2.3.999`,
 * `0x7f.1`, `01.2.3.4` are refused), no IPvFuture or zone IDs, no empty host or empty port.
 * Allocates nothing except for a bracketed IPv6 literal.
 */
export function isValidHost(value: string): boolean {
  // Nearly every request to a server names the same host: comparing with the last valid one is a
  // single string comparison instead of a character loop (node makes a new string per request).
  if (value === lastValid) return true;
  if (!checkHost(value)) return false;
  lastValid = value;
  return true;
}

// The last value isValidHost accepted (a one-entry memo; holds only valid hosts).
let lastValid: string | undefined;

function checkHost(value: string): boolean {
  const n = value.length;
  if (n === 0) return false;
  let i: number;
  if (value.charCodeAt(0) === 91 /* [ */) {
    i = 1;
    while (i < n) {
      const c = value.charCodeAt(i);
      if (c === 93 /* ] */) break;
      if (c > 127 || (TABLE[c]! & IPV6) === 0) return false;
      i++;
    }
    if (i === n || !isIPv6(value.slice(1, i))) return false;
    i++;
  } else {
    i = 0;
    // Where the last label and the one before it start, so the numeric-host test below looks at
    // one character for nearly every name instead of scanning the label again. A dotted-decimal
    // IPv4 address (the usual Host of a local request) is checked in the same pass.
    let label = 0;
    let previous = 0;
    let ipv4 = true;
    let parts = 0;
    let octet = 0;
    let digits = 0;
    let lead = 0;
    while (i < n) {
      const c = value.charCodeAt(i);
      if (c === 58 /* : */) break;
      const kind = c > 127 ? 0 : TABLE[c]!;
      if ((kind & REG_NAME) === 0) return false;
      i++;
      if (c === 46 /* . */) {
        previous = label;
        label = i;
        if (ipv4) {
          ipv4 = digits > 0 && digits <= 3 && octet <= 255 && (digits === 1 || lead !== 48);
          parts++;
          octet = 0;
          digits = 0;
        }
      } else if (ipv4) {
        if ((kind & DIGIT) === 0) ipv4 = false;
        else {
          if (digits === 0) lead = c;
          octet = octet * 10 + c - 48;
          digits++;
        }
      }
    }
    if (i === 0) return false;
    if (ipv4 && parts === 3 && digits > 0 && digits <= 3 && octet <= 255 && (digits === 1 || lead !== 48)) {
      // Exactly four dec-octets: valid, nothing more to check.
    } else {
      // A trailing dot leaves an empty last label: the one before it decides (as in WHATWG).
      const last = label === i ? previous : label;
      if ((TABLE[value.charCodeAt(last)]! & DIGIT) !== 0 && endsInNumber(value, i)) return false;
    }
  }
  if (i === n) return true;
  if (value.charCodeAt(i) !== 58 /* : */) return false;
  return isPort(value, i + 1, n);
}

/**
 * The WHATWG "ends in a number" test on `value[0, end)`: its last label (after one trailing dot) is
 * all digits or `0x` hex. Such a host is parsed as an IPv4 address, so it must be one.
 */
function endsInNumber(value: string, end: number): boolean {
  let last = end;
  if (value.charCodeAt(last - 1) === 46 /* . */) last--;
  let start = last;
  while (start > 0 && value.charCodeAt(start - 1) !== 46) start--;
  if (start === last) return false;
  let j = start;
  while (j < last && (TABLE[value.charCodeAt(j)]! & DIGIT) !== 0) j++;
  if (j === last) return true;
  const c1 = value.charCodeAt(start + 1);
  if (value.charCodeAt(start) !== 48 /* 0 */ || (c1 !== 120 && c1 !== 88) /* x X */) return false;
  for (let j = start + 2; j < last; j++) if ((TABLE[value.charCodeAt(j)]! & HEX) === 0) return false;
  return true;
}

/** 1–5 digits in `value[start, end)`, at most 65535. */
function isPort(value: string, start: number, end: number): boolean {
  const length = end - start;
  if (length === 0 || length > 5) return false;
  let port = 0;
  for (let i = start; i < end; i++) {
    const c = value.charCodeAt(i);
    if (c < 48 || c > 57) return false;
    port = port * 10 + c - 48;
  }
  return port <= 65535;
}

/**
 * Checks the Host headers in node's flat raw list (`[name, value, …]`): at most one, and valid.
 * `required` (HTTP/1.1) also refuses a request without one, as RFC 9112 §3.2 asks.
 */
export function rawHostOk(rawHeaders: readonly string[], required: boolean): boolean {
  let seen = false;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === 4 && lowerHeaderName(name) === 'host') {
      if (seen || !isValidHost(rawHeaders[i + 1]!)) return false;
      seen = true;
    }
  }
  return seen || !required;
}

/** {@link rawHostOk} over a scope's lower-cased `[name, value]` pairs. */
export function headersHostOk(headers: Headers, required: boolean): boolean {
  let seen = false;
  for (let i = 0; i < headers.length; i++) {
    if (headers[i]![0] === 'host') {
      if (seen || !isValidHost(headers[i]![1])) return false;
      seen = true;
    }
  }
  return seen || !required;
}

/**
 * True when every element of an X-Forwarded-Host value (a comma-separated list, one per proxy) is a
 * valid authority; see {@link isValidHost}.
 */
export function isValidForwardedHost(value: string): boolean {
  let start = 0;
  for (;;) {
    const comma = value.indexOf(',', start);
    const element = value.slice(start, comma === -1 ? value.length : comma).trim();
    if (!isValidHost(element)) return false;
    if (comma === -1) return true;
    start = comma + 1;
  }
}

const BAD_HOST_BODY = new TextEncoder().encode(BAD_HOST_MESSAGE);

/** Answers a request whose Host is bad with 400 through the gateway `send` (for app-level fronts such as fromFetch). */
export async function sendBadHost(send: Send): Promise<void> {
  await send({
    type: 'http.response.start',
    status: 400,
    headers: [
      ['content-type', 'text/plain; charset=utf-8'],
      ['content-length', String(BAD_HOST_BODY.length)],
    ],
  });
  await send({ type: 'http.response.body', body: BAD_HOST_BODY });
}

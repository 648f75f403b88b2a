// Small helpers every app and host needs: read a whole request body, look a header up, lower-case
// a header name.
import type { Headers, Receive } from './types.js';

/**
 * Reads the whole request body from `receive()`. Resolves with the bytes, or `null` when the client
 * disconnected first. Use it for small bodies; stream large ones message by message.
 */
export async function readBody(receive: Receive): Promise<Buffer | null> {
  const chunks: Uint8Array[] = [];
  for (;;) {
    const m = await receive();
    if (m.type !== 'http.request') return null;
    if (m.body.length > 0) chunks.push(m.body);
    if (!m.moreBody)
      return chunks.length === 1
        ? Buffer.from(chunks[0]!.buffer, chunks[0]!.byteOffset, chunks[0]!.length)
        : Buffer.concat(chunks);
  }
}

/** True when `headers` has `name` (compared case-insensitively; pass `name` in lower case). */
export function hasHeader(headers: Headers, name: string): boolean {
  for (let i = 0; i < headers.length; i++) {
    const n = headers[i]![0];
    // Lengths first: most names differ there, and lower-casing allocates.
    if (n.length === name.length && (n === name || n.toLowerCase() === name)) return true;
  }
  return false;
}

/** The first value of header `name` (lower case), or undefined. */
export function getHeader(headers: Headers, name: string): string | undefined {
  for (let i = 0; i < headers.length; i++) if (headers[i]![0] === name) return headers[i]![1];
  return undefined;
}

/**
 * The lower-case form of a header name. Clients send the same dozen names on every request; for
 * those this returns a constant without calling toLowerCase (a builtin call and, for "Host", a new
 * string), and a constant also compares by pointer wherever the name is looked up later.
 */
export function lowerHeaderName(name: string): string {
  switch (name.length) {
    case 4:
      if (name === 'Host' || name === 'host') return 'host';
      break;
    case 6:
      if (name === 'Accept' || name === 'accept') return 'accept';
      if (name === 'Cookie' || name === 'cookie') return 'cookie';
      if (name === 'Origin' || name === 'origin') return 'origin';
      break;
    case 7:
      if (name === 'Referer' || name === 'referer') return 'referer';
      break;
    case 10:
      if (name === 'Connection' || name === 'connection') return 'connection';
      if (name === 'User-Agent' || name === 'user-agent') return 'user-agent';
      break;
    case 12:
      if (name === 'Content-Type' || name === 'content-type') return 'content-type';
      break;
    case 13:
      if (name === 'Authorization' || name === 'authorization') return 'authorization';
      if (name === 'Cache-Control' || name === 'cache-control') return 'cache-control';
      break;
    case 14:
      if (name === 'Content-Length' || name === 'content-length') return 'content-length';
      break;
    case 15:
      if (name === 'Accept-Encoding' || name === 'accept-encoding') return 'accept-encoding';
      if (name === 'Accept-Language' || name === 'accept-language') return 'accept-language';
      if (name === 'X-Forwarded-For' || name === 'x-forwarded-for') return 'x-forwarded-for';
      break;
    case 17:
      if (name === 'Transfer-Encoding' || name === 'transfer-encoding') return 'transfer-encoding';
      break;
  }
  return name.toLowerCase();
}

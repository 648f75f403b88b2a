// Small helpers every app and host needs: read a whole request body, look a header up.
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
    if (!m.moreBody) return chunks.length === 1 ? Buffer.from(chunks[0]!.buffer, chunks[0]!.byteOffset, chunks[0]!.length) : Buffer.concat(chunks);
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

// The blocking request-body reader a legacy handler sees (`wsgi.input`, `req.read()`); it pulls one
// chunk at a time from the main thread, so a large upload never sits whole in either thread.
import type { WorkerLink } from './link.js';

/**
 * A blocking, pull-based reader over the request body. Reads return `Buffer`s (a `Uint8Array` with
 * `toString()`), empty once the body is exhausted. Iterating yields lines, as WSGI's input does.
 */
export class BodyInput implements Iterable<Buffer> {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private more: boolean;

  constructor(
    first: Uint8Array,
    more: boolean,
    private readonly link: WorkerLink | undefined,
  ) {
    this.more = more;
    this.push(first);
  }

  /** Reads up to `size` bytes (blocking until that many arrive or the body ends); all of it when absent or negative. */
  read(size?: number): Buffer {
    const wanted = size === undefined || size < 0 ? Infinity : size;
    while (this.buffered < wanted && this.more) this.pullOne();
    return this.take(Math.min(wanted, this.buffered));
  }

  /** Reads one line including its "\n" (or the rest of the body), at most `size` bytes. */
  readline(size?: number): Buffer {
    const limit = size === undefined || size < 0 ? Infinity : size;
    let scanned = 0;
    for (;;) {
      const at = this.indexOfNewline(scanned);
      if (at !== -1) return this.take(Math.min(at + 1, limit));
      scanned = this.buffered;
      if (this.buffered >= limit || !this.more) return this.take(Math.min(this.buffered, limit));
      this.pullOne();
    }
  }

  /** Reads every remaining line. */
  readlines(): Buffer[] {
    return [...this];
  }

  /** Yields lines until the body ends. */
  *[Symbol.iterator](): Iterator<Buffer> {
    for (let line = this.readline(); line.length > 0; line = this.readline()) yield line;
  }

  private pullOne(): void {
    if (this.link === undefined) {
      this.more = false;
      return;
    }
    const message = this.link.pull();
    this.more = message.more;
    this.push(message.chunk);
  }

  private push(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    this.chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.buffered += chunk.byteLength;
  }

  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0]!;
    if (first.length === n) {
      this.chunks.shift();
      this.buffered -= n;
      return first;
    }
    if (first.length > n) {
      this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0]!;
      const part = Math.min(chunk.length, n - filled);
      chunk.copy(out, filled, 0, part);
      filled += part;
      if (part === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(part);
    }
    this.buffered -= n;
    return out;
  }

  // Position of the first "\n" at or after `from` across the buffered chunks, or -1.
  private indexOfNewline(from: number): number {
    let base = 0;
    for (const chunk of this.chunks) {
      if (from < base + chunk.length) {
        const at = chunk.indexOf(10, Math.max(0, from - base));
        if (at !== -1) return base + at;
      }
      base += chunk.length;
    }
    return -1;
  }
}

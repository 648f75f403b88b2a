// FastCGI adapters for a cycle: STDIN records as http.request messages with backpressure, and a
// response sink that writes a CGI head and body as STDOUT records.
import { createReadStream } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import type { Headers, HttpReceiveMessage } from '../gateway/types.js';
import { DISCONNECT, END_OF_BODY } from '../gateway/messages.js';
import type { RequestSource, ResponseSink } from './cycle.js';
import { RecordType, encodeHeader, streamRecords } from './fastcgi-records.js';
import { hasHeader } from '../gateway/helpers.js';
import { regularFileSize } from './send-file.js';
import { isBodylessStatus, mayAddContentLength } from './framing.js';

/**
 * Request body from STDIN records. Records arrive whenever the socket delivers them, so they queue
 * here; once more than `highWater` bytes wait for an app that is not reading, `onPressure(true)`
 * asks the connection to pause its socket, and `onPressure(false)` lets it go once the app reads.
 */
export class FastCGIRequestSource implements RequestSource {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private received = 0;
  private ended = false;
  private done = false;
  private gone = false;
  private pressing = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly expected: number | undefined,
    private readonly limit: number,
    private readonly highWater: number,
    private readonly onPressure: (paused: boolean) => void,
    private readonly onTooLarge: () => void,
  ) {}

  /** One STDIN record's content. */
  push(chunk: Buffer): void {
    if (this.gone || this.done || chunk.length === 0) return;
    this.received += chunk.length;
    if (this.limit > 0 && this.received > this.limit) {
      this.close();
      this.onTooLarge();
      return;
    }
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (!this.pressing && this.buffered > this.highWater) {
      this.pressing = true;
      this.onPressure(true);
    }
    this.notify();
  }

  /** The empty STDIN record: the body is complete. */
  end(): void {
    this.ended = true;
    this.notify();
  }

  /** The request is over (response sent, aborted, connection lost): drop what is queued. */
  close(): void {
    this.gone = true;
    this.chunks = [];
    this.buffered = 0;
    this.release();
    this.notify();
  }

  async next(): Promise<HttpReceiveMessage> {
    for (;;) {
      if (this.done) return END_OF_BODY;
      if (this.gone) return DISCONNECT;
      if (this.chunks.length > 0) {
        // Everything queued goes out as one message: fewer awaits for the app, same bytes.
        const body = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
        this.chunks = [];
        this.buffered = 0;
        this.release();
        const last = this.ended || (this.expected !== undefined && this.received >= this.expected);
        if (last) this.done = true;
        return { type: 'http.request', body, moreBody: !last };
      }
      if (this.ended) {
        this.done = true;
        return END_OF_BODY;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private release(): void {
    if (!this.pressing) return;
    this.pressing = false;
    this.onPressure(false);
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/** What a sink needs from its connection. Writes for a request that is no longer active are dropped. */
export interface RecordWriter {
  /** Writes the buffers as one vectored write; false when the socket asks the writer to wait. */
  write(requestId: number, parts: Uint8Array[]): boolean;
  /** Resolves on 'drain' or when the connection closes. */
  drained(): Promise<void>;
  /** The response is complete: send END_REQUEST and retire the request. */
  end(requestId: number): void;
  /** Tear the response down: the web server must not mistake it for a complete one. */
  abort(requestId: number): void;
}

/**
 * Writes a cycle's response as a CGI response in STDOUT records. The head waits for the first body
 * chunk, as in the node:http sink, so a one-chunk response leaves as one write with a length.
 * CGI has no trailers: trailer messages end the response and their fields are dropped.
 */
export class FastCGIResponseSink implements ResponseSink {
  private status = 200;
  private reason: string | undefined;
  private headers: Headers = [];
  private wantsTrailers = false;
  private noContent = false;
  private headSent = false;

  /** @param method the request method (HEAD changes which lengths the sink may add) */
  constructor(
    private readonly out: RecordWriter,
    private readonly id: number,
    private readonly method?: string,
  ) {}

  start(status: number, headers: Headers, trailers: boolean, reason: string | undefined): void {
    this.status = status;
    this.reason = reason;
    this.headers = headers;
    this.wantsTrailers = trailers;
    this.noContent = isBodylessStatus(status) || this.method === 'HEAD';
  }

  // The CGI Status header carries the whole status line after the version; nginx and Apache pass
  // its reason phrase on to the client, so an app's own phrase survives the hop.
  private head(length: number | undefined): Buffer {
    let text = `Status: ${this.status} ${this.reason ?? STATUS_CODES[this.status] ?? 'unknown'}\r\n`;
    for (const [name, value] of this.headers) text += `${name}: ${value}\r\n`;
    if (length !== undefined) text += `content-length: ${length}\r\n`;
    this.headSent = true;
    return Buffer.from(`${text}\r\n`, 'latin1');
  }

  body(chunk: Uint8Array | undefined, more: boolean): void | Promise<void> {
    const last = !more && !this.wantsTrailers;
    let parts: Uint8Array[] = [];
    if (!this.headSent) {
      const sized =
        last &&
        mayAddContentLength(this.status, chunk?.length ?? 0, this.method) &&
        !hasHeader(this.headers, 'content-length') &&
        !hasHeader(this.headers, 'transfer-encoding');
      parts = streamRecords(RecordType.STDOUT, this.id, this.head(sized ? (chunk?.length ?? 0) : undefined));
    }
    // A bodyless status or a HEAD carries no content whatever the app wrote (node:http drops it the same way).
    if (chunk !== undefined && chunk.length > 0 && !this.noContent)
      parts.push(...streamRecords(RecordType.STDOUT, this.id, chunk));
    if (last) return this.finish(parts);
    if (parts.length > 0 && !this.out.write(this.id, parts)) return this.out.drained();
  }

  trailers(_headers: Headers, more: boolean): void {
    if (more) return;
    this.finish(this.headSent ? [] : streamRecords(RecordType.STDOUT, this.id, this.head(undefined)));
  }

  async sendFile(path: string): Promise<void> {
    const size = await regularFileSize(path).catch((error: unknown) => {
      this.fail(404, 'Not Found');
      throw error;
    });
    const head = streamRecords(
      RecordType.STDOUT,
      this.id,
      this.head(hasHeader(this.headers, 'content-length') ? undefined : size),
    );
    // HEAD (or a bodyless status): the head states the file's length and no byte of it follows.
    if (this.noContent) return this.finish(head);
    if (!this.out.write(this.id, head)) await this.out.drained();
    try {
      for await (const chunk of createReadStream(path, { highWaterMark: 64 * 1024 - 1 })) {
        if (!this.out.write(this.id, streamRecords(RecordType.STDOUT, this.id, chunk as Buffer)))
          await this.out.drained();
      }
    } catch (error) {
      this.out.abort(this.id);
      throw error;
    }
    this.finish([]);
  }

  fail(status: number, text: string): void {
    if (this.headSent) {
      this.out.abort(this.id);
      return;
    }
    this.status = status;
    this.reason = undefined;
    this.headers = [['content-type', 'text/plain; charset=utf-8']];
    const body = Buffer.from(text);
    this.finish([
      ...streamRecords(RecordType.STDOUT, this.id, this.head(body.length)),
      ...streamRecords(RecordType.STDOUT, this.id, body),
    ]);
  }

  abort(): void {
    this.out.abort(this.id);
  }

  // The empty STDOUT record closes the stream; END_REQUEST follows from the connection.
  private finish(parts: Uint8Array[]): void {
    parts.push(encodeHeader(RecordType.STDOUT, this.id, 0));
    this.out.write(this.id, parts);
    this.out.end(this.id);
  }
}

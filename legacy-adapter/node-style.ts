// The `(req, res)` objects for Node-style legacy handlers: enough of IncomingMessage / ServerResponse
// that an old synchronous Express-style handler runs unchanged, with blocking body reads.
import type { LegacyRequest } from '../src/pool/protocol.js';
import { albanyError } from '../src/errors.js';
import { headersObject } from './environ.js';
import type { BodyInput } from './input.js';
import { normalizeHeaders, toBytes, type ResponseHead, type ResponseOutput } from './response.js';

/** The request a Node-style handler receives. Body reads block the worker, never the event loop. */
export class LegacyNodeRequest {
  readonly method: string;
  readonly url: string;
  readonly httpVersion: string;
  private joined: Record<string, string | string[]> | undefined;

  constructor(private readonly request: LegacyRequest, private readonly input: BodyInput) {
    this.method = request.method;
    this.url = request.url;
    this.httpVersion = request.httpVersion;
  }

  /** Headers keyed by lower-case name, repeated ones joined as Node does. */
  get headers(): Record<string, string | string[]> {
    return (this.joined ??= headersObject(this.request.headers));
  }

  /** Header names and values interleaved, as Node's `rawHeaders`. */
  get rawHeaders(): string[] {
    return this.request.headers.flat();
  }

  /** Client address, like `req.socket.remoteAddress`. */
  get socket(): { remoteAddress: string | undefined; remotePort: number | undefined } {
    const client = this.request.client;
    return { remoteAddress: client?.[0], remotePort: client?.[1] };
  }

  /** Reads up to `size` bytes of the body (all that is left when absent); empty at the end. */
  read(size?: number): Buffer {
    return this.input.read(size);
  }

  /** Reads the whole remaining body. */
  readAll(): Buffer {
    return this.input.read();
  }

  /** The remaining body as UTF-8 text. */
  text(): string {
    return this.input.read().toString('utf8');
  }

  /** The remaining body parsed as JSON. */
  json(): unknown {
    return JSON.parse(this.text());
  }
}

/**
 * The response a Node-style handler writes to. `write()` posts its chunk to the main thread at once;
 * `end(chunk)` keeps the last chunk for the task's return value, so it leaves when the handler returns.
 */
export class LegacyNodeResponse {
  statusCode = 200;
  statusMessage = '';
  private readonly headerMap = new Map<string, [string, unknown]>();
  private committed = false;
  private tail: { start: ResponseHead | undefined; body: Uint8Array } | undefined;
  private readonly whenEnded: { resolve: () => void; promise: Promise<void> };

  constructor(private readonly output: ResponseOutput) {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.whenEnded = { resolve, promise };
  }

  /** True once status and headers left the worker. */
  get headersSent(): boolean {
    return this.output.bodyStarted;
  }

  /** True once `end()` was called. */
  get writableEnded(): boolean {
    return this.tail !== undefined;
  }

  /** Sets one header (an array value becomes repeated headers). */
  setHeader(name: string, value: string | number | readonly string[]): this {
    this.assertNotCommitted('setHeader');
    this.headerMap.set(name.toLowerCase(), [name, value]);
    return this;
  }

  /** The value set for `name`, if any. */
  getHeader(name: string): unknown {
    return this.headerMap.get(name.toLowerCase())?.[1];
  }

  /** All headers set so far, keyed by lower-case name. */
  getHeaders(): Record<string, unknown> {
    return Object.fromEntries([...this.headerMap].map(([key, [, value]]) => [key, value]));
  }

  /** True when `name` was set. */
  hasHeader(name: string): boolean {
    return this.headerMap.has(name.toLowerCase());
  }

  /** Removes a header set earlier. */
  removeHeader(name: string): void {
    this.assertNotCommitted('removeHeader');
    this.headerMap.delete(name.toLowerCase());
  }

  /** Sets the status (Express-style convenience). */
  status(code: number): this {
    this.statusCode = code;
    return this;
  }

  /** `writeHead(status, [statusMessage], [headers])`: fixes status and headers. */
  writeHead(status: number, messageOrHeaders?: string | Record<string, unknown> | Array<[string, unknown]>, headers?: Record<string, unknown> | Array<[string, unknown]>): this {
    this.assertNotCommitted('writeHead');
    this.statusCode = status;
    const extra = typeof messageOrHeaders === 'string' ? headers : messageOrHeaders;
    if (typeof messageOrHeaders === 'string') this.statusMessage = messageOrHeaders;
    for (const [name, value] of normalizeHeaders(extra)) this.headerMap.set(name, [name, value]);
    this.commit();
    return this;
  }

  /** Sends a body chunk now (status and headers go first). Returns true, as a stream with room would. */
  write(chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
    if (this.writableEnded) throw albanyError('ERR_ALBANY_HANDLER', 'res.write() after res.end()');
    this.commit();
    this.output.write(toBytes(chunk));
    const cb = typeof encoding === 'function' ? encoding : callback;
    if (typeof cb === 'function') queueMicrotask(cb as () => void);
    return true;
  }

  /** Ends the response, optionally with a last chunk. Later calls are ignored, as Node does. */
  end(chunk?: unknown, encoding?: unknown, callback?: unknown): this {
    if (this.writableEnded) return this;
    const cb = [chunk, encoding, callback].find((a) => typeof a === 'function');
    this.commit();
    this.tail = this.output.end(chunk === undefined || typeof chunk === 'function' ? undefined : toBytes(chunk));
    this.whenEnded.resolve();
    if (typeof cb === 'function') queueMicrotask(cb as () => void);
    return this;
  }

  /** Ends with a JSON body (content-type set unless already chosen). */
  json(value: unknown): this {
    if (!this.hasHeader('content-type')) this.setHeader('content-type', 'application/json; charset=utf-8');
    return this.end(JSON.stringify(value));
  }

  /** Ends with a string, bytes or JSON body (Express-style convenience). */
  send(body: unknown): this {
    if (typeof body === 'object' && body !== null && !(body instanceof Uint8Array)) return this.json(body);
    if (typeof body === 'string' && !this.hasHeader('content-type')) this.setHeader('content-type', 'text/html; charset=utf-8');
    return this.end(body);
  }

  /** Resolves once `end()` was called (for handlers that end from a callback). */
  ended(): Promise<void> {
    return this.whenEnded.promise;
  }

  /** The tail for the task result; only after `end()`. */
  finish(): { start: ResponseHead | undefined; body: Uint8Array } | undefined {
    return this.tail;
  }

  private commit(): void {
    if (this.committed) return;
    this.committed = true;
    this.output.setHead({ status: this.statusCode, headers: normalizeHeaders([...this.headerMap.values()]) });
  }

  private assertNotCommitted(what: string): void {
    if (this.committed) throw albanyError('ERR_ALBANY_HANDLER', `res.${what}() after the headers were sent`);
  }
}

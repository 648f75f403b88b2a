// A Request built from a gateway scope without building a Request: fetch handlers mostly read the
// method, url and a header or two, so those are plain fields and everything else (streams, signal,
// clone) creates a real Request on first use.
import { lowerHeaderName } from '../gateway/helpers.js';
import type { Address, Headers as HeaderList, HttpReceiveMessage, HttpScope, Receive } from '../gateway/types.js';
import { END_OF_BODY, SENT } from '../gateway/messages.js';
import { headersHostOk } from '../server/host.js';
import { pairHeaders, splitTarget, type RequestHead } from '../server/scope.js';

const GlobalRequest = globalThis.Request;
const GlobalHeaders = globalThis.Headers;
const kHeaderSource = Symbol('albany.headerSource');
const kChannel = Symbol('albany.bodyChannel');
const kReceive = Symbol('albany.receive');
const kReal = Symbol('albany.realRequest');
const kHeaders = Symbol('albany.headers');
const kUsed = Symbol('albany.bodyUsed');
const decoder = new TextDecoder();

/**
 * Where a request's headers come from: the scope's lower-cased `[name, value]` list, or (on a
 * direct node path, where no scope is built) node's raw flat list, paired only if a header is read.
 */
export type HeaderSource = HeaderList | { readonly rawHeaders: readonly string[] };

/**
 * Headers over the request's header list: `get`/`has` scan it (a request has a dozen headers, a
 * scan beats building a map); anything else, mutations included, switches to a real Headers.
 */
class ScopeHeaders {
  private source: HeaderSource | undefined;
  private real: Headers | undefined;

  constructor(source: HeaderSource) {
    this.source = source;
  }

  /** The `[name, value]` list, paired from raw headers on first use. */
  private list(): HeaderList {
    const source = this.source!;
    if (Array.isArray(source)) return source;
    const pairs = pairHeaders((source as { rawHeaders: readonly string[] }).rawHeaders);
    this.source = pairs;
    return pairs;
  }

  private native(): Headers {
    if (this.real === undefined) {
      const h = new GlobalHeaders();
      for (const [name, value] of this.list()) h.append(name, value);
      this.real = h;
      this.source = undefined;
    }
    return this.real;
  }

  get(name: string): string | null {
    if (this.source === undefined) return this.native().get(name);
    const lower = name.toLowerCase();
    let value: string | null = null;
    for (const [n, v] of this.list()) {
      if (n === lower) value = value === null ? v : `${value}${lower === 'cookie' ? '; ' : ', '}${v}`;
    }
    return value;
  }

  has(name: string): boolean {
    if (this.source === undefined) return this.native().has(name);
    const lower = name.toLowerCase();
    for (const [n] of this.list()) if (n === lower) return true;
    return false;
  }

  set(name: string, value: string): void {
    this.native().set(name, value);
  }
  append(name: string, value: string): void {
    this.native().append(name, value);
  }
  delete(name: string): void {
    this.native().delete(name);
  }
  getSetCookie(): string[] {
    return this.native().getSetCookie();
  }
  keys() {
    return this.native().keys();
  }
  values() {
    return this.native().values();
  }
  entries() {
    return this.native().entries();
  }
  forEach(fn: (value: string, key: string, parent: Headers) => void, thisArg?: unknown): void {
    this.native().forEach((v, k) => {
      fn.call(thisArg, v, k, this as unknown as Headers);
    });
  }
  [Symbol.iterator]() {
    return this.native().entries();
  }
}
Object.setPrototypeOf(ScopeHeaders.prototype, GlobalHeaders.prototype);

/** The URL authority when the request has no Host header: the server's address. */
function serverAuthority(server: Address): string {
  return server === null
    ? 'localhost'
    : server[0].includes(':')
      ? `[${server[0]}]:${server[1]}`
      : `${server[0]}:${server[1]}`;
}

/**
 * The absolute URL a fetch handler expects: scheme, Host (or the server address), raw path, query.
 * Undefined when the Host is not a valid authority or comes twice (server/host.ts): albany's own
 * hosts refuse such a request before any app runs, but a gateway app may be hosted elsewhere, and
 * `Host: example.com/admin` would otherwise route `GET /public` as `/admin/public`.
 */
export function requestUrlOf(scope: HttpScope): string | undefined {
  if (!headersHostOk(scope.headers, false)) return undefined;
  let host: string | undefined;
  for (const [name, value] of scope.headers) {
    if (name === 'host') {
      host = value;
      break;
    }
  }
  return (
    `${scope.scheme}://${host ?? serverAuthority(scope.server)}` +
    `${scope.rawPath}${scope.queryString ? `?${scope.queryString}` : ''}`
  );
}

/**
 * {@link requestUrlOf} for a request head, without building its scope: the same URL for the same
 * request. Used only on albany's node:http host, which has refused a bad Host before this runs.
 */
export function requestUrlOfHead(head: RequestHead): string {
  const raw = head.rawHeaders;
  let host: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    // The spellings clients send compared inline: the lookup runs on every request of the direct path.
    if (name.length === 4 && (name === 'Host' || name === 'host' || lowerHeaderName(name) === 'host')) {
      host = raw[i + 1];
      break;
    }
  }
  const target = head.target;
  let rest = target;
  // An origin-form target without a query is the scope's rawPath as is; anything else is split the
  // way the scope splits it (an absolute-form target loses its authority, an empty query its "?").
  if (target.charCodeAt(0) !== 47 /* / */ || target.indexOf('?') !== -1) {
    const { rawPath, queryString } = splitTarget(target);
    rest = queryString ? `${rawPath}?${queryString}` : rawPath;
  }
  return `${head.scheme}://${host ?? serverAuthority(head.server)}${rest}`;
}

function disconnected(): DOMException {
  return new DOMException('the client disconnected', 'AbortError');
}

// How many body bytes the disconnect watcher reads ahead of a handler that has not read them yet,
// about what node:http buffers for a request nobody reads before it stops reading the socket.
const READ_AHEAD_BYTES = 64 * 1024;

/**
 * Owns the request's `receive()`. In the gateway protocol a disconnect comes only from `receive()`,
 * after the body; so once `request.signal` is asked for, a watcher takes over `receive()`: it reads
 * the body ahead into a small queue the body readers take from (at most READ_AHEAD_BYTES, so an
 * unread upload is never pulled into memory), then waits for `http.disconnect` and aborts the
 * signal. Every method gets the signal this way, a POST whose body nobody reads included.
 */
class BodyChannel {
  /** receive() has yielded the body's last message (or a disconnect). */
  private bodyDone: boolean;
  private abort: AbortController | undefined;
  /** Body messages the watcher read ahead, oldest first (exists once the watcher runs). */
  private ahead: HttpReceiveMessage[] | undefined;
  private aheadBytes: number;
  /** A body reader's receive() still in flight when the watcher started: it lands first. */
  private reading: Promise<HttpReceiveMessage> | undefined;
  private wakeReader: (() => void) | undefined;
  private wakeWatcher: (() => void) | undefined;
  /**
   * The client sent `Expect: 100-continue`: its body comes only after the host's `100 Continue`,
   * which the first receive() sends. The watcher waits for a body reader before reading, so a
   * handler that answers without the body never invites the upload.
   */
  private waitForReader: boolean;
  /**
   * Set once the app's response has gone out. The exchange then ends with an `http.disconnect`
   * too, which is the response's end and not the client leaving: the signal stays quiet, as on
   * @hono/node-server (which aborts only when the response did not finish).
   */
  responded: boolean;
  /** A body read met `http.disconnect` (the signal is then aborted, or quiet if the response went out). */
  private clientLeft: boolean;

  constructor(
    private readonly receive: Receive,
    hasBody: boolean,
    expectsContinue: () => boolean,
  ) {
    this.bodyDone = !hasBody;
    this.waitForReader = hasBody && expectsContinue();
    this.responded = false;
    this.clientLeft = false;
    this.abort = undefined;
    this.ahead = undefined;
    this.aheadBytes = 0;
    this.reading = undefined;
    this.wakeReader = undefined;
    this.wakeWatcher = undefined;
  }

  /** An AbortSignal that fires when the host reports the client gone. */
  signal(): AbortSignal {
    if (this.abort === undefined) {
      this.abort = new AbortController();
      this.ahead = [];
      this.watch().catch(() => {});
    }
    return this.abort.signal;
  }

  /** The next body message, from the read-ahead queue once the watcher runs. */
  async next(): Promise<HttpReceiveMessage> {
    if (this.waitForReader) {
      // A reader wants the body: the 100 Continue may go now, and the watcher may read ahead.
      this.waitForReader = false;
      const wake = this.wakeWatcher;
      this.wakeWatcher = undefined;
      wake?.();
    }
    if (this.ahead !== undefined) {
      for (;;) {
        const message = this.ahead.shift();
        if (message !== undefined) {
          if (message.type === 'http.request') this.aheadBytes -= message.body.length;
          const wake = this.wakeWatcher;
          this.wakeWatcher = undefined;
          wake?.();
          return message;
        }
        if (this.bodyDone) return END_OF_BODY;
        await new Promise<void>((resolve) => (this.wakeReader = resolve));
      }
    }
    if (this.bodyDone) return END_OF_BODY;
    const read = (this.reading = this.receive() as Promise<HttpReceiveMessage>);
    const message = await read;
    this.reading = undefined;
    this.landed(message);
    return message;
  }

  private landed(message: HttpReceiveMessage): void {
    if (message.type === 'http.disconnect') {
      this.bodyDone = true;
      this.clientLeft = true;
      if (this.abort !== undefined) this.gone(this.abort);
    } else if (!message.moreBody) {
      this.bodyDone = true;
    }
  }

  private async watch(): Promise<void> {
    const abort = this.abort!;
    const ahead = this.ahead!;
    if (this.reading !== undefined) await this.reading;
    while (this.waitForReader && !this.bodyDone) await new Promise<void>((resolve) => (this.wakeWatcher = resolve));
    while (!this.bodyDone) {
      while (this.aheadBytes >= READ_AHEAD_BYTES) await new Promise<void>((resolve) => (this.wakeWatcher = resolve));
      const message = (await this.receive()) as HttpReceiveMessage;
      if (message.type === 'http.request') this.aheadBytes += message.body.length;
      ahead.push(message);
      this.landed(message);
      const wake = this.wakeReader;
      this.wakeReader = undefined;
      wake?.();
    }
    if (this.clientLeft) {
      // Seen by a body read, maybe before this signal existed.
      this.gone(abort);
      return;
    }
    for (;;) {
      const message = (await this.receive()) as HttpReceiveMessage;
      if (message.type === 'http.disconnect') break;
    }
    this.gone(abort);
  }

  // A disconnect aborts the signal unless the response went out. The host reports the end of a
  // response while the app's last send() is still settling, so the check waits for that turn to end.
  private gone(abort: AbortController): void {
    setImmediate(() => {
      if (!this.responded && !abort.signal.aborted) abort.abort(disconnected());
    });
  }
}

/** The request body as a ReadableStream that calls `receive()` only when read (backpressure). */
function bodyStream(channel: BodyChannel): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const message = await channel.next();
        if (message.type === 'http.disconnect') {
          controller.error(disconnected());
          return;
        }
        if (message.body.length > 0) controller.enqueue(message.body);
        if (!message.moreBody) controller.close();
      },
    },
    { highWaterMark: 0 },
  );
}

/** Reads the whole body straight from `receive()`, without a stream in between. */
async function readAll(channel: BodyChannel): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const message = await channel.next();
    if (message.type === 'http.disconnect') throw disconnected();
    if (message.body.length > 0) {
      chunks.push(message.body);
      size += message.body.length;
    }
    if (!message.moreBody) break;
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * The Request a fetch handler gets. `instanceof Request` is true; `method`, `url`, `headers` and
 * the body readers (`text`, `json`, `arrayBuffer`, `bytes`, `blob`) work without a real Request.
 */
export class ScopeRequest {
  readonly method: string;
  readonly url: string;
  // `declare` (no class-field emit) for the symbol-keyed slots: see LightResponse for why.
  declare private readonly [kHeaderSource]: HeaderSource;
  declare private readonly [kReceive]: Receive;
  // Built on first use: most GET handlers never touch the body or the signal.
  declare private [kChannel]: BodyChannel | undefined;
  declare private [kHeaders]: ScopeHeaders | undefined;
  declare private [kReal]: Request | undefined;
  declare private [kUsed]: boolean;

  /**
   * @param url the absolute URL ({@link requestUrlOf} / {@link requestUrlOfHead})
   * @param headers the scope's header list, or a head whose raw headers are paired on first use
   * @param receive the request's `receive()`: the body and the client-disconnect signal come from it
   */
  constructor(method: string, url: string, headers: HeaderSource, receive: Receive) {
    this.method = method;
    this.url = url;
    this[kHeaderSource] = headers;
    this[kReceive] = receive;
    this[kChannel] = undefined;
    this[kHeaders] = undefined;
    this[kReal] = undefined;
    this[kUsed] = false;
  }

  get headers(): Headers {
    return (this[kHeaders] ??= new ScopeHeaders(this[kHeaderSource])) as unknown as Headers;
  }

  private channel(): BodyChannel {
    return (this[kChannel] ??= new BodyChannel(this[kReceive], this.method !== 'GET' && this.method !== 'HEAD', () =>
      /^\s*100-continue\s*$/i.test(this.headers.get('expect') ?? ''),
    ));
  }

  get signal(): AbortSignal {
    return this.channel().signal();
  }

  get bodyUsed(): boolean {
    return this[kUsed] || (this[kReal]?.bodyUsed ?? false);
  }

  get body(): ReadableStream<Uint8Array> | null {
    return this.real().body;
  }

  /** The real Request (built once), for everything the light one does not answer itself. */
  real(): Request {
    let real = this[kReal];
    if (real === undefined) {
      const hasBody = this.method !== 'GET' && this.method !== 'HEAD';
      const init: RequestInit & { duplex?: 'half' } = {
        method: this.method,
        headers: this.headers,
        signal: this.signal,
      };
      if (hasBody) {
        init.body = this[kUsed] ? new ReadableStream({ start: (c) => c.close() }) : bodyStream(this.channel());
        init.duplex = 'half';
      }
      real = new GlobalRequest(this.url, init);
      this[kReal] = real;
    }
    return real;
  }

  private readBody(): Promise<Uint8Array> {
    if (this[kReal] !== undefined) return this[kReal].arrayBuffer().then((b) => new Uint8Array(b));
    if (this[kUsed]) return Promise.reject(new TypeError('Body is unusable: Body has already been read'));
    this[kUsed] = true;
    if (this.method === 'GET' || this.method === 'HEAD') return Promise.resolve(new Uint8Array(0));
    return readAll(this.channel());
  }

  text(): Promise<string> {
    return this.readBody().then((b) => decoder.decode(b));
  }
  json(): Promise<unknown> {
    return this.text().then((t) => JSON.parse(t) as unknown);
  }
  bytes(): Promise<Uint8Array> {
    return this.readBody();
  }
  arrayBuffer(): Promise<ArrayBuffer> {
    return this.readBody().then(
      (b) => (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b.buffer : b.slice().buffer) as ArrayBuffer,
    );
  }
  blob(): Promise<Blob> {
    return this.readBody().then((b) => new Blob([b], { type: this.headers.get('content-type') ?? '' }));
  }
  formData(): Promise<FormData> {
    return this.real().formData();
  }
  clone(): Request {
    return this.real().clone();
  }
}

/**
 * Notes that the response to `request` has gone out once `sent` settles (at once for the settled
 * {@link SENT}), so its signal does not abort for the `http.disconnect` that ends every exchange.
 * Costs nothing for a request whose signal nobody asked for. Returns the promise to wait on.
 */
export function afterResponse(request: Request, sent: Promise<void>): Promise<void> {
  const channel = (request as unknown as { [kChannel]?: BodyChannel })[kChannel];
  if (channel === undefined) return sent;
  if (sent === SENT) {
    channel.responded = true;
    return sent;
  }
  return sent.then(() => {
    channel.responded = true;
  });
}

for (const key of [
  'cache',
  'credentials',
  'destination',
  'duplex',
  'integrity',
  'keepalive',
  'mode',
  'redirect',
  'referrer',
  'referrerPolicy',
] as const) {
  Object.defineProperty(ScopeRequest.prototype, key, {
    get(this: ScopeRequest) {
      return (this.real() as unknown as Record<string, unknown>)[key];
    },
    configurable: true,
  });
}
Object.setPrototypeOf(ScopeRequest.prototype, GlobalRequest.prototype);

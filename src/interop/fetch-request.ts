// A Request built from a gateway scope without building a Request: fetch handlers mostly read the
// method, url and a header or two, so those are plain fields and everything else (streams, signal,
// clone) creates a real Request on first use.
import { lowerHeaderName } from '../gateway/helpers.js';
import type { Address, Headers as HeaderList, HttpReceiveMessage, HttpScope, Receive } from '../gateway/types.js';
import { END_OF_BODY } from '../server/cycle.js';
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

  set(name: string, value: string): void { this.native().set(name, value); }
  append(name: string, value: string): void { this.native().append(name, value); }
  delete(name: string): void { this.native().delete(name); }
  getSetCookie(): string[] { return this.native().getSetCookie(); }
  keys() { return this.native().keys(); }
  values() { return this.native().values(); }
  entries() { return this.native().entries(); }
  forEach(fn: (value: string, key: string, parent: Headers) => void, thisArg?: unknown): void {
    this.native().forEach((v, k) => fn.call(thisArg, v, k, this as unknown as Headers));
  }
  [Symbol.iterator]() { return this.native().entries(); }
}
Object.setPrototypeOf(ScopeHeaders.prototype, GlobalHeaders.prototype);

/** The URL authority when the request has no Host header: the server's address. */
function serverAuthority(server: Address): string {
  return server === null ? 'localhost' : server[0].includes(':') ? `[${server[0]}]:${server[1]}` : `${server[0]}:${server[1]}`;
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
  return `${scope.scheme}://${host ?? serverAuthority(scope.server)}${scope.rawPath}${scope.queryString ? `?${scope.queryString}` : ''}`;
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
    if (name.length === 4 && lowerHeaderName(name) === 'host') {
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

/**
 * Owns the request's `receive()`: body reads go first; the client-disconnect watcher behind
 * `request.signal` starts only once the body is done, so it never swallows a body chunk.
 */
class BodyChannel {
  private bodyDone: boolean;
  private abort: AbortController | undefined;

  constructor(private readonly receive: Receive, hasBody: boolean) {
    this.bodyDone = !hasBody;
  }

  /** An AbortSignal that fires when the host reports the client gone. */
  signal(): AbortSignal {
    if (this.abort === undefined) {
      this.abort = new AbortController();
      if (this.bodyDone) this.watch();
    }
    return this.abort.signal;
  }

  /** The next body message; marks the body done and starts the watcher when it ends. */
  async next(): Promise<HttpReceiveMessage> {
    if (this.bodyDone) return END_OF_BODY;
    const message = (await this.receive()) as HttpReceiveMessage;
    if (message.type === 'http.disconnect') {
      this.bodyDone = true;
      this.abort?.abort(disconnected());
    } else if (!message.moreBody) {
      this.bodyDone = true;
      if (this.abort !== undefined) this.watch();
    }
    return message;
  }

  private watch(): void {
    const abort = this.abort!;
    void (async () => {
      for (;;) {
        const m = (await this.receive()) as HttpReceiveMessage;
        if (m.type === 'http.disconnect') break;
      }
      abort.abort(disconnected());
    })().catch(() => {});
  }
}

/** The request body as a ReadableStream that calls `receive()` only when read (backpressure). */
function bodyStream(channel: BodyChannel): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const message = await channel.next();
      if (message.type === 'http.disconnect') {
        controller.error(disconnected());
        return;
      }
      if (message.body.length > 0) controller.enqueue(message.body);
      if (!message.moreBody) controller.close();
    },
  }, { highWaterMark: 0 });
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
    return (this[kChannel] ??= new BodyChannel(this[kReceive], this.method !== 'GET' && this.method !== 'HEAD'));
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
      const init: RequestInit & { duplex?: 'half' } = { method: this.method, headers: this.headers, signal: this.signal };
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

  text(): Promise<string> { return this.readBody().then((b) => decoder.decode(b)); }
  json(): Promise<unknown> { return this.text().then((t) => JSON.parse(t) as unknown); }
  bytes(): Promise<Uint8Array> { return this.readBody(); }
  arrayBuffer(): Promise<ArrayBuffer> {
    return this.readBody().then((b) => (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b.buffer : b.slice().buffer) as ArrayBuffer);
  }
  blob(): Promise<Blob> {
    return this.readBody().then((b) => new Blob([b], { type: this.headers.get('content-type') ?? '' }));
  }
  formData(): Promise<FormData> { return this.real().formData(); }
  clone(): Request { return this.real().clone(); }
}

for (const key of ['cache', 'credentials', 'destination', 'duplex', 'integrity', 'keepalive', 'mode', 'redirect', 'referrer', 'referrerPolicy'] as const) {
  Object.defineProperty(ScopeRequest.prototype, key, {
    get(this: ScopeRequest) { return (this.real() as unknown as Record<string, unknown>)[key]; },
    configurable: true,
  });
}
Object.setPrototypeOf(ScopeRequest.prototype, GlobalRequest.prototype);

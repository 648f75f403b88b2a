// A Request built from a gateway scope without building a Request: fetch handlers mostly read the
// method, url and a header or two, so those are plain fields and everything else (streams, signal,
// clone) creates a real Request on first use.
import type { HttpReceiveMessage, HttpScope, Receive } from '../gateway/types.js';
import { END_OF_BODY } from '../server/cycle.js';

const GlobalRequest = globalThis.Request;
const GlobalHeaders = globalThis.Headers;
const kScope = Symbol('albany.scope');
const kChannel = Symbol('albany.bodyChannel');
const kReceive = Symbol('albany.receive');
const kReal = Symbol('albany.realRequest');
const kHeaders = Symbol('albany.headers');
const kUsed = Symbol('albany.bodyUsed');
const decoder = new TextDecoder();

/**
 * Headers over the scope's header list: `get`/`has` scan it (a request has a dozen headers, a scan
 * beats building a map); anything else, mutations included, switches to a real Headers.
 */
class ScopeHeaders {
  private list: HttpScope['headers'] | undefined;
  private real: Headers | undefined;

  constructor(list: HttpScope['headers']) {
    this.list = list;
  }

  private native(): Headers {
    if (this.real === undefined) {
      const h = new GlobalHeaders();
      for (const [name, value] of this.list!) h.append(name, value);
      this.real = h;
      this.list = undefined;
    }
    return this.real;
  }

  get(name: string): string | null {
    if (this.list === undefined) return this.native().get(name);
    const lower = name.toLowerCase();
    let value: string | null = null;
    for (const [n, v] of this.list) {
      if (n === lower) value = value === null ? v : `${value}${lower === 'cookie' ? '; ' : ', '}${v}`;
    }
    return value;
  }

  has(name: string): boolean {
    if (this.list === undefined) return this.native().has(name);
    const lower = name.toLowerCase();
    for (const [n] of this.list) if (n === lower) return true;
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

/** The absolute URL a fetch handler expects: scheme, Host (or the server address), raw path, query. */
export function requestUrlOf(scope: HttpScope): string {
  let host: string | undefined;
  for (const [name, value] of scope.headers) {
    if (name === 'host') {
      host = value;
      break;
    }
  }
  if (host === undefined) {
    const server = scope.server;
    host = server === null ? 'localhost' : server[0].includes(':') ? `[${server[0]}]:${server[1]}` : `${server[0]}:${server[1]}`;
  }
  return `${scope.scheme}://${host}${scope.rawPath}${scope.queryString ? `?${scope.queryString}` : ''}`;
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
  declare private readonly [kScope]: HttpScope;
  declare private readonly [kReceive]: Receive;
  // Built on first use: most GET handlers never touch the body or the signal.
  declare private [kChannel]: BodyChannel | undefined;
  declare private [kHeaders]: ScopeHeaders | undefined;
  declare private [kReal]: Request | undefined;
  declare private [kUsed]: boolean;

  constructor(scope: HttpScope, receive: Receive) {
    this.method = scope.method;
    this.url = requestUrlOf(scope);
    this[kScope] = scope;
    this[kReceive] = receive;
    this[kChannel] = undefined;
    this[kHeaders] = undefined;
    this[kReal] = undefined;
    this[kUsed] = false;
  }

  get headers(): Headers {
    return (this[kHeaders] ??= new ScopeHeaders(this[kScope].headers)) as unknown as Headers;
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

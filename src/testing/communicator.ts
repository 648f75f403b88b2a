// Drive any gateway App with scripted messages and no socket, so tests read like the protocol.
import type { App, ReceiveMessage, Scope, SendMessage, HttpScope, Headers } from '../gateway/types.js';
import { GATEWAY_VERSION, SPEC_VERSION } from '../gateway/types.js';
import { AlbanyError, ErrorCodes } from '../errors.js';

/**
 * Runs one app call and lets a test feed `receive()` and read what the app `send()`s.
 *
 * ```ts
 * const c = new Communicator(app, httpScope({ path: '/' }));
 * c.input({ type: 'http.request', body: new Uint8Array(), moreBody: false });
 * const start = await c.output();
 * ```
 */
export class Communicator {
  private readonly inbox: ReceiveMessage[] = [];
  private readonly outbox: SendMessage[] = [];
  private inboxWaiter: (() => void) | undefined;
  private outboxWaiter: (() => void) | undefined;
  /** Settles when the app returns (or rejects with its error). */
  readonly done: Promise<void>;
  private finished = false;
  private failure: unknown;

  constructor(
    app: App,
    readonly scope: Scope,
  ) {
    this.done = Promise.resolve()
      .then(() =>
        app(
          scope,
          () => this.receive(),
          (m) => this.send(m),
        ),
      )
      .then(
        () => {
          this.finished = true;
          this.outboxWaiter?.();
        },
        (error: unknown) => {
          this.finished = true;
          this.failure = error;
          this.outboxWaiter?.();
          throw error;
        },
      );
    // The test may never await `done`; keep a rejection from being reported as unhandled.
    this.done.catch(() => {});
  }

  /** Queues a message for the app's next `receive()`. */
  input(message: ReceiveMessage): void {
    this.inbox.push(message);
    const wake = this.inboxWaiter;
    this.inboxWaiter = undefined;
    wake?.();
  }

  /**
   * The next message the app sent, waiting up to `timeoutMs`. Rejects with the app's own error if
   * it failed, or `ERR_ALBANY_TIMEOUT` if nothing came.
   */
  async output(timeoutMs = 2000): Promise<SendMessage> {
    const deadline = Date.now() + timeoutMs;
    while (this.outbox.length === 0) {
      if (this.finished) {
        if (this.failure !== undefined) throw this.failure;
        throw new AlbanyError(ErrorCodes.ERR_ALBANY_TIMEOUT, 'the app returned without sending another message');
      }
      const left = deadline - Date.now();
      if (left <= 0)
        throw new AlbanyError(ErrorCodes.ERR_ALBANY_TIMEOUT, `no message from the app within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.outboxWaiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.outboxWaiter = undefined;
    }
    return this.outbox.shift()!;
  }

  /** True when the app sent nothing more within `timeoutMs`. */
  async nothingSent(timeoutMs = 50): Promise<boolean> {
    if (this.outbox.length) return false;
    await new Promise((r) => setTimeout(r, timeoutMs));
    return this.outbox.length === 0;
  }

  private async receive(): Promise<ReceiveMessage> {
    while (this.inbox.length === 0) await new Promise<void>((resolve) => (this.inboxWaiter = resolve));
    return this.inbox.shift()!;
  }

  private async send(message: SendMessage): Promise<void> {
    this.outbox.push(message);
    const wake = this.outboxWaiter;
    this.outboxWaiter = undefined;
    wake?.();
  }
}

/** Builds an http scope with sensible test defaults; pass any field to override. */
export function httpScope(overrides: Partial<HttpScope> & { headers?: Headers } = {}): HttpScope {
  const path = overrides.path ?? '/';
  return {
    type: 'http',
    albany: { version: GATEWAY_VERSION, specVersion: SPEC_VERSION },
    httpVersion: '1.1',
    method: 'GET',
    scheme: 'http',
    path,
    rawPath: overrides.rawPath ?? path,
    queryString: '',
    rootPath: '',
    headers: [],
    client: ['127.0.0.1', 50000],
    server: ['127.0.0.1', 8000],
    state: {},
    ...overrides,
  };
}

/** Reads a complete http response from a communicator: status, headers and the joined body. */
export async function collectResponse(
  c: Communicator,
  timeoutMs = 2000,
): Promise<{ status: number; headers: Headers; body: Buffer }> {
  const start = await c.output(timeoutMs);
  if (start.type !== 'http.response.start')
    throw new AlbanyError(ErrorCodes.ERR_ALBANY_INVALID_MESSAGE, `expected http.response.start, got ${start.type}`);
  const chunks: Uint8Array[] = [];
  for (;;) {
    const m = await c.output(timeoutMs);
    if (m.type !== 'http.response.body')
      throw new AlbanyError(ErrorCodes.ERR_ALBANY_INVALID_MESSAGE, `expected http.response.body, got ${m.type}`);
    if (m.body) chunks.push(m.body);
    if (!m.moreBody) break;
  }
  return { status: start.status, headers: start.headers ?? [], body: Buffer.concat(chunks) };
}

/**
 * Runs one whole http request through `app` without a socket: the scope is {@link httpScope}(`scope`),
 * `body` arrives as one chunk (with a `content-length` header added, as any client sends one, unless
 * `scope.headers` has one or a `transfer-encoding`), and the response is collected. Rejects with the app's own error,
 * or
 * `ERR_ALBANY_TIMEOUT` when a message takes longer than `timeoutMs`.
 *
 * ```ts
 * const res = await httpRequest(app, { method: 'POST', path: '/items', queryString: 'a=1' }, 'payload');
 * ```
 */
export async function httpRequest(
  app: App,
  scope: Partial<HttpScope> & { headers?: Headers } = {},
  body: Uint8Array | string = new Uint8Array(0),
  timeoutMs = 2000,
): Promise<{ status: number; headers: Headers; body: Buffer }> {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const headers = scope.headers ?? [];
  const framed = headers.some(([name]) => /^(?:content-length|transfer-encoding)$/i.test(name));
  const length: Headers = bytes.length === 0 || framed ? [] : [['content-length', String(bytes.length)]];
  const c = new Communicator(app, httpScope({ ...scope, headers: [...headers, ...length] }));
  c.input({ type: 'http.request', body: bytes, moreBody: false });
  const response = await collectResponse(c, timeoutMs);
  await c.done;
  return response;
}

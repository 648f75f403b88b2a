// Shared socket-test helpers: start a real server on 127.0.0.1:0 with teardown, capture its log,
// and talk raw HTTP over net for the cases fetch cannot express (malformed input, slow clients).
import net from 'node:net';
import type { ExecutionContext } from 'ava';
import { serve, type AlbanyServer } from '../../src/server/http.js';
import type { Logger, ServerOptions } from '../../src/server/options.js';
import type { App, HttpReceiveMessage, HttpScope, Send } from '../../src/gateway/types.js';

/** A logger that keeps every line, so tests can assert what was (and was not) logged. */
export interface CapturedLog extends Logger {
  readonly lines: Array<{ level: string; msg: string }>;
  /** Lines at `error` level. */
  errors(): string[];
}

export function captureLogger(): CapturedLog {
  const lines: Array<{ level: string; msg: string }> = [];
  const at = (level: string) => (msg: string) => void lines.push({ level, msg });
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    errors: () => lines.filter((l) => l.level === 'error').map((l) => l.msg),
  };
}

/** A started server plus its captured log. */
export interface TestServer extends AlbanyServer {
  log: CapturedLog;
}

/**
 * Serves `app` on 127.0.0.1 with an OS-picked port (lifespan off unless asked) and closes it when
 * the test ends, cutting any connection the test left open so teardown is always bounded.
 */
export async function startServer(t: ExecutionContext, app: App, options: ServerOptions = {}): Promise<TestServer> {
  const log = captureLogger();
  const running = await serve(app, {
    host: '127.0.0.1',
    port: 0,
    lifespan: 'off',
    gracefulTimeoutMs: 1000,
    logger: log,
    ...options,
  });
  t.teardown(async () => {
    const timer = setTimeout(() => running.server.closeAllConnections(), 2000);
    try {
      await running.close();
    } catch {
      // A test that checks close() itself may already have seen this error.
    } finally {
      clearTimeout(timer);
    }
  });
  return Object.assign(running, { log });
}

/** Narrows the scope (and what receive yields) for http-only test apps. */
export function httpApp(
  fn: (scope: HttpScope, receive: () => Promise<HttpReceiveMessage>, send: Send) => Promise<void>,
): App {
  return async (scope, receive, send) => {
    if (scope.type !== 'http') throw new Error(`test app got a ${scope.type} scope`);
    await fn(scope, receive as () => Promise<HttpReceiveMessage>, send);
  };
}

/** Sends a plain-text 200 with `body`. */
export async function sendText(send: Send, body: string, status = 200): Promise<void> {
  await send({ type: 'http.response.start', status, headers: [['content-type', 'text/plain']] });
  await send({ type: 'http.response.body', body: Buffer.from(body) });
}

/** Opens a TCP connection to 127.0.0.1:`port`. */
export function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Everything a raw exchange produced. */
export interface RawResult {
  /** All bytes the server sent, as latin1. */
  text: string;
  /** How the exchange ended: the server closed, reset, or we gave up waiting. */
  ended: 'close' | 'error' | 'timeout';
}

/**
 * Collects what the server sends on `socket` until it closes the connection, or until `until`
 * matches what arrived so far, or `timeoutMs` passes (then the socket is destroyed).
 */
export function collect(
  socket: net.Socket,
  opts: { timeoutMs?: number; until?: (text: string) => boolean } = {},
): Promise<RawResult> {
  const { timeoutMs = 5000, until } = opts;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (ended: RawResult['ended']) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off('data', onData);
      resolve({ text: Buffer.concat(chunks).toString('latin1'), ended });
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      if (until?.(Buffer.concat(chunks).toString('latin1'))) finish('close');
    };
    const timer = setTimeout(() => {
      finish('timeout');
      socket.destroy();
    }, timeoutMs);
    socket.on('data', onData);
    socket.once('close', () => finish('close'));
    socket.once('error', () => finish('error'));
  });
}

/** Writes `data` on a fresh connection and collects the reply (see {@link collect}). */
export async function rawRequest(
  port: number,
  data: string | Buffer,
  opts: { timeoutMs?: number; until?: (text: string) => boolean } = {},
): Promise<RawResult> {
  const socket = await connect(port);
  const result = collect(socket, opts);
  socket.write(data);
  const r = await result;
  socket.destroy();
  return r;
}

/** True once `text` holds one complete response whose body is framed by content-length or chunked. */
export function hasCompleteResponse(text: string, count = 1): boolean {
  let rest = text;
  for (let n = 0; n < count; n++) {
    const end = rest.indexOf('\r\n\r\n');
    if (end === -1) return false;
    const head = rest.slice(0, end).toLowerCase();
    const body = rest.slice(end + 4);
    const cl = /\r\ncontent-length: *(\d+)/.exec(head);
    if (cl) {
      const len = Number(cl[1]);
      if (body.length < len) return false;
      rest = body.slice(len);
    } else if (/\r\ntransfer-encoding: *chunked/.test(head)) {
      const last = body.indexOf('0\r\n');
      const stop = last === -1 ? -1 : body.indexOf('\r\n\r\n', last);
      if (stop === -1) return false;
      rest = body.slice(stop + 4);
    } else {
      return false;
    }
  }
  return true;
}

/** Splits a raw HTTP/1.1 response into status, lower-cased headers and body text. */
export function parseRaw(text: string): { status: number; headers: Record<string, string | undefined>; body: string } {
  const end = text.indexOf('\r\n\r\n');
  const head = end === -1 ? text : text.slice(0, end);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string | undefined> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body: end === -1 ? '' : text.slice(end + 4) };
}

/** Polls `check` every 10 ms until it is true or `timeoutMs` passes; returns the last result. */
export async function waitFor(check: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await delay(10);
  }
  return true;
}

export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A promise with its resolve exposed, for handing signals between the test and the app. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** The status line (without CRLF) a raw `GET path` gets from `port` on 127.0.0.1, byte for byte. */
export function statusLine(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () =>
      socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
    );
    let data = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      data = Buffer.concat([data, d]);
    });
    socket.on('close', () => resolve(data.subarray(0, data.indexOf('\r\n')).toString('latin1')));
    socket.on('error', reject);
  });
}

// Phusion Passenger's trick for node apps: while albany imports an app module, the app's own
// `app.listen(3000)` (Express calls http.createServer(app).listen) is caught instead of binding a
// port, and the server's 'request' listener becomes the handler albany serves. So the Express docs'
// hello world runs unchanged, with albany doing the listening.
import { AsyncLocalStorage } from 'node:async_hooks';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

/** A node `(req, res)` handler taken from a server the app asked to listen. */
export type CapturedHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** The app's first `listen()` call, caught during its import: nothing was bound. */
export interface CapturedListen {
  /** The server's 'request' listener(s), called in order as node would. */
  handler: CapturedHandler;
  /** What the app asked for, e.g. `listen(3000)` or `listen("/tmp/app.sock")`, for log lines. */
  call: string;
  /** The server the app created; it reports itself as listening. */
  server: net.Server;
  /** Makes `server.address()` answer albany's real address once it is known. */
  setAddress(address: net.AddressInfo | string): void;
}

/**
 * How long albany waits after the import for a `listen()` made later (after an await) when the module exports nothing.
 */
export const LISTEN_GRACE_MS = 2000;

interface Session {
  captured: CapturedListen | undefined;
  warn: (message: string) => void;
  onCapture: (() => void) | undefined;
}

const context = new AsyncLocalStorage<Session>();
const sessions = new Set<Session>();
let originalListen: typeof net.Server.prototype.listen | undefined;

/**
 * Runs `load` (a module import) with `net.Server.prototype.listen` hooked; the first listen of an
 * http(s) server with a 'request' listener is captured instead of bound. The hook stays one
 * macrotask after `load` settles (a listen in a `.then` or `nextTick` right after the import), and
 * up to `graceMs` more when `wantsListen(value)` says the module gave nothing usable (a CommonJS app
 * that listens after `await db.connect()`). A second listen, or a listen on a raw `net.Server`,
 * binds for real with a one-line warning.
 */
export async function captureListen<T>(
  load: () => Promise<T>,
  options: { wantsListen: (value: T) => boolean; warn: (message: string) => void; graceMs?: number },
): Promise<{ value: T; captured: CapturedListen | undefined }> {
  const session: Session = { captured: undefined, warn: options.warn, onCapture: undefined };
  sessions.add(session);
  install();
  try {
    const value = await context.run(session, load);
    await new Promise((resolve) => setImmediate(resolve));
    if (session.captured === undefined && options.wantsListen(value)) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.graceMs ?? LISTEN_GRACE_MS);
        session.onCapture = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return { value, captured: session.captured };
  } finally {
    sessions.delete(session);
    if (sessions.size === 0) uninstall();
  }
}

function install(): void {
  if (originalListen !== undefined) return;
  const original = net.Server.prototype.listen;
  originalListen = original;
  net.Server.prototype.listen = function hookedListen(this: net.Server, ...args: unknown[]) {
    // Attributed by async context; a load whose context was lost still owns it when it is the only one.
    const session = context.getStore() ?? (sessions.size === 1 ? [...sessions][0] : undefined);
    if (session === undefined) return original.apply(this, args as Parameters<typeof original>);
    const call = describeCall(args);
    const isHttp = this instanceof http.Server || this instanceof https.Server;
    if (session.captured !== undefined || !isHttp || this.listeners('request').length === 0) {
      const why =
        session.captured !== undefined
          ? `the app already listened (${session.captured.call}, served by albany)`
          : 'it is not an http server with a request handler';
      session.warn(`the app's ${call} binds for real: ${why}`);
      return original.apply(this, args as Parameters<typeof original>);
    }
    session.captured = fakeListening(this, args, call);
    session.onCapture?.();
    return this;
  } as typeof net.Server.prototype.listen;
}

function uninstall(): void {
  if (originalListen === undefined) return;
  net.Server.prototype.listen = originalListen;
  originalListen = undefined;
  // On Node 20 an AsyncLocalStorage that has run() once keeps async_hooks' promise hooks on for the
  // process until it is disabled: every promise of every request would pay for them (bench:scale
  // --instructions measured albany serve at ~15k more Ir per request than serve() without it).
  context.disable();
}

/** The server behaves as listening enough for the app: its callback runs, 'listening' is emitted, address() answers. */
function fakeListening(server: net.Server, args: unknown[], call: string): CapturedListen {
  const listeners = server.listeners('request') as CapturedHandler[];
  const handler: CapturedHandler =
    listeners.length === 1
      ? listeners[0]!
      : (req, res) => {
          for (const listener of listeners) listener.call(server, req, res);
        };
  let address: net.AddressInfo | string | null = requestedAddress(args);
  Object.defineProperty(server, 'address', { configurable: true, value: () => address });
  Object.defineProperty(server, 'listening', { configurable: true, get: () => true });
  const callback = [...args].reverse().find((a) => typeof a === 'function') as (() => void) | undefined;
  if (callback !== undefined) server.once('listening', callback);
  // node emits 'listening' after listen() returns; the app's code after the call runs first.
  process.nextTick(() => server.emit('listening'));
  return { handler, call, server, setAddress: (real) => (address = real) };
}

/** The port (or pipe path) the app asked for, as node's address() would give it. */
function requestedAddress(args: unknown[]): net.AddressInfo | string | null {
  let first = args[0];
  if (first !== null && typeof first === 'object')
    first = (first as { port?: unknown; path?: unknown }).port ?? (first as { path?: unknown }).path;
  if (typeof first === 'string' && !/^\d+$/.test(first)) return first;
  const port = Number(first ?? 0);
  return { address: '::', family: 'IPv6', port: Number.isInteger(port) ? port : 0 };
}

function describeCall(args: unknown[]): string {
  const shown = args
    .filter((a) => typeof a !== 'function')
    .map((a) =>
      typeof a === 'object' && a !== null ? JSON.stringify(a) : typeof a === 'string' ? JSON.stringify(a) : String(a),
    );
  return `listen(${shown.join(', ')})`;
}

/**
 * True when a module gave albany nothing to serve on its own: no value, or a CommonJS module's
 * untouched `module.exports` (an empty plain object), so a captured listen may stand in for it.
 */
export function isNoExport(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  return (
    typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype && Object.keys(value).length === 0
  );
}

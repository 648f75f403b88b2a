// The stand-in for net.Socket behind interop requests and responses: frameworks read addresses and
// TLS state from it, on-finished and Koa listen for its `error`/`close`, and Koa destroys it to cut
// a connection. Nothing is ever written to it: the bytes go out as gateway messages.
import { EventEmitter } from 'node:events';
import type { Address } from '../gateway/types.js';

/**
 * Enough of a `net.Socket` for Express, Koa, on-finished and node's own OutgoingMessage:
 * `remoteAddress`, `remotePort`, `localAddress`, `localPort`, `encrypted`, `readable`/`writable`,
 * `destroyed`, cork/uncork bookkeeping, and the timeout/keep-alive setters (accepted and ignored:
 * the real socket belongs to the albany host). `destroy(error)` tears the exchange down the way a
 * real connection's end does: `error` (if any, and only when someone listens), then the request's
 * `aborted`, the response's `close`, the socket's `close`, the request's `error`/`close`.
 */
export class GatewaySocket extends EventEmitter {
  /** Client address from `scope.client`. */
  readonly remoteAddress: string | undefined;
  /** Client port from `scope.client`. */
  readonly remotePort: number | undefined;
  /** Server address from `scope.server`. */
  readonly localAddress: string | undefined;
  /** Server port from `scope.server`. */
  readonly localPort: number | undefined;
  /** True when the scope's scheme is https (Express's `req.protocol`, Koa's `ctx.secure`). */
  readonly encrypted: boolean | undefined;
  readable = true;
  writable = true;
  destroyed = false;
  /** Node sizes IncomingMessage's buffer from this. */
  readonly readableHighWaterMark = 16 * 1024;
  /** Bytes queued on the socket: always 0 (node's writableLength adds it). */
  readonly writableLength = 0;
  /** Read by OutgoingMessage#end (it resets `corked`) and by stream.finished. */
  readonly _writableState = { corked: 0, closed: false, destroyed: false, errored: null as Error | null };
  /** Set by `ServerResponse#assignSocket`; node's end() checks it before emitting 'prefinish'. */
  _httpMessage: unknown = null;
  /**
   * Called once, synchronously, when the socket is destroyed (by the host reporting the client gone,
   * or by the handler): the exchange stops its output there. `error` is what destroy() was given.
   */
  onDestroy: ((error: Error | undefined, peerGone: boolean) => void) | undefined;
  /** Called once, just before `close`, so the request can be aborted in node's order. */
  onClose: (() => void) | undefined;

  constructor(client: Address, server: Address, secure: boolean) {
    super();
    this.remoteAddress = client?.[0];
    this.remotePort = client?.[1];
    this.localAddress = server?.[0];
    this.localPort = server?.[1];
    this.encrypted = secure ? true : undefined;
  }

  /** Address of the server side, like `net.Socket#address()`. */
  address(): { address: string; port: number; family: string } | Record<string, never> {
    if (this.localAddress === undefined) return {};
    return { address: this.localAddress, port: this.localPort!, family: this.localAddress.includes(':') ? 'IPv6' : 'IPv4' };
  }

  /** Like `net.Socket#writableCorked`. */
  get writableCorked(): number {
    return this._writableState.corked;
  }

  setTimeout(_ms?: number, _cb?: () => void): this { return this; }
  setNoDelay(_on?: boolean): this { return this; }
  setKeepAlive(_on?: boolean, _delay?: number): this { return this; }
  ref(): this { return this; }
  unref(): this { return this; }
  cork(): void { this._writableState.corked++; }
  uncork(): void { if (this._writableState.corked > 0) this._writableState.corked--; }
  pause(): this { return this; }
  resume(): this { return this; }

  /**
   * Ends the connection: the exchange stops at once (`onDestroy`), the events follow on the next
   * tick in node's order. A second call does nothing.
   */
  destroy(error?: Error): this {
    return this.end(error, false);
  }

  /** The host reported the client gone: like a peer's reset on a real socket. */
  hangUp(): this {
    return this.end(undefined, true);
  }

  private end(error: Error | undefined, peerGone: boolean): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.readable = false;
    this.writable = false;
    const state = this._writableState;
    state.destroyed = true;
    if (error) state.errored = error;
    const onDestroy = this.onDestroy;
    this.onDestroy = undefined;
    onDestroy?.(error, peerGone);
    process.nextTick(() => this.closeNow(error));
    return this;
  }

  private closeNow(error: Error | undefined): void {
    // A real socket with no 'error' listener would crash the process; node's server always listens.
    if (error && this.listenerCount('error') > 0) this.emit('error', error);
    const onClose = this.onClose;
    this.onClose = undefined;
    onClose?.();
    this._writableState.closed = true;
    // ServerResponse#assignSocket registered its listener first, so `res` closes before the others hear it.
    this.emit('close', error !== undefined);
  }
}

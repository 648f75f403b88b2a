// The stand-in for net.Socket behind interop requests and responses: frameworks read addresses and
// TLS state from it, on-finished and Koa listen for its `error`/`close`, and Koa destroys it to cut
// a connection. Nothing is ever written to it: the bytes go out as gateway messages.
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Address, HttpReceiveMessage, Receive } from '../gateway/types.js';
import { pullBody, type BodySocket } from './node-request.js';
import { closeResponse } from './node-response.js';

/** What the exchange that owns a stand-in socket is told when it ends. */
export interface SocketOwner {
  /**
   * Called once, synchronously, when the socket is destroyed (by the handler, or with `peerGone`
   * when the host reported the client gone): the exchange stops its output there.
   */
  socketDestroyed(error: Error | undefined, peerGone: boolean): void;
  /** Called once, just before `close`, so the request can be aborted in node's order. */
  socketClosing(): void;
}

// EventEmitter without EventEmitter.init: that allocates each socket a listener table (a null-prototype
// dictionary) up front, and most exchanges never listen on their socket. Node's emitter methods make the
// table on the first `on()`, and read an absent one as "no listeners".
function LazyEmitter(): void {}
LazyEmitter.prototype = EventEmitter.prototype;
const LazyEventEmitter = LazyEmitter as unknown as typeof EventEmitter;

/**
 * Enough of a `net.Socket` for Express, Koa, on-finished and node's own OutgoingMessage:
 * `remoteAddress`, `remotePort`, `localAddress`, `localPort`, `encrypted`, `readable`/`writable`,
 * `destroyed`, cork/uncork bookkeeping, and the timeout/keep-alive setters (accepted and ignored:
 * the real socket belongs to the albany host). `destroy(error)` tears the exchange down the way a
 * real connection's end does: `error` (if any, and only when someone listens), then the request's
 * `aborted`, the response's `close`, the socket's `close`, the request's `error`/`close`.
 */
export class GatewaySocket extends LazyEventEmitter implements BodySocket {
  // EventEmitter's own fields, declared so that adding the first listener keeps the shape.
  _events: Record<string | symbol, unknown> | undefined = undefined;
  _eventsCount = 0;
  _maxListeners: number | undefined = undefined;
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
  /**
   * The response on this socket until it finished. Not node's `_httpMessage`: with that set, every
   * end() would also run `_finish()` and emit 'prefinish', slow lookups on a response whose
   * prototype Express swapped, for an event nothing here relies on.
   */
  response: ServerResponse | null = null;
  /** Who hears the socket end (the exchange): set once, right after construction. */
  owner: SocketOwner | undefined = undefined;
  /** The request whose body this socket feeds (see {@link resume}); set once, by createIncomingMessage. */
  request: IncomingMessage | null = null;
  /** Where the body comes from: the gateway's `receive()`... */
  receive: Receive | undefined = undefined;
  /** ...or, in a legacy worker, a blocking reader used instead. */
  receiveSync: (() => HttpReceiveMessage) | undefined = undefined;
  /** True while a `receive()` for the body is pending. */
  pulling = false;
  /** Called once the whole body has been received (the disconnect watcher waits for it). */
  onBodyComplete: (() => void) | undefined = undefined;

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
    return {
      address: this.localAddress,
      port: this.localPort!,
      family: this.localAddress.includes(':') ? 'IPv6' : 'IPv4',
    };
  }

  /** Like `net.Socket#writableCorked`. */
  get writableCorked(): number {
    return this._writableState.corked;
  }

  setTimeout(_ms?: number, _cb?: () => void): this {
    return this;
  }
  setNoDelay(_on?: boolean): this {
    return this;
  }
  setKeepAlive(_on?: boolean, _delay?: number): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
  cork(): void {
    this._writableState.corked++;
  }
  uncork(): void {
    if (this._writableState.corked > 0) this._writableState.corked--;
  }
  pause(): this {
    return this;
  }
  /**
   * Node's `IncomingMessage#_read` calls this when the request's consumer wants more body: the
   * next message is read from the gateway (nothing happens while one is pending or once the body
   * is complete).
   */
  resume(): this {
    pullBody(this);
    return this;
  }

  /**
   * Ends the connection: the owning exchange stops at once, the events follow in the next turn
   * in node's order. A second call does nothing.
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
    // Closed at once for stream.finished() (IncomingMessage#destroy waits on it), as a real socket
    // is by the time it reports; its 'close' event comes a turn later, also as on a real socket.
    state.closed = true;
    if (error) state.errored = error;
    this.owner?.socketDestroyed(error, peerGone);
    setImmediate(() => this.closeNow(error));
    return this;
  }

  private closeNow(error: Error | undefined): void {
    // A real socket with no 'error' listener would crash the process; node's server always listens.
    if (error && this.listenerCount('error') > 0) this.emit('error', error);
    this.owner?.socketClosing();
    // As ServerResponse#assignSocket's listener would, first: `res` closes before the socket's listeners hear it.
    const res = this.response;
    if (res !== null) closeResponse(res);
    this.emit('close', error !== undefined);
  }
}

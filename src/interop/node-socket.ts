// The stand-in for net.Socket behind interop requests: frameworks read addresses and TLS state from
// `req.socket`, and on-finished listens for its `close`; nothing is ever written to it.
import { EventEmitter } from 'node:events';
import type { Address } from '../gateway/types.js';

/**
 * Enough of a `net.Socket` for what Express, Koa and their middleware read: `remoteAddress`,
 * `remotePort`, `localAddress`, `localPort`, `encrypted`, `readable`/`writable`, `destroyed`, and the
 * timeout/keep-alive setters (accepted and ignored: the real socket belongs to the albany host).
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

  setTimeout(_ms?: number, _cb?: () => void): this { return this; }
  setNoDelay(_on?: boolean): this { return this; }
  setKeepAlive(_on?: boolean, _delay?: number): this { return this; }
  ref(): this { return this; }
  unref(): this { return this; }
  cork(): void {}
  uncork(): void {}
  pause(): this { return this; }
  resume(): this { return this; }

  /** Marks the connection gone and emits `close` once (what the host reported, or the handler asked). */
  destroy(error?: Error): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.readable = false;
    this.writable = false;
    process.nextTick(() => {
      if (error && this.listenerCount('error') > 0) this.emit('error', error);
      this.emit('close', error !== undefined);
    });
    return this;
  }
}

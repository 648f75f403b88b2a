// The embedded HTTP host: a node:http (or, with TLS, node:http2) server built, listening and closed
// gracefully, with lifespan around it. Requests go through http-host.ts, upgrades through websocket.ts.
import http from 'node:http';
import type { ServerHttp2Session } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import net, { type AddressInfo, type Socket } from 'node:net';
import type { App, Address } from '../gateway/types.js';
import { Lifespan } from './lifespan.js';
import { resolveServerOptions, type ResolvedServerOptions, type ServerOptions } from './options.js';
import { connectionOf } from './http-connection.js';
import { createRequestHandler, type GatewayRequestHandler } from './http-host.js';
import { connectionsCheckMs } from './check-periods.js';
import { attachWebSocket } from './websocket.js';
import { createSecureHost } from './tls.js';
import { acquireBlockDetector } from '../observe/block-detector.js';

export { createRequestHandler, type GatewayRequestHandler } from './http-host.js';

// How long close() lets a just-opened connection send its first request.
const FRESH_CONNECTION_GRACE_MS = 1000;

/**
 * The node server under an albany host: node:http's, or with `tls` node:http2's secure server
 * (typed as node:http's so existing code keeps compiling: it serves HTTP/1.1 too, emits the same
 * `request`, `upgrade` and `checkContinue` events, and albany gives it `closeAllConnections`).
 */
export type NodeServer = http.Server;

/** A running albany HTTP server. */
export interface AlbanyServer {
  /** The underlying node server (for `upgrade` listeners and the like); see {@link NodeServer}. */
  readonly server: NodeServer;
  /** `http://host:port` (`https://` with `tls`, `http+unix://…` for a Unix socket). */
  readonly url: string;
  /** The bound port (0 for Unix sockets). */
  readonly port: number;
  /** The resolved options in force. */
  readonly options: ResolvedServerOptions;
  /** Lifespan state shared into request scopes. */
  readonly state: Record<string, unknown>;
  /**
   * Graceful stop: refuse new connections, let in-flight requests finish within gracefulTimeoutMs, run lifespan
   * shutdown.
   */
  close(): Promise<void>;
  /**
   * Prepares a hand-over to a successor (a cluster reload, `--max-requests`): from now on every
   * response asks the client to close, and close() lets connections kept alive until then end on
   * their own (after their next response, or at the keep-alive timeout) instead of cutting them
   * between requests, where a client may be sending its next request at that instant.
   */
  retire(): void;
}

/**
 * Creates (but does not start) a node:http server running `app`. Use {@link serve} to also run
 * the lifespan protocol and listen.
 */
export function createServer(
  app: App,
  options: ServerOptions = {},
  state: Record<string, unknown> = {},
): { server: NodeServer; handler: GatewayRequestHandler; options: ResolvedServerOptions } {
  const resolved = resolveServerOptions(options);
  const server: NodeServer =
    resolved.tls !== undefined
      ? (createSecureHost(resolved) as unknown as http.Server)
      : http.createServer({
          maxHeaderSize: resolved.maxHeaderSize,
          headersTimeout: resolved.headersTimeoutMs,
          requestTimeout: resolved.requestTimeoutMs,
          keepAliveTimeout: resolved.keepAliveTimeoutMs,
          // Node checks the two timeouts above only this often (see check-periods.ts).
          connectionsCheckingInterval: connectionsCheckMs(resolved.headersTimeoutMs, resolved.requestTimeoutMs),
          noDelay: true,
        });
  let address: Address = null;
  server.on('listening', () => {
    const a = server.address();
    address = a !== null && typeof a === 'object' ? [(a as AddressInfo).address, (a as AddressInfo).port] : null;
  });
  const handler = createRequestHandler(app, resolved, state, () => address);
  if (resolved.tls !== undefined) {
    // The TLS socket, after the handshake: its ALPN choice says whether a session will carry it.
    server.on('secureConnection', handler.connection);
    server.on('session', handler.session);
  } else server.on('connection', handler.connection);
  server.on('request', handler);
  server.on('checkContinue', handler.checkContinue);
  return { server, handler, options: resolved };
}

/**
 * Runs lifespan startup, then listens. Resolves once the server accepts connections; rejects with
 * `ERR_ALBANY_LIFESPAN` if the app's startup failed (nothing is left listening).
 */
export async function serve(app: App, options: ServerOptions = {}): Promise<AlbanyServer> {
  const resolved = resolveServerOptions(options);
  const lifespan = new Lifespan(app, resolved.lifespan, resolved.logger);
  // From startup on: a blocking startup is worth a line too. Released when the server has closed.
  const releaseDetector = acquireBlockDetector(resolved.blockThresholdMs, resolved.logger);
  try {
    await lifespan.startup();
  } catch (error) {
    releaseDetector();
    throw error;
  }
  // The app has started (pools, timers): a server that cannot be built (a TLS key node refuses) or
  // bound gives it its shutdown, and stops the detector, before the error is reported.
  const abandon = async (error: unknown): Promise<never> => {
    await lifespan.shutdown().catch((e: unknown) => resolved.logger.error(`lifespan: ${(e as Error).message}`));
    releaseDetector();
    throw error;
  };
  let built: ReturnType<typeof createServer>;
  try {
    built = createServer(app, { ...options, logger: resolved.logger }, lifespan.state);
  } catch (error) {
    return abandon(error);
  }
  const { server, handler } = built;
  // Upgrade requests run the app in a websocket scope; `options.websocket: false` turns that off.
  const wsOption = options.websocket;
  const websocket =
    wsOption === false
      ? undefined
      : attachWebSocket(server, app, {
          ...wsOption,
          rootPath: resolved.rootPath,
          state: lifespan.state,
          proxyHeaders: resolved.proxyHeaders,
          forwardedAllowIps: resolved.forwardedAllowIps,
          logError: (m) => resolved.logger.error(m),
          logWarning: (m) => resolved.logger.warn(m),
        });
  // With TLS, the connections whose books close() reads are the TLS sockets (after the handshake);
  // `raw` holds every TCP socket.
  const tls = resolved.tls !== undefined;
  const raw = new Set<Socket>();
  const sockets = tls ? new Set<Socket>() : raw;
  const keep = (set: Set<Socket>) => (socket: Socket) => {
    set.add(socket);
    socket.once('close', () => set.delete(socket));
  };
  server.on('connection', keep(raw));
  if (tls) server.on('secureConnection', keep(sockets));
  const sessions = new Set<ServerHttp2Session>();
  if (tls) server.on('session', keep(sessions as unknown as Set<Socket>));
  // An HTTP/2 connection is drained by its session (GOAWAY), not by closing its socket.
  const isH2 = (socket: Socket) => (socket as TLSSocket).alpnProtocol === 'h2';

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      if (resolved.uds) server.listen(resolved.uds, resolve);
      else server.listen(resolved.port, resolved.host, resolve);
    });
  } catch (error) {
    handler.dispose();
    return abandon(error);
  }
  const a = server.address();
  const port = a !== null && typeof a === 'object' ? a.port : 0;
  const host = resolved.host.includes(':') ? `[${resolved.host}]` : resolved.host;
  const url = resolved.uds
    ? `http+unix://${encodeURIComponent(resolved.uds)}`
    : `${tls ? 'https' : 'http'}://${host}:${port}`;

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      // Stop accepting without node's http close(), which also drops connections that have not sent
      // their first request yet: a client that connected a moment ago would see a reset.
      const stopped = new Promise<void>((resolve) => net.Server.prototype.close.call(server, () => resolve()));
      const idle = () => new Promise<void>((resolve) => handler.drain(resolve));
      websocket?.close(1001);
      // GOAWAY on every HTTP/2 session: the client starts no new streams there, open ones finish,
      // and node closes the session's socket after the last.
      for (const session of sessions) session.close();
      const timer = setTimeout(() => server.closeAllConnections(), resolved.gracefulTimeoutMs);
      // A retired server (reload, maxRequests) hands over to its successor: a connection it kept alive
      // is not cut between requests (its client may be sending the next one at that instant), it ends
      // on its own, within the keep-alive timeout (see HttpHost.retire); gracefulTimeoutMs bounds it.
      const cutServed = !handler.retired;
      const destroyIdle = (fresh: boolean, served: boolean) => {
        for (const socket of sockets) {
          if (isH2(socket)) continue;
          const connection = connectionOf(socket);
          if ((connection?.open.length ?? 0) === 0 && (connection?.served === true ? served : fresh))
            socket.destroySoon();
        }
      };
      // Connections between requests go now; new ones get a short window to send their request,
      // which is then answered with connection: close.
      destroyIdle(false, cutServed);
      const freshWindow = new Promise<void>((resolve) =>
        setTimeout(resolve, Math.min(FRESH_CONNECTION_GRACE_MS, resolved.gracefulTimeoutMs)),
      );
      await idle();
      if ([...sockets].some((socket) => !isH2(socket) && connectionOf(socket)?.served !== true && !socket.destroyed)) {
        await freshWindow;
        await idle();
      }
      destroyIdle(true, cutServed);
      await stopped;
      clearTimeout(timer);
      handler.dispose();
      try {
        await lifespan.shutdown();
      } finally {
        releaseDetector();
      }
    })());

  const retire = () => handler.retire();
  return { server, url, port, options: resolved, state: lifespan.state, close, retire };
}

// The FastCGI host: what nginx's `fastcgi_pass` talks to. Listens on TCP or a Unix socket, runs
// lifespan, and closes gracefully like the HTTP server.
import { promises as fsp } from 'node:fs';
import net from 'node:net';
import { AlbanyError, ErrorCodes } from '../errors.js';
import type { App } from '../gateway/types.js';
import { FastCGIConnection, type FastCGIContext } from './fastcgi-connection.js';
import { Lifespan } from './lifespan.js';
import { resolveServerOptions, type ResolvedServerOptions, type ServerOptions } from './options.js';

/** Options for {@link serveFastCGI}: the server options (limits, lifespan, proxy headers, …) plus where to listen. */
export interface FastCGIOptions extends Omit<ServerOptions, 'uds'> {
  /** Listen on this Unix socket path instead of host/port (`fastcgi_pass unix:/path`). */
  path?: string;
  /** File mode for the Unix socket, e.g. 0o660 so nginx's group can connect (default: left as the umask makes it). */
  socketMode?: number;
  /** Largest PARAMS (CGI variables + headers) per request (default 64 KiB). */
  maxParamsSize?: number;
  /** Requests one connection may multiplex (default 100). */
  maxRequestsPerConnection?: number;
}

/** A running FastCGI server. */
export interface FastCGIServer {
  /** The listening net.Server. */
  readonly server: net.Server;
  /** `fastcgi://host:port` or `fastcgi+unix://<encoded path>`. */
  readonly url: string;
  /** The bound port (0 for Unix sockets). */
  readonly port: number;
  /** The resolved options in force. */
  readonly options: ResolvedServerOptions;
  /**
   * Graceful stop: refuse new connections, let in-flight requests finish within gracefulTimeoutMs, run lifespan
   * shutdown.
   */
  close(): Promise<void>;
}

/** Parses `--fastcgi host:port` / `--fastcgi unix:/path` into listen options. */
export function parseFastCGIAddress(value: string): { host: string; port: number } | { path: string } {
  if (value.startsWith('unix:')) return { path: value.slice(5) };
  const colon = value.lastIndexOf(':');
  const host = colon === -1 ? '127.0.0.1' : value.slice(0, colon).replace(/^\[|\]$/g, '') || '127.0.0.1';
  const port = Number(colon === -1 ? value : value.slice(colon + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new AlbanyError(
      ErrorCodes.ERR_ALBANY_INVALID_CONFIG,
      `--fastcgi must be host:port or unix:/path, got ${JSON.stringify(value)}`,
    );
  }
  return { host, port };
}

/**
 * Creates (but does not start) a FastCGI server running `app`. {@link serveFastCGI} adds lifespan
 * and listening. `drain()` starts a graceful close; `connections` lets the caller cut the rest.
 */
export function createFastCGIServer(
  app: App,
  options: FastCGIOptions = {},
  state: Record<string, unknown> = {},
): { server: net.Server; connections: Set<FastCGIConnection>; drain(): void; options: ResolvedServerOptions } {
  const { path: _path, socketMode: _mode, maxParamsSize, maxRequestsPerConnection, ...serverOptions } = options;
  const resolved = resolveServerOptions(serverOptions);
  for (const [name, value] of [
    ['maxParamsSize', maxParamsSize],
    ['maxRequestsPerConnection', maxRequestsPerConnection],
  ] as const) {
    if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
      throw new AlbanyError(
        ErrorCodes.ERR_ALBANY_INVALID_CONFIG,
        `options.${name} must be a positive integer, got ${JSON.stringify(value)}`,
      );
    }
  }
  const logger = resolved.logger;
  const { proxyHeaders, forwardedAllowIps, rootPath } = resolved;
  const ctx: FastCGIContext = {
    app,
    options: resolved,
    state,
    scopeOptions: { proxyHeaders, forwardedAllowIps, rootPath, state },
    logger,
    logError: (error, requestLine) =>
      logger.error(
        `exception in app for "${requestLine}": ` +
          `${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      ),
    maxParamsSize: maxParamsSize ?? 64 * 1024,
    maxRequestsPerConnection: maxRequestsPerConnection ?? 100,
    bodyHighWater: 64 * 1024,
    draining: false,
  };
  const connections = new Set<FastCGIConnection>();
  const server = net.createServer((socket) => {
    const connection = new FastCGIConnection(socket, ctx);
    connections.add(connection);
    socket.once('close', () => connections.delete(connection));
    if (ctx.draining) connection.drain();
  });
  const drain = () => {
    ctx.draining = true;
    for (const c of connections) c.drain();
  };
  return { server, connections, drain, options: resolved };
}

// A socket file left by a crashed run makes listen fail with EADDRINUSE; remove it only when
// nothing answers on it, so a live server is never unlinked from under its clients.
async function removeStaleSocket(path: string): Promise<void> {
  const alive = await new Promise<boolean>((resolve) => {
    const probe = net.connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (!alive) await fsp.rm(path, { force: true });
}

async function listen(server: net.Server, options: FastCGIOptions, resolved: ResolvedServerOptions): Promise<void> {
  const attempt = () =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const done = () => {
        server.off('error', reject);
        resolve();
      };
      if (options.path !== undefined) server.listen(options.path, done);
      else server.listen(resolved.port, resolved.host, done);
    });
  try {
    await attempt();
  } catch (error) {
    if (options.path === undefined || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    await removeStaleSocket(options.path);
    await attempt();
  }
  if (options.path !== undefined && options.socketMode !== undefined) await fsp.chmod(options.path, options.socketMode);
}

/**
 * Runs lifespan startup, then listens for FastCGI connections on `{ host, port }` or `{ path }`.
 * Rejects with `ERR_ALBANY_LIFESPAN` if startup failed (nothing is left listening).
 */
export async function serveFastCGI(app: App, options: FastCGIOptions = {}): Promise<FastCGIServer> {
  const { path: _p, socketMode: _m, maxParamsSize: _s, maxRequestsPerConnection: _r, ...serverOptions } = options;
  const resolved = resolveServerOptions(serverOptions);
  const lifespan = new Lifespan(app, resolved.lifespan, resolved.logger);
  await lifespan.startup();
  const { server, connections, drain } = createFastCGIServer(
    app,
    { ...options, logger: resolved.logger },
    lifespan.state,
  );
  await listen(server, options, resolved);
  const a = server.address();
  const port = a !== null && typeof a === 'object' ? a.port : 0;
  const host = resolved.host.includes(':') ? `[${resolved.host}]` : resolved.host;
  const url =
    options.path !== undefined ? `fastcgi+unix://${encodeURIComponent(options.path)}` : `fastcgi://${host}:${port}`;

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      drain();
      const timer = setTimeout(() => {
        for (const c of connections) c.destroy();
      }, resolved.gracefulTimeoutMs);
      await stopped;
      clearTimeout(timer);
      await lifespan.shutdown();
    })());

  return { server, url, port, options: resolved, close };
}

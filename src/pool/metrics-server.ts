// A tiny node:http server for GET /metrics on its own port, so scrapes never queue behind app traffic.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { prometheusContentType } from './metrics-prometheus.js';

/** Where {@link serveMetrics} listens. */
export interface MetricsServerOptions {
  /** Interface to bind; `127.0.0.1` by default so figures are not public unless asked for. */
  host?: string;
  /** Port; 0 picks a free one. */
  port: number;
  /** Path served; `/metrics` by default. */
  path?: string;
}

/** A running metrics server. */
export interface MetricsServer {
  /** The underlying server. */
  readonly server: Server;
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  /** Full URL of the metrics path. */
  readonly url: string;
  /** Stops listening and drops open keep-alive connections. */
  close(): Promise<void>;
}

/**
 * Serves `getText()` at `GET /metrics` (also HEAD) as `text/plain; version=0.0.4`; other paths get
 * 404, other methods 405. A `getText` that throws answers 500 instead of taking the server down.
 */
export async function serveMetrics(
  options: MetricsServerOptions,
  getText: () => string | Promise<string>,
): Promise<MetricsServer> {
  const host = options.host ?? '127.0.0.1';
  const path = options.path ?? '/metrics';
  const server = createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://metrics').pathname;
    if (pathname !== path) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res
        .writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' })
        .end('method not allowed\n');
      return;
    }
    Promise.resolve()
      .then(getText)
      .then(
        (text) => {
          res.writeHead(200, { 'content-type': prometheusContentType, 'content-length': Buffer.byteLength(text) });
          res.end(req.method === 'HEAD' ? undefined : text);
        },
        (err: unknown) => {
          res
            .writeHead(500, { 'content-type': 'text/plain; charset=utf-8' })
            .end(`metrics failed: ${(err as Error)?.message ?? String(err)}\n`);
        },
      );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    server,
    port,
    url: `http://${urlHost}:${port}${path}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

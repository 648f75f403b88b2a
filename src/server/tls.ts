// TLS for the embedded host: one node:http2 secure server that speaks HTTP/2 to clients offering
// it by ALPN and HTTP/1.1 to the rest (allowHTTP1), so every request still reaches the same
// per-request machinery (http.ts) through node's compat request/response objects.
import { readFileSync } from 'node:fs';
import http2, { type Http2SecureServer } from 'node:http2';
import type { Socket } from 'node:net';
import { AlbanyError, ErrorCodes } from '../errors.js';
import type { ResolvedServerOptions } from './options.js';
import { connectionsCheckMs } from './check-periods.js';

/** PEM text or bytes, as node:tls takes them. */
export type Pem = string | Buffer;

/** `serve({ tls })`: the certificate the server presents and, optionally, the CAs for its chain. */
export interface TlsOptions {
  /** The private key (PEM). */
  key: Pem;
  /** The certificate chain (PEM). */
  cert: Pem;
  /** CA certificates (PEM), node:tls's `ca`: OpenSSL completes the chain it sends from them. */
  ca?: Pem | Pem[];
}

const isPem = (v: unknown): v is Pem => typeof v === 'string' || Buffer.isBuffer(v);

/** The problems with a `tls` option, as lines for ERR_ALBANY_INVALID_CONFIG (empty: fine). */
export function tlsProblems(tls: unknown): string[] {
  if (tls === undefined) return [];
  if (tls === null || typeof tls !== 'object')
    return [`options.tls must be an object { key, cert, ca? }, got ${JSON.stringify(tls)}`];
  const { key, cert, ca } = tls as Record<string, unknown>;
  const problems: string[] = [];
  if (!isPem(key)) problems.push('options.tls.key must be the private key as a PEM string or Buffer');
  if (!isPem(cert)) problems.push('options.tls.cert must be the certificate as a PEM string or Buffer');
  if (ca !== undefined && !isPem(ca) && !(Array.isArray(ca) && ca.every(isPem)))
    problems.push('options.tls.ca must be a PEM string or Buffer, or an array of them');
  return problems;
}

/** Files named by `--ssl-keyfile`, `--ssl-certfile` and `--ssl-ca`. */
export interface TlsFiles {
  keyfile: string;
  certfile: string;
  cafile?: string;
}

/**
 * Reads the CLI's key, certificate and CA files into {@link TlsOptions}.
 * @throws AlbanyError `ERR_ALBANY_USAGE` naming the flag and file that could not be read.
 */
export function readTlsFiles(files: TlsFiles): TlsOptions {
  const read = (flag: string, path: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new AlbanyError(
        ErrorCodes.ERR_ALBANY_USAGE,
        `--${flag} ${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      );
    }
  };
  const tls: TlsOptions = { key: read('ssl-keyfile', files.keyfile), cert: read('ssl-certfile', files.certfile) };
  if (files.cafile !== undefined) tls.ca = read('ssl-ca', files.cafile);
  return tls;
}

/**
 * The secure server for `resolved.tls`: HTTP/2 by ALPN, HTTP/1.1 beside it. The HTTP/1.1 limits
 * node:http applies are set as the properties its connection listener reads; HTTP/2's header list
 * is capped by the SETTINGS frame the server sends.
 * @throws AlbanyError `ERR_ALBANY_INVALID_CONFIG` when node:tls refuses the key or certificate.
 */
export function createSecureHost(resolved: ResolvedServerOptions): Http2SecureServer {
  const { key, cert, ca } = resolved.tls!;
  let server: Http2SecureServer;
  try {
    server = http2.createSecureServer({
      key,
      cert,
      ...(ca === undefined ? {} : { ca }),
      allowHTTP1: true,
      settings: { maxHeaderListSize: resolved.maxHeaderSize },
    });
  } catch (error) {
    throw new AlbanyError(
      ErrorCodes.ERR_ALBANY_INVALID_CONFIG,
      `TLS key or certificate refused: ${(error as Error).message}`,
      { cause: error },
    );
  }
  // node:http's connection listener, which serves the HTTP/1.1 side, reads these from the server.
  const h1 = server as unknown as Record<string, unknown>;
  h1.maxHeaderSize = resolved.maxHeaderSize;
  h1.headersTimeout = resolved.headersTimeoutMs;
  h1.requestTimeout = resolved.requestTimeoutMs;
  h1.keepAliveTimeout = resolved.keepAliveTimeoutMs;
  // Read when the server starts listening, as node:http does (see http.ts's createServer).
  h1.connectionsCheckingInterval = connectionsCheckMs(resolved.headersTimeoutMs, resolved.requestTimeoutMs);
  // node:http's closeAllConnections, which graceful close uses once its time is up: every TCP
  // socket, mid-handshake, HTTP/1.1 or HTTP/2, goes at once.
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  h1.closeAllConnections = () => {
    for (const socket of sockets) socket.destroy();
  };
  return server;
}

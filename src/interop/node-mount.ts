// A gateway App mounted inside a node:http framework: the framework's req/res drive the same
// HttpCycle and node adapters as albany's own server, so the protocol rules are kept in one place.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { App, Address } from '../gateway/types.js';
import { HttpCycle } from '../server/cycle.js';
import { NodeRequestSource, NodeResponseSink } from '../server/node-io.js';
import { buildHttpScope } from '../server/scope.js';

/** Options for {@link toNodeHandler}. */
export interface ToNodeHandlerOptions {
  /**
   * Mount point reported as `scope.rootPath` when the framework does not say (Fastify, plain
   * node:http). Under Express, `req.baseUrl` is used and this is prepended to it.
   */
  rootPath?: string;
  /** Largest request body accepted; larger → 413 (default 0 = no limit, the framework's concern). */
  maxBodySize?: number;
  /** Shallow-copied into every scope as `scope.state`. */
  state?: Record<string, unknown>;
  /** Where app errors are reported (default: console.error). */
  logError?: (error: unknown, requestLine: string) => void;
}

/** `(req, res, next?)`: a node:http listener that is also Express/Connect middleware. */
export type NodeMiddleware = (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void) => void;

type ExpressRequest = IncomingMessage & { originalUrl?: string; baseUrl?: string };

function socketAddress(host: string | undefined, port: number | undefined): Address {
  return host === undefined || port === undefined ? null : [host, port];
}

function defaultLogError(error: unknown, requestLine: string): void {
  console.error(`albany: exception in app for "${requestLine}":`, error);
}

/** Lets Express error middleware see a failure that happened before the response started. */
class MiddlewareSink extends NodeResponseSink {
  constructor(
    res: ServerResponse,
    private readonly onFail: (() => boolean) | undefined,
  ) {
    super(res);
  }

  override fail(status: number, text: string): void {
    if (this.onFail?.()) return;
    super.fail(status, text);
  }
}

/**
 * Mounts a gateway App in a node:http framework. Under Express (`app.use('/legacy', handler)`)
 * the mount path becomes `scope.rootPath` and the path below it `scope.path`; an app that fails
 * before starting its response goes to `next(error)` so Express error handlers see it. Under
 * Fastify use {@link fastifyPlugin} (or `reply.hijack()` and call this with `request.raw`,
 * `reply.raw`).
 */
export function toNodeHandler(app: App, options: ToNodeHandlerOptions = {}): NodeMiddleware {
  const baseRoot = options.rootPath ?? '';
  const maxBodySize = options.maxBodySize ?? 0;
  const state = options.state ?? {};
  const logError = options.logError ?? defaultLogError;

  return function gatewayMiddleware(req, res, next) {
    const ereq = req as ExpressRequest;
    const socket = req.socket;
    const local = socket.address() as AddressInfo | Record<string, never>;
    const scope = buildHttpScope({
      method: req.method!,
      target: ereq.originalUrl ?? req.url!,
      httpVersion: req.httpVersion,
      rawHeaders: req.rawHeaders,
      scheme: (socket as { encrypted?: boolean }).encrypted ? 'https' : 'http',
      client: socketAddress(socket.remoteAddress, socket.remotePort),
      server: socketAddress((local as AddressInfo).address, (local as AddressInfo).port),
      rootPath: baseRoot + (ereq.baseUrl ?? ''),
      state,
    });

    let contentLength: number | undefined;
    let chunked = false;
    for (const [name, value] of scope.headers) {
      if (name === 'content-length') contentLength = Number(value);
      else if (name === 'transfer-encoding') chunked = true;
    }
    // Body parsers that ran earlier in the chain have already consumed the stream.
    const hasBody = !req.readableEnded && (chunked || (contentLength !== undefined && contentLength > 0));

    let lastError: unknown;
    const sink = new MiddlewareSink(
      res,
      next === undefined
        ? undefined
        : () => {
            if (lastError === undefined) return false;
            next(lastError);
            return true;
          },
    );
    res.on('close', () => {
      if (res.writableFinished) cycle.responseSent();
      else cycle.clientGone();
    });
    if (maxBodySize > 0 && contentLength !== undefined && contentLength > maxBodySize) {
      res.shouldKeepAlive = false;
      sink.fail(413, 'Payload Too Large');
      return;
    }
    const source = new NodeRequestSource(req, hasBody, chunked ? undefined : contentLength, maxBodySize, () => {
      res.shouldKeepAlive = false;
      if (!cycle.started) sink.fail(413, 'Payload Too Large');
      else sink.abort();
      cycle.clientGone();
    });
    const cycle = new HttpCycle(scope, source, sink);
    void cycle.run(app, (error, line) => {
      lastError = error;
      if (next === undefined) logError(error, line);
    });
  };
}

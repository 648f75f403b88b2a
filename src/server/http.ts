// The embedded HTTP/1.1 host: node:http parses, a per-request HttpCycle runs the app.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Http2ServerRequest, ServerHttp2Session } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import net, { type AddressInfo, type Socket } from 'node:net';
import type { App, Address } from '../gateway/types.js';
import { lowerHeaderName } from '../gateway/helpers.js';
import { HttpCycle, type ErrorLogger, type RequestSource } from './cycle.js';
import { directNodeHandlerOf, type NodeExchange } from './direct.js';
import { Lifespan } from './lifespan.js';
import { NO_BODY, NodeRequestSource, NodeResponseSink } from './node-io.js';
import { resolveServerOptions, type ResolvedServerOptions, type ServerOptions } from './options.js';
import { BAD_HOST_MESSAGE, isValidHost } from './host.js';
import { clientAndScheme } from './proxy-headers.js';
import { buildHttpScope, type RequestHead } from './scope.js';
import { attachWebSocket } from './websocket.js';
import { h2Cancel, h2HasBody, h2HeaderListSize, h2IdleTimeout, h2RawHeaders, h2RequestTimeout, h2Session } from './http2.js';
import { createSecureHost } from './tls.js';
import { CLIENT_CLOSED_STATUS } from '../observe/http-metrics.js';
import { AccessLog } from '../observe/access-log.js';
import { currentRequest } from '../observe/current-request.js';
import { acquireBlockDetector } from '../observe/block-detector.js';
import { contextState } from '../context/state.js';

// A connection's books, kept on the socket. All three are set together when the connection opens
// (see `connection` below), before node reads from it: every socket then has one hidden class
// through its life, where adding them at the first request gave node's stream code a second
// socket shape to handle (and deoptimize for) on every connection.
// Responses not yet settled on the connection, oldest first. An array, not a Set: it holds one
// response (more only when the client pipelines), and a Set's hashing costs more than the scan.
const kOpen = Symbol('albany.open');
// The peer as the socket reports it (keep-alive reuses it).
const kClient = Symbol('albany.client');
// Whether the connection has sent a request yet (close() gives fresh connections a moment).
const kServed = Symbol('albany.served');
interface ConnectionBooks {
  [kOpen]?: HostedSink[];
  [kClient]?: { client: Address; scheme: string };
  [kServed]?: boolean;
}
type TrackedSocket = Socket & ConnectionBooks;
// How long close() lets a just-opened connection send its first request.
const FRESH_CONNECTION_GRACE_MS = 1000;

/** The peer as the socket reports it. */
function socketClient(socket: Socket): { client: Address; scheme: string } {
  const peer = socket.remoteAddress;
  const encrypted = (socket as Socket & { encrypted?: boolean }).encrypted === true;
  return { client: peer === undefined ? null : (Object.freeze([peer, socket.remotePort ?? 0]) as unknown as Address), scheme: encrypted ? 'https' : 'http' };
}

/**
 * One request's response sink that also carries the host's books (its connection and its cycle)
 * and is the exchange a direct handler gets (server/direct.ts).
 */
class HostedSink extends NodeResponseSink implements NodeExchange {
  // Plain constructor stores, not class fields (see NodeResponseSink).
  /** Built with the request on the gateway path; on a direct path only when the handler asks. */
  declare cycle: HttpCycle | undefined;
  declare source: RequestSource;
  /** Set once the host's books are closed: the response ended or the client left. A cycle built later starts disconnected. */
  declare settled: boolean;
  declare readonly socket: TrackedSocket;
  declare private readonly settle: (sink: HostedSink, clientGone: boolean) => void;
  declare readonly head: RequestHead;
  declare readonly logError: ErrorLogger;
  /** `performance.now()` when the request head arrived: for the request timeout and the access log. */
  declare readonly startedAt: number;
  /** The request's `x-request-id`, if it sent one (the access log makes one up otherwise). */
  declare requestId: string | undefined;
  /** Set when the request timeout cut this request, so it is cut once. */
  declare timedOut: boolean;

  constructor(res: ServerResponse, socket: TrackedSocket, settle: (sink: HostedSink, clientGone: boolean) => void, head: RequestHead, logError: ErrorLogger, startedAt: number) {
    super(res);
    this.startedAt = startedAt;
    this.requestId = undefined;
    this.timedOut = false;
    this.cycle = undefined;
    this.source = NO_BODY;
    this.settled = false;
    this.socket = socket;
    this.settle = settle;
    this.head = head;
    this.logError = logError;
  }

  protected override ended(): void {
    this.settle(this, false);
  }

  override sendWhole(status: number, headers: string[], body: string | Uint8Array | null): void {
    // A direct handler that answers after the request timeout did: its answer has nowhere to go.
    if (this.timedOut) return;
    super.sendWhole(status, headers, body);
  }

  openCycle(): HttpCycle {
    let cycle = this.cycle;
    if (cycle === undefined) {
      cycle = this.cycle = new HttpCycle(buildHttpScope(this.head), this.source, this);
      if (this.settled) cycle.clientGone();
    }
    return cycle;
  }

  run(app: App): void {
    void this.openCycle().run(app, this.logError);
  }
}

/**
 * Content-Length and Transfer-Encoding from node's raw header list (names in any case), and whether
 * its Host is acceptable: at most one, a valid authority (server/host.ts). node itself refuses an
 * HTTP/1.1 request without Host (`requireHostHeader`), but lets any text through as its value.
 */
function headFacts(rawHeaders: readonly string[]): { contentLength: number | undefined; chunked: boolean; hostOk: boolean; requestId: string | undefined } {
  let contentLength: number | undefined;
  let chunked = false;
  let hosts = 0;
  let hostOk = true;
  let requestId: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    // Lengths first: only four names matter, and most headers differ from all in length.
    if (name.length === 4) {
      if (lowerHeaderName(name) === 'host' && (++hosts > 1 || !isValidHost(rawHeaders[i + 1]!))) hostOk = false;
    } else if (name.length === 14 && lowerHeaderName(name) === 'content-length') contentLength = Number(rawHeaders[i + 1]);
    else if (name.length === 17 && lowerHeaderName(name) === 'transfer-encoding') chunked = true;
    else if (name.length === 12 && lowerHeaderName(name) === 'x-request-id') requestId = rawHeaders[i + 1];
  }
  return { contentLength, chunked, hostOk, requestId };
}

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
  /** Graceful stop: refuse new connections, let in-flight requests finish within gracefulTimeoutMs, run lifespan shutdown. */
  close(): Promise<void>;
}

/** The request listener plus the bookkeeping that graceful close needs. */
export interface GatewayRequestHandler {
  (req: IncomingMessage, res: ServerResponse): void;
  /** Requests not yet finished. */
  readonly inFlight: number;
  /** From now on, responses ask the client to close the connection. */
  drain(onIdle: () => void): void;
  /**
   * The server's `connection` listener: sets up the connection's books before node reads from it.
   * Optional (a connection is set up at its first request otherwise), but keeps sockets one shape.
   */
  connection(socket: Socket): void;
  /**
   * The secure server's `session` listener: an HTTP/2 connection keeps its books on its session
   * (its streams are its requests), and leaves idle after keepAliveTimeoutMs with GOAWAY.
   */
  session(session: ServerHttp2Session): void;
  /**
   * The `checkContinue` listener: like the request listener, but `100 Continue` is sent only when
   * the app first reads the body, so a request refused up front (413) never invites the upload.
   */
  checkContinue(req: IncomingMessage, res: ServerResponse): void;
  /** Stops the request-timeout sweep and writes the access log lines still batched. */
  dispose(): void;
}

/**
 * Builds the node:http `request` listener that runs `app` for every request. Exposed so other
 * hosts built on node:http (Unix sockets, cluster workers) share it.
 */
export function createRequestHandler(
  app: App,
  options: ResolvedServerOptions,
  state: Record<string, unknown>,
  serverAddress: () => Address,
): GatewayRequestHandler {
  const { logger, maxBodySize, rootPath, metrics, limitConcurrency, requestTimeoutMs, maxRequests } = options;
  const accessLog = options.accessLog ? new AccessLog(options.logFormat, options.accessLogStream ?? process.stdout) : undefined;
  let served = 0;
  // An app that can answer node requests itself (fromFetch) skips the gateway's messages here.
  // A direct handler skips the cycle, and with it the request context (src/context) once that is on.
  const direct = options.directApps && contextState.enter === undefined ? directNodeHandlerOf(app) : undefined;
  // Requests not yet settled, and the connections that carry them (a connection joins when it
  // opens, or at its first request without the connection listener, and leaves when it closes), so
  // the per-request books are a counter and a short array.
  let inFlight = 0;
  const connections = new Set<TrackedSocket>();
  let draining = false;
  let onIdle: (() => void) | undefined;
  const logError = (error: unknown, requestLine: string) => {
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    logger.error(`exception in app for "${requestLine}": ${text}`);
  };

  const handle = (req: IncomingMessage, res: ServerResponse, expectsContinue: boolean) => {
    // An HTTP/2 request (node's compat objects, same methods) keeps its books on its session: its
    // req.socket is a per-stream proxy of the shared TLS socket.
    const h2 = req.httpVersionMajor === 2;
    const socket = (h2 ? h2Session(req as unknown as Http2ServerRequest) : req.socket) as unknown as TrackedSocket;
    let open = socket[kOpen];
    if (open === undefined) open = h2 ? trackSession(socket as unknown as ServerHttp2Session) : track(socket);
    if (!socket[kServed]) socket[kServed] = true;
    const peer = options.proxyHeaders ? clientAndScheme(req, h2 ? req.socket : socket, options) : socket[kClient]!;
    // Undefined when proxy headers are on and an X-Forwarded-Host is not an authority: a 400 below.
    const { client, scheme } = peer ?? socket[kClient]!;
    const head: RequestHead = {
      method: req.method!,
      target: req.url!,
      httpVersion: h2 ? '2' : req.httpVersion,
      rawHeaders: h2 ? h2RawHeaders(req.rawHeaders) : req.rawHeaders,
      scheme,
      client,
      server: serverAddress(),
      rootPath,
      state,
    };
    let { contentLength, chunked, hostOk, requestId } = headFacts(head.rawHeaders);
    if (draining) res.shouldKeepAlive = false;
    const sink = new HostedSink(res, socket, settle, head, logError, performance.now());
    sink.requestId = requestId;
    // An app's declared content-length is held to: a shorter body would leave the client waiting
    // for bytes that never come, a longer one would corrupt the next response on the connection.
    res.strictContentLength = true;
    // For the blocking detector: one store naming the request whose app call starts now.
    currentRequest.head = head;
    open.push(sink);
    inFlight++;
    // The collector counts it in flight; its duration runs from sink.startedAt.
    if (metrics !== undefined) metrics.started();
    if (h2) {
      // A stream the client resets leaves the books here; its session goes on.
      res.once('close', () => settle(sink, true));
      // HTTP/2 bodies need no length: more frames after HEADERS are a body of unknown size.
      if (contentLength === undefined && h2HasBody(req as unknown as Http2ServerRequest)) chunked = true;
      h2RequestTimeout(req as unknown as Http2ServerRequest, options.requestTimeoutMs, () => {
        // node:http's requestTimeout, per stream: 408 if the app has not answered, else a reset.
        const cycle = sink.cycle;
        if (!res.headersSent && (cycle === undefined || !cycle.started)) sink.fail(408, 'Request Timeout');
        h2Cancel(req as unknown as Http2ServerRequest);
        cycle?.clientGone();
      });
    }
    if (sweeper === undefined && requestTimeoutMs > 0) startSweeper();
    if (++served === maxRequests) options.onMaxRequests?.();

    if (h2 && h2HeaderListSize(req.rawHeaders) > options.maxHeaderSize) {
      sink.fail(431, 'Request Header Fields Too Large');
      return;
    }
    if (!hostOk || peer === undefined) {
      // Before any app runs, on both paths: a Host with a '/' or '@' would move the path or user of
      // every URL the app builds (fromFetch's request.url included). The connection closes, as
      // after node's own 400s.
      res.shouldKeepAlive = false;
      sink.fail(400, BAD_HOST_MESSAGE);
      return;
    }

    if (limitConcurrency > 0 && inFlight > limitConcurrency) {
      // Over the limit: refused before the app runs. A body the app would have read is never read,
      // so that connection cannot carry another request.
      if (chunked || (contentLength !== undefined && contentLength > 0)) res.shouldKeepAlive = false;
      sink.fail(503, 'Service Unavailable');
      return;
    }

    if (maxBodySize > 0 && contentLength !== undefined && contentLength > maxBodySize) {
      // Refuse before reading a byte of the body; the connection closes so the rest is never read.
      res.shouldKeepAlive = false;
      sink.fail(413, 'Payload Too Large');
      return;
    }
    const hasBody = chunked || (contentLength !== undefined && contentLength > 0);
    if (hasBody) {
      let beforeFirstRead: (() => void) | undefined;
      if (expectsContinue) {
        // The client holds the body back until 100 Continue. If the app answers without reading it,
        // the body never comes, so that connection cannot be reused.
        const keepAlive = res.shouldKeepAlive;
        res.shouldKeepAlive = false;
        beforeFirstRead = () => {
          if (res.headersSent) return;
          res.writeContinue();
          res.shouldKeepAlive = keepAlive && !draining;
        };
      }
      sink.source = new NodeRequestSource(req, true, chunked ? undefined : contentLength, maxBodySize, () => {
        res.shouldKeepAlive = false;
        // The body is read through a cycle's receive(), so there is one by now on either path.
        const cycle = sink.cycle;
        if (cycle === undefined || !cycle.started) sink.fail(413, 'Payload Too Large');
        else sink.abort();
        cycle?.clientGone();
      }, beforeFirstRead);
    }
    // Both paths build the cycle in one place (openCycle): at once for the gateway, on demand for a
    // direct handler.
    if (direct !== undefined) direct(sink);
    else sink.run(app);
  };

  // A response leaves the books once: when the sink ends it, or when its connection closes first.
  function settle(sink: HostedSink, clientGone: boolean): void {
    const open = sink.socket[kOpen]!;
    const last = open.length - 1;
    if (last >= 0 && open[last] === sink) open.pop();
    else {
      const i = open.indexOf(sink);
      if (i === -1) return;
      open.splice(i, 1);
    }
    inFlight--;
    if (metrics !== undefined) metrics.finished(sink.head.method, sink.res.headersSent ? sink.res.statusCode : CLIENT_CLOSED_STATUS, sink.startedAt);
    if (accessLog !== undefined) logAccess(sink, clientGone);
    if (currentRequest.head === sink.head) currentRequest.head = undefined;
    // No cycle exists when the request was refused up front (413 on content-length), or when a
    // direct handler has not needed one (yet: it learns of a lost client through clientGone).
    const cycle = sink.cycle;
    sink.settled = true;
    if (cycle !== undefined) {
      if (clientGone) cycle.clientGone();
      else cycle.responseSent();
    }
    if (draining && inFlight === 0) onIdle?.();
  }
  function logAccess(sink: HostedSink, clientGone: boolean): void {
    const res = sink.res;
    const head = sink.head;
    accessLog!.write({
      client: head.client,
      method: head.method,
      target: head.target,
      httpVersion: head.httpVersion,
      status: res.headersSent || !clientGone ? res.statusCode : 499,
      bytes: sink.bytes,
      durationMs: performance.now() - sink.startedAt,
      requestId: sink.requestId ?? accessLog!.nextId(),
    });
  }

  // The request timeout for the app's part of the exchange. node's own requestTimeout ends only
  // the reading of the request; an app that never answers would hold the client forever. One
  // interval timer checks every open request instead of a timer per request (which would cost
  // more than the request on a hello world); a request is cut within one interval of its deadline.
  let sweeper: NodeJS.Timeout | undefined;
  function startSweeper(): void {
    sweeper = setInterval(sweep, Math.max(50, Math.min(1000, Math.floor(requestTimeoutMs / 4))));
    sweeper.unref();
  }
  function sweep(): void {
    const deadline = performance.now() - requestTimeoutMs;
    for (const socket of connections) {
      const open = socket[kOpen]!;
      for (let i = open.length - 1; i >= 0; i--) {
        const sink = open[i]!;
        // A request whose body is still arriving is node's own requestTimeout's to end (408, the
        // client is the slow party); this sweep cuts apps that have the request and do not answer.
        if (sink.startedAt <= deadline && !sink.timedOut && sink.res.req?.complete !== false) timeOut(sink);
      }
    }
  }
  function timeOut(sink: HostedSink): void {
    sink.timedOut = true;
    const head = sink.head;
    logger.warn(`request timeout (${requestTimeoutMs} ms) for "${head.method} ${head.target} HTTP/${head.httpVersion}": ${sink.res.headersSent ? 'response cut, connection closed' : 'answered 504'}`);
    // The app learns at once: receive() yields http.disconnect, send() rejects.
    const cycle = sink.cycle;
    if (cycle !== undefined) cycle.clientGone();
    const res = sink.res;
    if (res.headersSent) {
      sink.abort();
      return;
    }
    res.shouldKeepAlive = false;
    sink.fail(504, 'Gateway Timeout');
  }

  // One close listener per connection rather than one per response: cheaper on keep-alive.
  function track(socket: TrackedSocket, peer: Socket = socket): HostedSink[] {
    const open: HostedSink[] = [];
    socket[kOpen] = open;
    socket[kClient] = socketClient(peer);
    socket[kServed] = false;
    connections.add(socket);
    socket.once('close', onSocketClose);
    return open;
  }
  // An HTTP/2 session is tracked like a socket (the same three books, `close` when it ends).
  function trackSession(session: ServerHttp2Session): HostedSink[] {
    return track(session as unknown as TrackedSocket, session.socket as Socket);
  }
  function onSocketClose(this: TrackedSocket): void {
    connections.delete(this);
    const open = this[kOpen]!;
    while (open.length > 0) settle(open[open.length - 1]!, true);
  }

  const handler = ((req: IncomingMessage, res: ServerResponse) => handle(req, res, false)) as GatewayRequestHandler;
  handler.checkContinue = (req: IncomingMessage, res: ServerResponse) => handle(req, res, true);
  handler.connection = (socket: Socket) => {
    // A TLS socket that chose HTTP/2 is tracked through its session instead.
    if ((socket as TrackedSocket)[kOpen] === undefined && (socket as TLSSocket).alpnProtocol !== 'h2') track(socket);
  };
  handler.session = (session: ServerHttp2Session) => {
    const books = session as unknown as TrackedSocket;
    if (books[kOpen] === undefined) trackSession(session);
    h2IdleTimeout(session, options.keepAliveTimeoutMs, () => books[kOpen]!.length > 0);
  };

  handler.dispose = () => {
    if (sweeper !== undefined) clearInterval(sweeper);
    sweeper = undefined;
    accessLog?.close();
  };
  Object.defineProperty(handler, 'inFlight', { get: () => inFlight });
  handler.drain = (idle: () => void) => {
    draining = true;
    onIdle = idle;
    for (const socket of connections) {
      for (const sink of socket[kOpen]!) if (!sink.res.headersSent) sink.res.shouldKeepAlive = false;
    }
    if (inFlight === 0) idle();
  };
  return handler;
}

/**
 * Creates (but does not start) a node:http server running `app`. Use {@link serve} to also run
 * the lifespan protocol and listen.
 */
export function createServer(app: App, options: ServerOptions = {}, state: Record<string, unknown> = {}): { server: NodeServer; handler: GatewayRequestHandler; options: ResolvedServerOptions } {
  const resolved = resolveServerOptions(options);
  const server: NodeServer = resolved.tls !== undefined ? (createSecureHost(resolved) as unknown as http.Server) : http.createServer({
    maxHeaderSize: resolved.maxHeaderSize,
    headersTimeout: resolved.headersTimeoutMs,
    requestTimeout: resolved.requestTimeoutMs,
    keepAliveTimeout: resolved.keepAliveTimeoutMs,
    // Node checks the two timeouts above only this often; the default (30 s) would let a
    // slowloris client hold a socket far past headersTimeout.
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(Math.min(resolved.headersTimeoutMs || 1000, resolved.requestTimeoutMs || 1000) / 2))),
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
  const websocket = wsOption === false ? undefined : attachWebSocket(server, app, {
    ...wsOption, rootPath: resolved.rootPath, state: lifespan.state, logError: (m) => resolved.logger.error(m), logWarning: (m) => resolved.logger.warn(m),
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
  const url = resolved.uds ? `http+unix://${encodeURIComponent(resolved.uds)}` : `${tls ? 'https' : 'http'}://${host}:${port}`;

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
      const destroyIdle = (includeFresh: boolean) => {
        for (const socket of sockets) {
          if (isH2(socket)) continue;
          const books = socket as TrackedSocket;
          if ((books[kOpen]?.length ?? 0) === 0 && (includeFresh || books[kServed] === true)) socket.destroySoon();
        }
      };
      // Connections between requests go now; new ones get a short window to send their request,
      // which is then answered with connection: close.
      destroyIdle(false);
      const freshWindow = new Promise<void>((resolve) => setTimeout(resolve, Math.min(FRESH_CONNECTION_GRACE_MS, resolved.gracefulTimeoutMs)));
      await idle();
      if ([...sockets].some((socket) => !isH2(socket) && (socket as TrackedSocket)[kServed] !== true && !socket.destroyed)) {
        await freshWindow;
        await idle();
      }
      destroyIdle(true);
      await stopped;
      clearTimeout(timer);
      handler.dispose();
      try {
        await lifespan.shutdown();
      } finally {
        releaseDetector();
      }
    })());

  return { server, url, port, options: resolved, state: lifespan.state, close };
}

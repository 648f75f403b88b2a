// The embedded HTTP/1.1 host: node:http parses, a per-request HttpCycle runs the app.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
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
import { currentRequest } from '../observe/current-request.js';
import { acquireBlockDetector } from '../observe/block-detector.js';

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

  constructor(res: ServerResponse, socket: TrackedSocket, settle: (sink: HostedSink, clientGone: boolean) => void, head: RequestHead, logError: ErrorLogger) {
    super(res);
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
function headFacts(rawHeaders: readonly string[]): { contentLength: number | undefined; chunked: boolean; hostOk: boolean } {
  let contentLength: number | undefined;
  let chunked = false;
  let hosts = 0;
  let hostOk = true;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    // Lengths first: only three names matter, and most headers differ from all in length.
    if (name.length === 4) {
      if (lowerHeaderName(name) === 'host' && (++hosts > 1 || !isValidHost(rawHeaders[i + 1]!))) hostOk = false;
    } else if (name.length === 14 && lowerHeaderName(name) === 'content-length') contentLength = Number(rawHeaders[i + 1]);
    else if (name.length === 17 && lowerHeaderName(name) === 'transfer-encoding') chunked = true;
  }
  return { contentLength, chunked, hostOk };
}

/** A running albany HTTP server. */
export interface AlbanyServer {
  /** The underlying node:http server (for `upgrade` listeners and the like). */
  readonly server: http.Server;
  /** `http://host:port` (or `http+unix://…` for a Unix socket). */
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
   * The `checkContinue` listener: like the request listener, but `100 Continue` is sent only when
   * the app first reads the body, so a request refused up front (413) never invites the upload.
   */
  checkContinue(req: IncomingMessage, res: ServerResponse): void;
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
  const { logger, maxBodySize, rootPath } = options;
  // An app that can answer node requests itself (fromFetch) skips the gateway's messages here.
  const direct = options.directApps ? directNodeHandlerOf(app) : undefined;
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
    const socket = req.socket as TrackedSocket;
    let open = socket[kOpen];
    if (open === undefined) open = track(socket);
    if (!socket[kServed]) socket[kServed] = true;
    const peer = options.proxyHeaders ? clientAndScheme(req, socket, options) : socket[kClient]!;
    // Undefined when proxy headers are on and an X-Forwarded-Host is not an authority: a 400 below.
    const { client, scheme } = peer ?? socket[kClient]!;
    const head: RequestHead = {
      method: req.method!,
      target: req.url!,
      httpVersion: req.httpVersion,
      rawHeaders: req.rawHeaders,
      scheme,
      client,
      server: serverAddress(),
      rootPath,
      state,
    };
    const { contentLength, chunked, hostOk } = headFacts(head.rawHeaders);
    if (draining) res.shouldKeepAlive = false;
    const sink = new HostedSink(res, socket, settle, head, logError);
    // For the blocking detector: one store naming the request whose app call starts now.
    currentRequest.head = head;
    open.push(sink);
    inFlight++;

    if (!hostOk || peer === undefined) {
      // Before any app runs, on both paths: a Host with a '/' or '@' would move the path or user of
      // every URL the app builds (fromFetch's request.url included). The connection closes, as
      // after node's own 400s.
      res.shouldKeepAlive = false;
      sink.fail(400, BAD_HOST_MESSAGE);
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
  // One close listener per connection rather than one per response: cheaper on keep-alive.
  function track(socket: TrackedSocket): HostedSink[] {
    const open: HostedSink[] = [];
    socket[kOpen] = open;
    socket[kClient] = socketClient(socket);
    socket[kServed] = false;
    connections.add(socket);
    socket.once('close', onSocketClose);
    return open;
  }
  function onSocketClose(this: TrackedSocket): void {
    connections.delete(this);
    const open = this[kOpen]!;
    while (open.length > 0) settle(open[open.length - 1]!, true);
  }

  const handler = ((req: IncomingMessage, res: ServerResponse) => handle(req, res, false)) as GatewayRequestHandler;
  handler.checkContinue = (req: IncomingMessage, res: ServerResponse) => handle(req, res, true);
  handler.connection = (socket: Socket) => {
    if ((socket as TrackedSocket)[kOpen] === undefined) track(socket);
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
export function createServer(app: App, options: ServerOptions = {}, state: Record<string, unknown> = {}): { server: http.Server; handler: GatewayRequestHandler; options: ResolvedServerOptions } {
  const resolved = resolveServerOptions(options);
  const server = http.createServer({
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
  server.on('connection', handler.connection);
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
  const { server, handler } = createServer(app, { ...options, logger: resolved.logger }, lifespan.state);
  // Upgrade requests run the app in a websocket scope; `options.websocket: false` turns that off.
  const wsOption = options.websocket;
  const websocket = wsOption === false ? undefined : attachWebSocket(server, app, {
    ...wsOption, rootPath: resolved.rootPath, state: lifespan.state, logError: (m) => resolved.logger.error(m),
  });
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      if (resolved.uds) server.listen(resolved.uds, resolve);
      else server.listen(resolved.port, resolved.host, resolve);
    });
  } catch (error) {
    // The app has started (pools, timers); give it its shutdown before reporting the bind failure.
    await lifespan.shutdown().catch((e: unknown) => resolved.logger.error(`lifespan: ${(e as Error).message}`));
    releaseDetector();
    throw error;
  }
  const a = server.address();
  const port = a !== null && typeof a === 'object' ? a.port : 0;
  const host = resolved.host.includes(':') ? `[${resolved.host}]` : resolved.host;
  const url = resolved.uds ? `http+unix://${encodeURIComponent(resolved.uds)}` : `http://${host}:${port}`;

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      // Stop accepting without node's http close(), which also drops connections that have not sent
      // their first request yet: a client that connected a moment ago would see a reset.
      const stopped = new Promise<void>((resolve) => net.Server.prototype.close.call(server, () => resolve()));
      const idle = () => new Promise<void>((resolve) => handler.drain(resolve));
      websocket?.close(1001);
      const timer = setTimeout(() => server.closeAllConnections(), resolved.gracefulTimeoutMs);
      const destroyIdle = (includeFresh: boolean) => {
        for (const socket of sockets) {
          const books = socket as TrackedSocket;
          if ((books[kOpen]?.length ?? 0) === 0 && (includeFresh || books[kServed] === true)) socket.destroySoon();
        }
      };
      // Connections between requests go now; new ones get a short window to send their request,
      // which is then answered with connection: close.
      destroyIdle(false);
      const freshWindow = new Promise<void>((resolve) => setTimeout(resolve, Math.min(FRESH_CONNECTION_GRACE_MS, resolved.gracefulTimeoutMs)));
      await idle();
      if ([...sockets].some((socket) => (socket as TrackedSocket)[kServed] !== true && !socket.destroyed)) {
        await freshWindow;
        await idle();
      }
      destroyIdle(true);
      await stopped;
      clearTimeout(timer);
      try {
        await lifespan.shutdown();
      } finally {
        releaseDetector();
      }
    })());

  return { server, url, port, options: resolved, state: lifespan.state, close };
}

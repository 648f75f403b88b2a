// The node:http request listener and the books one server keeps across its connections: requests
// in flight, draining for a graceful close, the request-timeout sweep, the access log and metrics.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Http2ServerRequest, ServerHttp2Session } from 'node:http2';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Address, App } from '../gateway/types.js';
import { AccessLog } from '../observe/access-log.js';
import { currentRequest } from '../observe/current-request.js';
import { CLIENT_CLOSED_STATUS } from '../observe/http-metrics.js';
import type { ErrorLogger } from './cycle.js';
import { directNodeHandlerOf, type DirectNodeHandler } from './direct.js';
import { contextState } from '../context/state.js';
import type { HostedSink } from './hosted-sink.js';
import { sweepPeriodMs } from './check-periods.js';
import { connectionOf, HttpConnection, type Carrier } from './http-connection.js';
import { h2IdleTimeout, h2Session } from './http2.js';
import type { ResolvedServerOptions } from './options.js';
import type { HeadMount } from './proxy-headers.js';

/** The request listener plus the bookkeeping that graceful close needs. */
export interface GatewayRequestHandler {
  (req: IncomingMessage, res: ServerResponse): void;
  /** Requests not yet finished. */
  readonly inFlight: number;
  /** From now on, responses ask the client to close the connection. */
  drain(onIdle: () => void): void;
  /** See {@link HttpHost.retire}. */
  retire(): void;
  /** True once retire() ran (or the server reached `maxRequests`). */
  readonly retired: boolean;
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
 * One server's books across its connections. Requests not yet settled are counted, and kept on the
 * connections that carry them (a connection joins when it opens, or at its first request without
 * the connection listener, and leaves when it closes), so the per-request books are a counter and
 * a short array.
 */
export class HttpHost {
  /** Requests admitted and not yet settled. */
  inFlight = 0;
  /** Set by drain() or retire(): responses from now on ask the client to close. */
  draining = false;
  /** Set by retire(): a successor takes this server's place. */
  retired = false;
  /** Open connections (and HTTP/2 sessions). */
  readonly connections = new Set<HttpConnection>();
  /** Proxy trust, rootPath and lifespan state for every request head. */
  readonly mount: HeadMount;
  /** An app that can answer node requests itself (fromFetch) skips the gateway's messages. */
  readonly direct: DirectNodeHandler | undefined;
  readonly logError: ErrorLogger;
  /** Whether requests are timed (metrics or the access log want durations). */
  private readonly timed: boolean;
  /**
   * The end of a request for metrics and the access log, folded into one hook: undefined when
   * neither is on, so a plain server checks one field per request.
   */
  private readonly ended: ((sink: HostedSink, clientGone: boolean) => void) | undefined;
  private readonly accessLog: AccessLog | undefined;
  private served = 0;
  private onIdle: (() => void) | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  /** Sweep ticks left that prime node's timer code (see {@link primeNodeTimers}). */
  private primes = 4;

  constructor(
    readonly app: App,
    readonly options: ResolvedServerOptions,
    state: Record<string, unknown>,
    /** The server's address as scopes report it. */
    readonly serverAddress: () => Address,
  ) {
    const { proxyHeaders, forwardedAllowIps, rootPath, logger } = options;
    this.mount = { proxyHeaders, forwardedAllowIps, rootPath, state };
    // A direct handler skips the cycle, and with it the request context (src/context) once that is on.
    this.direct = options.directApps && contextState.enter === undefined ? directNodeHandlerOf(app) : undefined;
    this.accessLog = options.accessLog
      ? new AccessLog(options.logFormat, options.accessLogStream ?? process.stdout)
      : undefined;
    const { metrics } = options;
    const accessLog = this.accessLog;
    this.timed = metrics !== undefined || accessLog !== undefined;
    this.ended = !this.timed
      ? undefined
      : (sink, clientGone) => {
          if (metrics !== undefined) {
            const status = sink.res.headersSent ? sink.res.statusCode : CLIENT_CLOSED_STATUS;
            metrics.finished(sink.head.method, status, sink.startedAt);
          }
          if (accessLog !== undefined) logAccess(accessLog, sink, clientGone);
        };
    this.logError = (error: unknown, requestLine: string) => {
      const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
      logger.error(`exception in app for "${requestLine}": ${text}`);
    };
  }

  /** Starts the books of a connection (or HTTP/2 session) whose peer is `socket`. */
  track(carrier: Carrier, socket: Socket): HttpConnection {
    const connection = new HttpConnection(this, carrier, socket);
    this.connections.add(connection);
    return connection;
  }

  /** Runs one request from node on the connection that carries it. */
  request(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): void {
    let connection: HttpConnection | undefined;
    if (req.httpVersionMajor === 2) {
      // An HTTP/2 request (node's compat objects, same methods) keeps its books on its session: its
      // req.socket is a per-stream proxy of the shared TLS socket.
      const session = h2Session(req as unknown as Http2ServerRequest);
      connection = connectionOf(session) ?? this.track(session, session.socket as Socket);
    } else connection = connectionOf(req.socket) ?? this.track(req.socket, req.socket);
    connection.handle(req, res, expectsContinue);
  }

  /** A connection admitted a request: it is in flight, and counts toward maxRequests. */
  admitted(sink: HostedSink): void {
    this.inFlight++;
    const { requestTimeoutMs, maxRequests } = this.options;
    if (this.timed) {
      // The collector counts it in flight; its duration, and the access log's, run from here.
      sink.startedAt = performance.now();
      this.options.metrics?.started();
    }
    if (this.sweeper === undefined && requestTimeoutMs > 0) this.startSweeper();
    if (++this.served === maxRequests) {
      // The cluster replaces this process (onMaxRequests), and closes it once the successor is ready.
      this.retire();
      this.options.onMaxRequests?.();
    }
  }

  /**
   * A successor takes this server's place (a cluster reload, or `maxRequests` reached), and the
   * server will close once it is ready. From now on, as gunicorn does for a worker past
   * max_requests, every response asks the client to close, so no client keeps a connection that is
   * about to go away. Closing an idle keep-alive connection from the server side races with a client
   * that sends its next request on it at that moment: the request is lost ("other side closed"). So
   * close() of a retired server does not cut such connections; they end after their next response
   * (connection: close) or at the keep-alive timeout, which clients that read the `Keep-Alive:
   * timeout` hint stop reusing a connection before.
   */
  retire(): void {
    this.retired = true;
    this.askClose();
  }

  /** Responses from now on, and those not yet started, ask the client to close the connection. */
  private askClose(): void {
    this.draining = true;
    for (const connection of this.connections) {
      for (const sink of connection.open) if (!sink.res.headersSent) sink.res.shouldKeepAlive = false;
    }
  }

  /** A request left its connection's books (see {@link HttpConnection.settle}). */
  settled(sink: HostedSink, clientGone: boolean): void {
    this.inFlight--;
    const ended = this.ended;
    if (ended !== undefined) ended(sink, clientGone);
    if (currentRequest.head === sink.head) currentRequest.head = undefined;
    // No cycle exists when the request was refused up front (413 on content-length), or when a
    // direct handler has not needed one (yet: it learns of a lost client through clientGone).
    const cycle = sink.cycle;
    sink.settled = true;
    if (cycle !== undefined) {
      if (clientGone) cycle.clientGone();
      // A field test rather than a call per request: the call is tiny and, not inlined, reaches
      // TurboFan only after tens of thousands of requests (a compile in the middle of the load).
      else if (cycle.disconnectWaiters !== undefined) cycle.responseSent();
    }
    if (this.draining && this.inFlight === 0) this.onIdle?.();
  }

  // The request timeout for the app's part of the exchange. node's own requestTimeout ends only
  // the reading of the request; an app that never answers would hold the client forever. One
  // interval timer checks every open request instead of a timer per request (which would cost
  // more than the request on a hello world). Untimed requests carry no clock reading of their own
  // (a clock read per request costs more than the sweep): the first tick that sees one stamps it
  // with the tick's time, which is no earlier than its start, so a request is never cut early and
  // is cut within two intervals of its deadline (one when the request is timed). The interval keeps
  // clear of one second (see check-periods.ts).
  private startSweeper(): void {
    this.sweeper = setInterval(() => this.sweep(), sweepPeriodMs(this.options.requestTimeoutMs));
    this.sweeper.unref();
  }

  private sweep(): void {
    if (this.primes > 0) {
      this.primes--;
      primeNodeTimers();
    }
    const now = performance.now();
    const deadline = now - this.options.requestTimeoutMs;
    for (const connection of this.connections) {
      const open = connection.open;
      for (let i = open.length - 1; i >= 0; i--) {
        const sink = open[i]!;
        const startedAt = sink.startedAt;
        // Compared before the stamp test, so that the comparison runs from the first tick that sees a
        // request: run only for requests open across two ticks (rare on a fast app), it had no type
        // feedback when V8 optimized the sweep, and the first such request threw that code away.
        const due = startedAt <= deadline;
        if (startedAt === 0) {
          // Rounded up: still no earlier than the request's start, and a whole number keeps the field
          // a small integer when nothing times requests (see HostedSink's constructor).
          sink.startedAt = Math.ceil(now);
          continue;
        }
        // A request whose body is still arriving is node's own requestTimeout's to end (408, the
        // client is the slow party); this sweep cuts apps that have the request and do not answer.
        if (due && !sink.timedOut && sink.res.req?.complete !== false) this.timeOut(sink);
      }
    }
  }

  private timeOut(sink: HostedSink): void {
    sink.timedOut = true;
    const head = sink.head;
    const res = sink.res;
    const what = res.headersSent ? 'response cut, connection closed' : 'answered 504';
    const line = `${head.method} ${head.target} HTTP/${head.httpVersion}`;
    this.options.logger.warn(`request timeout (${this.options.requestTimeoutMs} ms) for "${line}": ${what}`);
    // The app learns at once: receive() yields http.disconnect, send() rejects.
    const cycle = sink.cycle;
    if (cycle !== undefined) cycle.clientGone();
    if (res.headersSent) {
      sink.abort();
      return;
    }
    res.shouldKeepAlive = false;
    sink.fail(504, 'Gateway Timeout');
  }

  /** From now on responses ask the client to close; `onIdle` runs once nothing is in flight. */
  drain(onIdle: () => void): void {
    this.askClose();
    this.onIdle = onIdle;
    if (this.inFlight === 0) onIdle();
  }

  /** Stops the request-timeout sweep and writes the access log lines still batched. */
  dispose(): void {
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    this.sweeper = undefined;
    this.accessLog?.close();
  }
}

/**
 * Runs the branch of node's timer code that the Date header's timer takes only at some moments, so
 * that V8 has seen it before it optimizes the code around it. node:http arms an unref'd timer to the
 * next wall-clock second for its cached Date header; `insert` (lib/internal/timers.js) calls
 * `binding.scheduleTimer` only when the new timer list expires before every other, which, beside the
 * sweep and node's connection check, happens only when their phases and the loop's lateness line up
 * (see check-periods.ts). `insert` is inlined into node's `setUnrefTimeout`, which every keep-alive
 * response runs: optimized before that branch ever ran, V8 throws it away when the branch first
 * runs and compiles it again mid-load (~20M instructions, seen in bench:instructions rounds). A
 * timer armed from a timer callback takes the branch for sure (node sets its next expiry to infinity
 * while it runs timers): a 1 ms timer, cleared at once, on the first sweep ticks, when `insert` has
 * run often enough to record what it does and before `setUnrefTimeout` is hot enough to optimize.
 */
function primeNodeTimers(): void {
  clearTimeout(setTimeout(noop, 1));
}

function noop(): void {}

/** Writes the access log line of a request that left the books. */
function logAccess(accessLog: AccessLog, sink: HostedSink, clientGone: boolean): void {
  const res = sink.res;
  const head = sink.head;
  accessLog.write({
    client: head.client,
    method: head.method,
    target: head.target,
    httpVersion: head.httpVersion,
    status: res.headersSent || !clientGone ? res.statusCode : 499,
    bytes: sink.bytes,
    durationMs: performance.now() - sink.startedAt,
    requestId: sink.requestId ?? accessLog.nextId(),
  });
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
  const host = new HttpHost(app, options, state, serverAddress);
  const handler = ((req: IncomingMessage, res: ServerResponse) => {
    host.request(req, res, false);
  }) as GatewayRequestHandler;
  handler.checkContinue = (req: IncomingMessage, res: ServerResponse) => host.request(req, res, true);
  handler.connection = (socket: Socket) => {
    // A TLS socket that chose HTTP/2 is tracked through its session instead.
    if (connectionOf(socket) === undefined && (socket as TLSSocket).alpnProtocol !== 'h2') host.track(socket, socket);
  };
  handler.session = (session: ServerHttp2Session) => {
    const connection = connectionOf(session) ?? host.track(session, session.socket as Socket);
    h2IdleTimeout(session, options.keepAliveTimeoutMs, () => connection.open.length > 0);
  };
  handler.dispose = () => host.dispose();
  Object.defineProperty(handler, 'inFlight', { get: () => host.inFlight });
  Object.defineProperty(handler, 'retired', { get: () => host.retired });
  handler.retire = () => host.retire();
  handler.drain = (onIdle: () => void) => host.drain(onIdle);
  return handler;
}

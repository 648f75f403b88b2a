// One client connection on albany's node:http host (or one HTTP/2 session): the requests it carries,
// who its peer is, and what happens to each request between node's parser and the app (the limits,
// the Host rule, the body source, the direct or gateway path).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, ServerHttp2Session } from 'node:http2';
import type { Socket } from 'node:net';
import { lowerHeaderName } from '../gateway/helpers.js';
import { currentRequest } from '../observe/current-request.js';
import { BAD_HOST_MESSAGE, isValidHost } from './host.js';
import { HostedSink } from './hosted-sink.js';
import { h2Cancel, h2HasBody, h2HeaderListSize, h2RequestTimeout } from './http2.js';
import { NodeRequestSource } from './node-io.js';
import { rawForwardedHostsOk, requestHead, socketPeer, type HeadMount, type Peer } from './proxy-headers.js';
import type { App, Address } from '../gateway/types.js';
import type { ErrorLogger } from './cycle.js';
import type { DirectNodeHandler } from './direct.js';
import type { ResolvedServerOptions } from './options.js';

/** What carries a connection's requests: a TCP or TLS socket, or an HTTP/2 session. */
export type Carrier = Socket | ServerHttp2Session;

// The one property albany puts on a socket (or session): set when the connection opens, before
// node reads from it, so every socket keeps one hidden class through its life.

/**
 * What a connection needs of its server's books (an HttpHost, in http-host.ts): named here so the
 * two files do not import each other.
 */
export interface ConnectionHost {
  readonly app: App;
  readonly options: ResolvedServerOptions;
  readonly serverAddress: () => Address;
  readonly mount: HeadMount;
  readonly direct: DirectNodeHandler | undefined;
  readonly logError: ErrorLogger;
  readonly inFlight: number;
  readonly draining: boolean;
  readonly connections: Set<HttpConnection>;
  admitted(sink: HostedSink): void;
  settled(sink: HostedSink, clientGone: boolean): void;
}

const kConnection = Symbol('albany.connection');
type Marked = Carrier & { [kConnection]?: HttpConnection };

/** The connection albany keeps for `carrier`, if it tracks it. */
export function connectionOf(carrier: Carrier): HttpConnection | undefined {
  return (carrier as Marked)[kConnection];
}

// One listener function for every connection, rather than a closure each.
function onCarrierClose(this: Marked): void {
  this[kConnection]!.closed();
}

/** What the host reads from a request's headers before the app sees them. */
interface HeadFacts {
  contentLength: number | undefined;
  chunked: boolean;
  hostOk: boolean;
  requestId: string | undefined;
}

/**
 * Content-Length and Transfer-Encoding from node's raw header list (names in any case), and whether
 * its Host is acceptable: at most one, a valid authority (server/host.ts). node itself refuses an
 * HTTP/1.1 request without Host (`requireHostHeader`), but lets any text through as its value.
 */
function headFacts(rawHeaders: readonly string[]): HeadFacts {
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
    } else if (name.length === 14 && lowerHeaderName(name) === 'content-length') {
      contentLength = Number(rawHeaders[i + 1]);
    } else if (name.length === 17 && lowerHeaderName(name) === 'transfer-encoding') chunked = true;
    else if (name.length === 12 && lowerHeaderName(name) === 'x-request-id') requestId = rawHeaders[i + 1];
  }
  return { contentLength, chunked, hostOk, requestId };
}

/**
 * One connection's books: the responses it has open (oldest first), its peer (computed once, keep-
 * alive reuses it) and whether it has sent a request yet (close() gives fresh connections a moment).
 * It admits each request it carries and tells the host when one settles.
 */
export class HttpConnection {
  // Plain constructor stores, not class fields (see NodeResponseSink).
  declare readonly host: ConnectionHost;

  /** The server's request timeout (SinkOwner: a request context's deadline counts it). */
  get requestTimeoutMs(): number {
    return this.host.options.requestTimeoutMs;
  }
  declare readonly carrier: Carrier;
  /**
   * Responses not yet settled, oldest first. An array, not a Set: it holds one response (more only
   * when the client pipelines, or on an HTTP/2 session), and a Set's hashing costs more than the scan.
   */
  declare readonly open: HostedSink[];
  /** The peer as the socket reports it. */
  declare readonly peer: Peer;
  /** Whether the connection has sent a request yet. */
  declare served: boolean;

  /** Tracks `carrier` (whose peer is `socket`'s) until it closes. */
  constructor(host: ConnectionHost, carrier: Carrier, socket: Socket) {
    this.host = host;
    this.carrier = carrier;
    this.open = [];
    this.peer = socketPeer(socket);
    this.served = false;
    (carrier as Marked)[kConnection] = this;
    // One close listener per connection rather than one per response: cheaper on keep-alive.
    carrier.once('close', onCarrierClose);
  }

  /** Admits one request: refuses it up front (400, 413, 431, 503) or hands it to the app. */
  handle(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): void {
    const host = this.host;
    const options = host.options;
    if (!this.served) this.served = true;
    const head = requestHead(req, this.peer, host.serverAddress(), host.mount);
    const { contentLength, chunked, hostOk, requestId } = headFacts(head.rawHeaders);
    if (host.draining) res.shouldKeepAlive = false;
    const sink = new HostedSink(res, this, head, host.logError);
    sink.requestId = requestId;
    // For the blocking detector: one store naming the request whose app call starts now.
    currentRequest.head = head;
    this.open.push(sink);
    host.admitted(sink);
    // The usual request (HTTP/1.1, no body, a good Host, no limit or proxy headers to apply) goes
    // straight to the app; the rest of the rules sit out of line, so this stays small enough for
    // TurboFan to inline what every request runs (the sink's constructors, the cycle, the app call).
    const usual = req.httpVersionMajor !== 2 && hostOk && !chunked && contentLength === undefined;
    if (!usual || options.limitConcurrency > 0 || options.proxyHeaders) {
      this.admit(req, res, sink, contentLength, chunked, hostOk, expectsContinue);
      return;
    }
    const direct = host.direct;
    if (direct !== undefined) direct(sink);
    else sink.run(host.app);
  }

  /** Every rule for a request that is not the usual one (see {@link HttpConnection.handle}), in order. */
  private admit(
    req: IncomingMessage,
    res: ServerResponse,
    sink: HostedSink,
    contentLength: number | undefined,
    chunked: boolean,
    hostOk: boolean,
    expectsContinue: boolean,
  ): void {
    const host = this.host;
    const options = host.options;
    const h2 = req.httpVersionMajor === 2;
    if (options.proxyHeaders && !rawForwardedHostsOk(sink.head.rawHeaders)) hostOk = false;
    if (h2) {
      // A stream the client resets leaves the books here; its session goes on.
      res.once('close', () => this.settle(sink, true));
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

    if (h2 && h2HeaderListSize(req.rawHeaders) > options.maxHeaderSize) {
      sink.fail(431, 'Request Header Fields Too Large');
      return;
    }
    if (!hostOk) {
      // Before any app runs, on both paths: a Host with a '/' or '@' would move the path or user of
      // every URL the app builds (fromFetch's request.url included). The connection closes, as
      // after node's own 400s.
      res.shouldKeepAlive = false;
      sink.fail(400, BAD_HOST_MESSAGE);
      return;
    }

    const { limitConcurrency, maxBodySize } = options;
    if (limitConcurrency > 0 && host.inFlight > limitConcurrency) {
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
    if (chunked || (contentLength !== undefined && contentLength > 0)) {
      sink.source = this.bodySource(req, res, sink, chunked ? undefined : contentLength, expectsContinue);
    }
    // Both paths build the cycle in one place (openCycle): at once for the gateway, on demand for a
    // direct handler.
    const direct = host.direct;
    if (direct !== undefined) direct(sink);
    else sink.run(host.app);
  }

  /** The request body as `http.request` messages, within maxBodySize, with `100 Continue` on first read. */
  private bodySource(
    req: IncomingMessage,
    res: ServerResponse,
    sink: HostedSink,
    length: number | undefined,
    expectsContinue: boolean,
  ): NodeRequestSource {
    const host = this.host;
    let beforeFirstRead: (() => void) | undefined;
    if (expectsContinue) {
      // The client holds the body back until 100 Continue. If the app answers without reading it,
      // the body never comes, so that connection cannot be reused.
      const keepAlive = res.shouldKeepAlive;
      res.shouldKeepAlive = false;
      beforeFirstRead = () => {
        if (res.headersSent) return;
        res.writeContinue();
        res.shouldKeepAlive = keepAlive && !host.draining;
      };
    }
    return new NodeRequestSource(
      req,
      true,
      length,
      host.options.maxBodySize,
      () => {
        res.shouldKeepAlive = false;
        // The body is read through a cycle's receive(), so there is one by now on either path.
        const cycle = sink.cycle;
        if (cycle === undefined || !cycle.started) sink.fail(413, 'Payload Too Large');
        else sink.abort();
        cycle?.clientGone();
      },
      beforeFirstRead,
    );
  }

  /** A response leaves the books once: when its sink ends it, or when its connection closes first. */
  settle(sink: HostedSink, clientGone: boolean): void {
    const open = this.open;
    const last = open.length - 1;
    if (last >= 0 && open[last] === sink) open.pop();
    else {
      const i = open.indexOf(sink);
      if (i === -1) return;
      open.splice(i, 1);
    }
    this.host.settled(sink, clientGone);
  }

  /** The connection has closed: every response still open on it lost its client. */
  closed(): void {
    this.host.connections.delete(this);
    const open = this.open;
    while (open.length > 0) this.settle(open[open.length - 1]!, true);
  }
}

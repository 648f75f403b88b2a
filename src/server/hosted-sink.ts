// One request on albany's node:http host: its response sink, plus what the host keeps about it (its
// connection, its cycle, when it started). It is also the exchange a direct handler gets.
import type { ServerResponse } from 'node:http';
import type { RequestBooks } from '../context/state.js';
import type { App } from '../gateway/types.js';
import { HttpCycle, type ErrorLogger, type RequestSource } from './cycle.js';
import type { NodeExchange } from './direct.js';
import { NO_BODY, NodeResponseSink } from './node-io.js';
import { buildHttpScope, type RequestHead } from './scope.js';

/** What a sink needs of its connection (an HttpConnection): closing its books when it settles. */
export interface SinkOwner {
  settle(sink: HostedSink, clientGone: boolean): void;
  /** The server's request timeout in ms (0: none), the deadline of a request's context. */
  readonly requestTimeoutMs: number;
}

/**
 * One request's response sink that also carries the host's books (its connection and its cycle)
 * and is the exchange a direct handler gets (server/direct.ts).
 */
export class HostedSink extends NodeResponseSink implements NodeExchange, RequestBooks {
  // Plain constructor stores, not class fields (see NodeResponseSink).
  /** Built with the request on the gateway path; on a direct path only when the handler asks. */
  declare cycle: HttpCycle | undefined;
  /** Where the request body comes from: {@link NO_BODY} unless the request has one. */
  declare source: RequestSource;
  /**
   * Set once the host's books are closed: the response ended or the client left. A cycle built
   * later starts disconnected.
   */
  declare settled: boolean;
  /** The connection (or HTTP/2 session) that carries the request. */
  declare readonly connection: SinkOwner;
  declare readonly head: RequestHead;
  declare readonly logError: ErrorLogger;
  /**
   * `performance.now()` when the request head arrived, taken only when the access log or metrics
   * time requests; otherwise 0 until the request-timeout sweep first sees the request and stamps
   * it with its own clock (see HttpHost).
   */
  declare startedAt: number;
  /** The request's `x-request-id`, if it sent one (the access log makes one up otherwise). */
  declare requestId: string | undefined;
  /** Set when the request timeout cut this request, so it is cut once. */
  declare timedOut: boolean;

  constructor(res: ServerResponse, connection: SinkOwner, head: RequestHead, logError: ErrorLogger) {
    super(res);
    this.holdsLength = true;
    // A small integer, and the sweep stamps whole milliseconds (see HttpHost.sweep): a field that once
    // holds a fraction is boxed in every sink from then on (a heap number per request, ~320 Ir/req),
    // and the first fraction stored changes the sinks' layout, which throws away optimized code.
    this.startedAt = 0;
    this.requestId = undefined;
    this.timedOut = false;
    this.cycle = undefined;
    this.source = NO_BODY;
    this.settled = false;
    this.connection = connection;
    this.head = head;
    this.logError = logError;
  }

  protected override ended(): void {
    this.connection.settle(this, false);
  }

  override sendWhole(
    status: number,
    headers: string[],
    body: string | Uint8Array | null,
    size: number,
    own: boolean,
    checked: boolean,
  ): void {
    // A direct handler that answers after the request timeout did: its answer has nowhere to go.
    if (this.timedOut) return;
    super.sendWhole(status, headers, body, size, own, checked);
  }

  /** The request's books for the request context: this sink keeps them (see RequestBooks). */
  get books(): RequestBooks {
    return this;
  }

  /** The server's request timeout, counted from {@link HostedSink.startedAt} (RequestBooks). */
  get requestTimeoutMs(): number {
    return this.connection.requestTimeoutMs;
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

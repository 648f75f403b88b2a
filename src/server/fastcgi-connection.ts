// One FastCGI connection: routes records to the requests multiplexed on it, runs each through an
// HttpCycle, and closes the connection (with a logged reason) at the first protocol violation.
import type { Socket } from 'node:net';
import { AlbanyError, ErrorCodes } from '../errors.js';
import type { App } from '../gateway/types.js';
import { HttpCycle, type ErrorLogger } from './cycle.js';
import { FastCGIRequestSource, FastCGIResponseSink, type RecordWriter } from './fastcgi-io.js';
import {
  ProtocolStatus,
  RecordParser,
  RecordType,
  Role,
  encodeEndRequest,
  encodeNameValuePairs,
  encodeRecord,
  encodeUnknownType,
  parseBeginRequest,
  parseNameValuePairs,
  protocolError,
  type FastCGIRecord,
} from './fastcgi-records.js';
import { buildFastCGIScope, type FastCGIScopeOptions } from './fastcgi-scope.js';
import { BAD_HOST_MESSAGE } from './host.js';
import type { Logger, ResolvedServerOptions } from './options.js';

/** Settings shared by every connection of one FastCGI server. */
export interface FastCGIContext {
  app: App;
  options: ResolvedServerOptions;
  state: Record<string, unknown>;
  /**
   * What every request's scope is built from: the proxy trust, rootPath and lifespan state, in one
   * object made once. A fresh spread of the server's options (30-odd keys) per request made old space
   * grow under nginx by ~0.7 MB per scavenge (~700 bytes a request, every one promoted) until the
   * next full GC, 8 of them per 100k requests; without it the heap after a scavenge stays flat.
   */
  scopeOptions: FastCGIScopeOptions;
  logError: ErrorLogger;
  logger: Logger;
  /** Largest PARAMS stream accepted per request. */
  maxParamsSize: number;
  /** Requests one connection may have in flight; more are refused with FCGI_OVERLOADED. */
  maxRequestsPerConnection: number;
  /** Bytes of unread request body queued per request before the socket pauses. */
  bodyHighWater: number;
  /** Set while the server drains: idle connections are closed as soon as they become idle. */
  draining: boolean;
}

interface ActiveRequest {
  keepConn: boolean;
  params: Buffer[] | undefined;
  paramsSize: number;
  source: FastCGIRequestSource | undefined;
  cycle: HttpCycle | undefined;
}

/** A live connection from a web server. */
export class FastCGIConnection implements RecordWriter {
  private readonly requests = new Map<number, ActiveRequest>();
  private readonly parser = new RecordParser();
  private pressed = 0;
  private closed = false;
  private lastWriteOk = true;

  constructor(
    private readonly socket: Socket,
    private readonly ctx: FastCGIContext,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => {
      if (this.parser.pendingBytes > 0)
        this.fatal(protocolError(`connection ended inside a record (${this.parser.pendingBytes} bytes of it arrived)`));
    });
    socket.on('error', (error) => this.ctx.logger.debug(`fastcgi: connection error: ${error.message}`));
    socket.on('close', () => this.onClose());
  }

  /** True when no request is in flight. */
  get idle(): boolean {
    return this.requests.size === 0;
  }

  /** The server is draining: close now if idle, otherwise once the last request ends. */
  drain(): void {
    if (this.idle) this.socket.end();
  }

  /** Cuts the connection (graceful timeout ran out). */
  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    try {
      for (const record of this.parser.push(chunk)) {
        this.onRecord(record);
        if (this.closed) return;
      }
    } catch (error) {
      this.fatal(error);
    }
  }

  private onRecord(r: FastCGIRecord): void {
    if (r.requestId === 0) {
      this.onManagement(r);
      return;
    }
    switch (r.type) {
      case RecordType.BEGIN_REQUEST:
        this.onBegin(r.requestId, r.content);
        return;
      case RecordType.PARAMS:
      case RecordType.STDIN:
      case RecordType.ABORT_REQUEST: {
        // Records for ids that are not active are ignored, as the spec asks: they race with END_REQUEST.
        const req = this.requests.get(r.requestId);
        if (req === undefined) return;
        if (r.type === RecordType.PARAMS) this.onParams(r.requestId, req, r.content);
        else if (r.type === RecordType.STDIN) this.onStdin(r.requestId, req, r.content);
        else this.onAbort(r.requestId, req);
        return;
      }
      case RecordType.DATA:
        return; // only the FILTER role reads DATA, and that role is refused at BEGIN_REQUEST
      default:
        throw protocolError(`record type ${r.type} is not one a web server sends (request ${r.requestId})`, {
          type: r.type,
        });
    }
  }

  private onManagement(r: FastCGIRecord): void {
    if (r.type !== RecordType.GET_VALUES) {
      this.socket.write(encodeUnknownType(r.type));
      return;
    }
    const known: Record<string, string> = {
      FCGI_MAX_CONNS: '1000',
      FCGI_MAX_REQS: String(this.ctx.maxRequestsPerConnection * 1000),
      FCGI_MPXS_CONNS: '1',
    };
    const answer = parseNameValuePairs(r.content)
      .filter(([name]) => name in known)
      .map(([name]) => [name, known[name]!] as [string, string]);
    this.socket.write(encodeRecord(RecordType.GET_VALUES_RESULT, 0, encodeNameValuePairs(answer)));
  }

  private onBegin(id: number, content: Buffer): void {
    if (this.requests.has(id)) throw protocolError(`BEGIN_REQUEST for request ${id}, which is already active`);
    const begin = parseBeginRequest(content);
    if (begin.role !== Role.RESPONDER) {
      this.socket.write(encodeEndRequest(id, 0, ProtocolStatus.UNKNOWN_ROLE));
      return;
    }
    if (this.requests.size >= this.ctx.maxRequestsPerConnection) {
      this.socket.write(encodeEndRequest(id, 0, ProtocolStatus.OVERLOADED));
      return;
    }
    this.requests.set(id, { keepConn: begin.keepConn, params: [], paramsSize: 0, source: undefined, cycle: undefined });
  }

  private onParams(id: number, req: ActiveRequest, content: Buffer): void {
    if (req.params === undefined) throw protocolError(`PARAMS for request ${id} after its PARAMS stream ended`);
    if (content.length > 0) {
      req.paramsSize += content.length;
      if (req.paramsSize > this.ctx.maxParamsSize)
        throw protocolError(`PARAMS for request ${id} exceed ${this.ctx.maxParamsSize} bytes`);
      req.params.push(content);
      return;
    }
    const pairs = parseNameValuePairs(Buffer.concat(req.params, req.paramsSize));
    req.params = undefined;
    this.startRequest(id, req, pairs);
  }

  private startRequest(id: number, req: ActiveRequest, pairs: Array<[string, string]>): void {
    const options = this.ctx.options;
    const { scope, contentLength, hostOk } = buildFastCGIScope(pairs, this.ctx.scopeOptions);
    const sink = new FastCGIResponseSink(this, id, scope.method);
    if (!hostOk) {
      // Refused before the app runs, like the HTTP host does; later STDIN for this id is ignored.
      sink.fail(400, BAD_HOST_MESSAGE);
      return;
    }
    const limit = options.maxBodySize;
    if (limit > 0 && contentLength !== undefined && contentLength > limit) {
      // Refused before a byte of the body is read; later STDIN for this id is ignored as inactive.
      sink.fail(413, 'Payload Too Large');
      return;
    }
    const source = new FastCGIRequestSource(
      contentLength,
      limit,
      this.ctx.bodyHighWater,
      (on) => this.pressure(on),
      () => {
        if (!cycle.started) sink.fail(413, 'Payload Too Large');
        else sink.abort();
        cycle.clientGone();
      },
    );
    const cycle = new HttpCycle(scope, source, sink);
    req.source = source;
    req.cycle = cycle;
    void cycle.run(this.ctx.app, this.ctx.logError).then(() => {
      // A cycle always settles its response; this only guards a sink that failed to.
      if (this.requests.get(id) === req) {
        this.ctx.logger.warn(`fastcgi: request ${id} ended without a complete response; aborting it`);
        this.abort(id);
      }
    });
  }

  private onStdin(id: number, req: ActiveRequest, content: Buffer): void {
    if (req.source === undefined) {
      if (req.params !== undefined) throw protocolError(`STDIN for request ${id} before its PARAMS stream ended`);
      return;
    }
    if (content.length === 0) req.source.end();
    else req.source.push(content);
  }

  private onAbort(id: number, req: ActiveRequest): void {
    this.retire(id, req);
    this.socket.write(encodeEndRequest(id, 0, ProtocolStatus.REQUEST_COMPLETE));
    req.cycle?.clientGone();
    this.afterRequest(req);
  }

  private pressure(on: boolean): void {
    this.pressed += on ? 1 : -1;
    if (this.closed) return;
    if (this.pressed > 0) this.socket.pause();
    else this.socket.resume();
  }

  // --- RecordWriter -----------------------------------------------------------------------------

  write(requestId: number, parts: Uint8Array[]): boolean {
    if (this.closed || !this.requests.has(requestId)) return true;
    const socket = this.socket;
    socket.cork();
    let ok = true;
    for (const part of parts) ok = socket.write(part);
    socket.uncork();
    this.lastWriteOk = ok;
    return ok;
  }

  drained(): Promise<void> {
    if (this.closed || this.lastWriteOk) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        this.lastWriteOk = true;
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  end(requestId: number): void {
    const req = this.requests.get(requestId);
    if (req === undefined || this.closed) return;
    this.retire(requestId, req);
    this.socket.write(encodeEndRequest(requestId, 0, ProtocolStatus.REQUEST_COMPLETE));
    req.cycle?.responseSent();
    this.afterRequest(req);
  }

  abort(requestId: number): void {
    const req = this.requests.get(requestId);
    if (req === undefined || this.closed) return;
    if (this.requests.size === 1) {
      // Closing is the only abort nginx understands: an END_REQUEST would pass a cut body off as whole.
      this.closed = true;
      this.socket.destroy();
      return;
    }
    this.retire(requestId, req);
    this.socket.write(encodeEndRequest(requestId, 1, ProtocolStatus.REQUEST_COMPLETE));
    req.cycle?.clientGone();
  }

  // ----------------------------------------------------------------------------------------------

  private retire(id: number, req: ActiveRequest): void {
    this.requests.delete(id);
    req.source?.close();
  }

  private afterRequest(req: ActiveRequest): void {
    if (this.requests.size === 0 && (!req.keepConn || this.ctx.draining)) this.socket.end();
  }

  private fatal(error: unknown): void {
    if (this.closed) return;
    const reason =
      AlbanyError.is(error) && error.code === ErrorCodes.ERR_ALBANY_PROTOCOL
        ? error.message
        : `internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
    const peer = this.socket.remoteAddress
      ? `${this.socket.remoteAddress}:${this.socket.remotePort}`
      : 'unix socket peer';
    this.ctx.logger.warn(`fastcgi: closing connection from ${peer}: ${reason}`);
    this.socket.destroy();
    this.onClose();
  }

  private onClose(): void {
    this.closed = true;
    for (const [id, req] of this.requests) {
      this.retire(id, req);
      req.cycle?.clientGone();
    }
  }
}

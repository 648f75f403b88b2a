// One request's receive/send, shared by every host: the message state machine and the protocol's
// rules live here once, while each host only says how bytes come in and go out.
import { DISCONNECT, SENT } from '../gateway/messages.js';
import { AlbanyError, ErrorCodes } from '../errors.js';
import {
  checkBody,
  checkHeaders,
  checkMessage,
  checkReason,
  checkStatus,
  invalidMessage,
} from '../gateway/validate.js';
import type { App, Headers, HttpReceiveMessage, HttpScope, SendMessage } from '../gateway/types.js';
import { contextState, type RequestBooks } from '../context/state.js';

/** Where a cycle's response goes. Each host (node:http, FastCGI, interop) implements this. */
export interface ResponseSink {
  /**
   * Status and headers are final; nothing is written until the first body call so hosts may merge
   * them. `reason` is the app's reason phrase (validated), undefined for the standard one.
   */
  start(status: number, headers: Headers, trailers: boolean, reason: string | undefined): void;
  /**
   * One body chunk; `more` false ends the body (unless trailers follow). Returns a promise only
   * when the transport wants the app to wait (backpressure).
   */
  body(chunk: Uint8Array | undefined, more: boolean): void | Promise<void>;
  /** Trailing headers; `more` false ends the response. */
  trailers(headers: Headers, more: boolean): void | Promise<void>;
  /** Stream the file at `path` as the whole body and end the response. */
  sendFile(path: string): Promise<void>;
  /** Answer `status` with a short text body (used for 500 when the app failed before starting). */
  fail(status: number, text: string): void;
  /** Tear the response down mid-stream (the app failed after starting). */
  abort(): void;
  /** The host's books of the request, for the request context; hosts that keep none leave it out. */
  readonly books?: RequestBooks;
}

/** Where a cycle's request body comes from. */
export interface RequestSource {
  /** The next `http.request` chunk, or `http.disconnect` once the client is gone. */
  next(): Promise<HttpReceiveMessage>;
}

/** Called with the app's error and the request line, once per failed request. */
export type ErrorLogger = (error: unknown, requestLine: string) => void;

/** `http.response.start` as the app sent it, before its fields are checked. */
interface StartMessage {
  status: unknown;
  headers?: unknown;
  trailers?: unknown;
  reason?: unknown;
}

/** `http.response.body` as the app sent it, before its fields are checked. */
interface BodyMessage {
  body?: unknown;
  moreBody?: unknown;
}

// Response progress. Numbers, not strings, because this is checked on every message.
enum Phase {
  Initial,
  Body,
  Trailers,
  Done,
}

/**
 * The state of one HTTP request between a host and an app. Owns `receive` and `send`, enforces
 * message order (start → body… → [trailers…] → done), validates each message, and turns app
 * failures into a 500 or an aborted response.
 */
export class HttpCycle {
  // Every slot is assigned in the constructor, not declared as a class field: a cycle is made per
  // request, and plain stores there cost less than the per-field defines class fields compile to.
  declare private phase: Phase;
  declare private wantsTrailers: boolean;
  declare private disconnected: boolean;
  declare private requestDone: boolean;
  /**
   * receive() calls waiting for the end of the exchange (the request was read whole). Read by hosts
   * only to skip {@link HttpCycle.responseSent} when nobody waits (the usual case).
   */
  declare disconnectWaiters: Array<(m: HttpReceiveMessage) => void> | undefined;
  declare readonly scope: HttpScope;
  declare private readonly source: RequestSource;
  declare private readonly sink: ResponseSink;
  /** The app's `receive`. Bound, so it can be handed out as a plain function. */
  declare readonly receive: () => Promise<HttpReceiveMessage>;
  /** The app's `send`. Bound, so it can be handed out as a plain function. */
  declare readonly send: (message: SendMessage) => Promise<void>;

  constructor(scope: HttpScope, source: RequestSource, sink: ResponseSink) {
    this.phase = Phase.Initial;
    this.wantsTrailers = false;
    this.disconnected = false;
    this.requestDone = false;
    this.disconnectWaiters = undefined;
    this.scope = scope;
    this.source = source;
    this.sink = sink;
    this.receive = () => {
      if (this.disconnected || (this.phase === Phase.Done && this.requestDone)) return Promise.resolve(DISCONNECT);
      if (this.requestDone) return this.waitForDisconnect();
      return this.source.next().then((message) => {
        if (message.type === 'http.disconnect') this.disconnected = true;
        else if (!message.moreBody) this.requestDone = true;
        return message;
      });
    };
    this.send = (message) => {
      try {
        const result = this.dispatch(message);
        return result === undefined ? SENT : result.catch((error: unknown) => this.transportFailed(error));
      } catch (error) {
        return Promise.reject(error);
      }
    };
  }

  // A sink write that fails because the client went away (a file stream cut mid-way) is the
  // documented disconnect, not a transport error the app should see or the log should report.
  private transportFailed(error: unknown): never {
    if (this.disconnected && !AlbanyError.is(error)) {
      throw new AlbanyError(ErrorCodes.ERR_ALBANY_CLIENT_DISCONNECTED, 'the client disconnected during the response', {
        cause: error,
      });
    }
    throw error;
  }

  /** True once the response is complete on the app's side. */
  get finished(): boolean {
    return this.phase === Phase.Done;
  }

  /** True once the response has started (status and headers handed to the sink). */
  get started(): boolean {
    return this.phase !== Phase.Initial;
  }

  /** The host calls this when the client goes away; later `send()` calls reject. */
  clientGone(): void {
    if (this.disconnected) return;
    this.disconnected = true;
    const waiters = this.disconnectWaiters;
    this.disconnectWaiters = undefined;
    if (waiters) for (const wake of waiters) wake(DISCONNECT);
  }

  /** The host calls this when it has consumed the whole request itself (e.g. a 413 it sent). */
  requestConsumed(): void {
    this.requestDone = true;
  }

  /**
   * Runs `app` for this request and settles the response whatever the app does: a throw before
   * start becomes a 500, after start an abort; returning without finishing is treated the same.
   */
  run(app: App, logError: ErrorLogger): Promise<void> {
    // Not an async function: the app's own promise carries the outcome, which saves the extra
    // promise and await an async wrapper costs on every request.
    let result: unknown;
    // The request context (src/context), once turned on: one load and compare per request until then.
    const enter = contextState.enter;
    try {
      result =
        enter === undefined
          ? app(this.scope, this.receive, this.send)
          : enter(app, this.scope, this.receive, this.send, this.sink.books);
    } catch (error) {
      this.appFailed(error, logError);
      return SENT;
    }
    if (result === SENT) {
      // An adapter that finished within this tick (fromFetch with a synchronous handler).
      this.appReturned(logError);
      return SENT;
    }
    return Promise.resolve(result).then(
      () => this.appReturned(logError),
      (error: unknown) => this.appFailed(error, logError),
    );
  }

  private appFailed(error: unknown, logError: ErrorLogger): void {
    if (this.disconnected && AlbanyError.is(error) && error.code === ErrorCodes.ERR_ALBANY_CLIENT_DISCONNECTED) return;
    logError(error, this.requestLine());
    this.settleFailure();
  }

  private appReturned(logError: ErrorLogger): void {
    if (this.phase !== Phase.Done && !this.disconnected) {
      logError(
        new AlbanyError(ErrorCodes.ERR_ALBANY_INVALID_MESSAGE, 'app returned without completing the response'),
        this.requestLine(),
      );
      this.settleFailure();
    }
  }

  private settleFailure(): void {
    if (this.disconnected || this.phase === Phase.Done) return;
    if (this.phase === Phase.Initial) this.sink.fail(500, 'Internal Server Error');
    else this.sink.abort();
    this.phase = Phase.Done;
  }

  private requestLine(): string {
    const q = this.scope.queryString;
    return `${this.scope.method} ${this.scope.rawPath}${q ? `?${q}` : ''} HTTP/${this.scope.httpVersion}`;
  }

  private waitForDisconnect(): Promise<HttpReceiveMessage> {
    return new Promise((resolve) => {
      (this.disconnectWaiters ??= []).push(resolve);
    });
  }

  /** Called by hosts when the response has left and the connection moved on. */
  responseSent(): void {
    // The exchange is over: a pending receive() gets http.disconnect. send() is left alone, so a
    // message after the end still fails as a protocol error rather than as a disconnect.
    const waiters = this.disconnectWaiters;
    this.disconnectWaiters = undefined;
    if (waiters) for (const wake of waiters) wake(DISCONNECT);
  }

  // The two messages of nearly every response first, each in its own small method, and the rest
  // out of line: small enough for TurboFan to inline into send() and on into the app.
  private dispatch(message: SendMessage): void | Promise<void> {
    const type = checkMessage(message);
    if (this.disconnected) return this.disconnectedSend(type);
    if (type === 'http.response.body') return this.body(message as BodyMessage);
    if (type === 'http.response.start') return this.start(message as StartMessage);
    return this.dispatchOther(type, message);
  }

  private disconnectedSend(type: string): never {
    throw new AlbanyError(ErrorCodes.ERR_ALBANY_CLIENT_DISCONNECTED, `${type}: the client has disconnected`);
  }

  private start(m: StartMessage): void {
    const type = 'http.response.start';
    if (this.phase !== Phase.Initial)
      invalidMessage(`http.response.start sent twice (the response has already started)`);
    const status = checkStatus(m.status, type);
    const headers = checkHeaders(m.headers, type);
    const reason = m.reason === undefined ? undefined : checkReason(m.reason, type);
    const trailers = m.trailers === true;
    // First: a sink that cannot carry this head (toFetch and a status past 599) throws, and the
    // response has then not started, so the app's failure still gets its 500.
    this.sink.start(status, headers, trailers, reason);
    this.wantsTrailers = trailers;
    this.phase = Phase.Body;
  }

  private body(m: BodyMessage): void | Promise<void> {
    if (this.phase !== Phase.Body) this.orderError('http.response.body');
    const body = checkBody(m.body, 'http.response.body');
    const more = m.moreBody === true;
    if (!more) this.phase = this.wantsTrailers ? Phase.Trailers : Phase.Done;
    try {
      return this.sink.body(body, more);
    } catch (error) {
      return this.sinkThrew(error);
    }
  }

  private dispatchOther(type: string, message: SendMessage): void | Promise<void> {
    switch (type) {
      case 'http.response.trailers': {
        if (this.phase !== Phase.Trailers) {
          if (this.phase === Phase.Body && !this.wantsTrailers)
            invalidMessage('http.response.trailers sent but http.response.start did not set trailers: true');
          this.orderError(type);
        }
        const m = message as { headers?: unknown; moreTrailers?: unknown };
        const headers = checkHeaders(m.headers, type);
        const more = m.moreTrailers === true;
        if (!more) this.phase = Phase.Done;
        try {
          return this.sink.trailers(headers, more);
        } catch (error) {
          return this.sinkThrew(error);
        }
      }
      case 'http.response.pathsend': {
        if (this.phase !== Phase.Body) this.orderError(type);
        const path = (message as { path?: unknown }).path;
        if (typeof path !== 'string' || path === '')
          invalidMessage('http.response.pathsend: path must be a non-empty string');
        this.phase = Phase.Done;
        return this.sink.sendFile(path);
      }
      default:
        return invalidMessage(`unexpected message type ${JSON.stringify(type)} in an http scope`);
    }
  }

  // The transport refused what the app sent (node rejects some header combinations only when it
  // writes the head). The response cannot complete, so it is settled here: a 500 while nothing has
  // gone out, a cut connection after; the app's send() rejects with the transport's error.
  private sinkThrew(error: unknown): never {
    this.phase = Phase.Done;
    if (!this.disconnected) this.sink.fail(500, 'Internal Server Error');
    throw error;
  }

  private orderError(type: string): never {
    if (this.phase === Phase.Initial) invalidMessage(`${type} sent before http.response.start`);
    if (this.phase === Phase.Trailers) invalidMessage(`${type} sent while trailers are expected`);
    if (this.phase === Phase.Body)
      invalidMessage(
        `${type} sent while the body is still streaming (the last http.response.body has moreBody: false)`,
      );
    return invalidMessage(`${type} sent after the response was complete`);
  }
}

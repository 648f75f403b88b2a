// One legacy request on the main thread: hands the request to the pool, feeds the body on demand,
// relays the worker's response to send() in order and with backpressure, and turns pool faults into
// responses. The common case (body in hand, response in one piece) is one hand-off and no port message.
import type {
  Headers,
  HttpResponseStartMessage,
  HttpScope,
  Receive,
  ReceiveMessage,
  Send,
  SendMessage,
} from '../src/gateway/types.js';
import { albanyError, hasCode } from '../src/errors.js';
import { reviveError } from '../src/errors-wire.js';
import type { OnDisconnect } from '../src/pool/config-types.js';
import type { LegacyPool, Ticket, TicketListener } from '../src/pool/pool.js';
import type { MountSpec, TaskResult, WorkerMessage } from '../src/pool/protocol.js';
import { DISCONNECT } from '../src/gateway/messages.js';
import { buildLegacyRequest } from './request.js';
import { REFUSED_BODY, REFUSED_START, textHeaders } from './refusal.js';

/** What every request of one legacy mount shares. */
export interface ExchangeSettings {
  pool: LegacyPool;
  /** Module, export, style and ack limits: the same object for every request (sent once per batch). */
  mount: MountSpec;
  onDisconnect: OnDisconnect;
  log: (message: string, error?: unknown) => void;
}

const toDisconnect = (): ReceiveMessage => DISCONNECT;
const ignore = (): void => {};

/** Runs one http request through the legacy pool. Rejects only when a response had to be cut short. */
export function runExchange(scope: HttpScope, receive: Receive, send: Send, settings: ExchangeSettings): Promise<void> {
  return new LegacyExchange(scope, receive, send, settings).run();
}

// Not an async function: the ticket hands its outcome to onSettled (no promise per ticket) and the
// exchange settles its own promise from there, which saves the ticket's promise, its resolution
// with an object (a `then` lookup) and two awaits per request.
class LegacyExchange implements TicketListener {
  private pending: Promise<ReceiveMessage> | undefined;
  private ticket: Ticket | undefined;
  private chain: Promise<void> | undefined;
  private gone = false;
  private started = false;
  private finished = false;
  private failure: unknown;
  private resolveRun: (() => void) | undefined;
  private rejectRun: ((err: unknown) => void) | undefined;

  constructor(
    private readonly scope: HttpScope,
    private readonly receive: Receive,
    private readonly send: Send,
    private readonly settings: ExchangeSettings,
  ) {}

  run(): Promise<void> {
    const done = new Promise<void>((resolve, reject) => {
      this.resolveRun = resolve;
      this.rejectRun = reject;
    });
    this.receive().then(
      (first) => this.begin(first),
      (err: unknown) => this.rejectRun!(err),
    );
    return done;
  }

  private begin(first: ReceiveMessage): void {
    try {
      if (first.type !== 'http.request') {
        this.resolveRun!();
        return;
      }
      const { pool } = this.settings;
      // Refuse before building anything: a flood against a full queue must cost next to nothing.
      if (pool.refuses()) {
        this.refuse();
        return;
      }
      // A refusal settles the ticket at once; onSettled follows in a microtask.
      this.ticket = pool.dispatch(
        {
          mount: this.settings.mount,
          request: buildLegacyRequest(this.scope),
          body: first.body,
          more: first.moreBody,
        },
        this,
      );
      this.watchDisconnect();
    } catch (err) {
      this.rejectRun!(err);
    }
  }

  /** The ticket settled (see TicketListener.onSettled). */
  onSettled(result: TaskResult | undefined, error: unknown): void {
    if (result === undefined) {
      if (this.chain === undefined) this.failed(error);
      else void this.chain.then(() => this.failed(error));
      return;
    }
    if (this.chain !== undefined) {
      this.enqueue(() => this.applyResult(result));
      void this.chain.then(() => this.ended());
      return;
    }
    // Nothing came over the port: the whole response is in the result.
    let sent: Promise<void>;
    let whole = false;
    try {
      if (this.gone || result.aborted || result.error !== undefined) sent = this.applyResult(result);
      else {
        sent = this.sendWhole(result);
        whole = true;
      }
    } catch (err) {
      sent = Promise.reject(err);
    }
    sent.then(
      () => this.ended(),
      (err: unknown) => (whole ? this.sendEndFailed(err) : this.endFailed(err)),
    );
  }

  private failed(error: unknown): void {
    this.finished = true;
    this.settleRun(this.fail(error));
  }

  private settleRun(outcome: Promise<void>): void {
    outcome.then(this.resolveRun, this.rejectRun);
  }

  private ended(): void {
    this.finished = true;
    if (this.failure !== undefined) this.rejectRun!(this.failure);
    else this.resolveRun!();
  }

  private endFailed(err: unknown): void {
    this.failure = err;
    this.ended();
  }

  // sendWhole's failure: a send() that failed because the client left marks it gone; any other is the outcome.
  private sendEndFailed(err: unknown): void {
    if (hasCode(err, 'ERR_ALBANY_CLIENT_DISCONNECTED')) this.clientGone();
    else this.failure = err;
    this.ended();
  }

  /** Port messages of this request, routed here by the pool. */
  onWorkerMessage(msg: WorkerMessage): void {
    switch (msg.type) {
      case 'legacy.pull':
        void this.feedBody();
        return;
      case 'legacy.log':
        this.settings.log(`albany legacy ${this.settings.mount.moduleUrl} wsgi.errors: ${msg.text.trimEnd()}`);
        return;
      case 'legacy.start':
        this.enqueue(() => this.forward(startMessage(msg)));
        return;
      case 'legacy.body':
        this.enqueue(async () => {
          await this.forward({ type: 'http.response.body', body: msg.chunk, moreBody: true });
          if (msg.ack)
            this.ticket?.post(
              this.gone ? { type: 'legacy.disconnect', id: msg.id } : { type: 'legacy.ack', id: msg.id },
            );
        });
        return;
      default:
        return;
    }
  }

  // The worker asked for the next chunk: hand over the one read ahead (or wait for it).
  private async feedBody(): Promise<void> {
    const message = await this.take().catch(toDisconnect);
    const ticket = this.ticket!;
    if (message.type === 'http.request') {
      ticket.post({ type: 'legacy.body', id: ticket.id, chunk: message.body, more: message.moreBody });
      this.watchDisconnect();
    } else {
      this.clientGone();
    }
  }

  // Keeps one receive() outstanding so a disconnect is noticed while the task waits or runs; it
  // reads at most one chunk ahead, which the next pull takes, so the body still flows on demand.
  private watchDisconnect(): void {
    if (this.finished || this.gone) return;
    this.peek().then(this.onPeek, this.onPeekError);
  }

  private readonly onPeek = (m: ReceiveMessage): void => {
    if (m.type === 'http.disconnect') this.clientGone();
  };

  private readonly onPeekError = (): void => this.clientGone();

  private peek(): Promise<ReceiveMessage> {
    this.pending ??= this.receive();
    return this.pending;
  }

  private async take(): Promise<ReceiveMessage> {
    const message = await this.peek();
    this.pending = undefined;
    return message;
  }

  private clientGone(): void {
    if (this.gone || this.finished) return;
    this.gone = true;
    this.ticket?.cancel(this.settings.onDisconnect);
  }

  private async applyResult(result: TaskResult): Promise<void> {
    if (this.gone) return;
    if (result.aborted) {
      // The handler cut the connection itself (a node handler's socket.destroy()): the client must
      // see it cut, and a gateway app cuts it by failing after http.response.start.
      if (!this.started) await this.forward({ type: 'http.response.start', status: 500, headers: [] });
      throw albanyError('ERR_ALBANY_HANDLER', 'the legacy handler destroyed the connection');
    }
    if (result.error !== undefined) {
      const what = result.loadError ? 'could not load the handler' : 'handler failed';
      // The handler's error as it was thrown (class name, code, props, cause, worker stack), for the log.
      const error = reviveError(result.error);
      this.settings.log(`albany legacy ${this.settings.mount.moduleUrl}: ${what}`, error);
      if (this.started) {
        throw albanyError(
          'ERR_ALBANY_HANDLER',
          `the legacy handler failed after the response started: ${error.message}`,
          { cause: error },
        );
      }
      return this.respond(500, 'Internal Server Error');
    }
    if (result.start !== undefined) await this.forward(startMessage(result.start));
    await this.forward({ type: 'http.response.body', body: result.body, moreBody: false });
  }

  // The common ending: status, headers and the body go to send() back to back (send() takes each
  // message at once and only its promise waits for the transport), one wait for both.
  private sendWhole(result: TaskResult): Promise<void> {
    const send = this.send;
    let first: Promise<void> | undefined;
    if (result.start !== undefined) {
      this.started = true;
      first = send(startMessage(result.start));
    }
    return bothSent(first, send({ type: 'http.response.body', body: result.body, moreBody: false }));
  }

  private sendFailed(err: unknown): void {
    if (hasCode(err, 'ERR_ALBANY_CLIENT_DISCONNECTED')) this.clientGone();
    else throw err;
  }

  private async fail(err: unknown): Promise<void> {
    if (this.gone) return;
    // Aborted with the client still here: the pool was closed under the request (shutdown).
    if (hasCode(err, 'ERR_ALBANY_ABORTED')) return this.started ? undefined : this.respond(503, 'Service Unavailable');
    if (hasCode(err, 'ERR_ALBANY_QUEUE_FULL')) return this.respondWith(REFUSED_START, REFUSED_BODY);
    this.settings.log(
      `albany legacy ${this.settings.mount.moduleUrl}: ${(err as Error).message}`,
      (err as Error).cause,
    );
    const timeout = hasCode(err, 'ERR_ALBANY_TIMEOUT');
    if (this.started) throw err;
    return timeout ? this.respond(504, 'Gateway Timeout') : this.respond(500, 'Internal Server Error');
  }

  // The full queue's 503 (as fail() sends it), with no async function, await or per-request
  // object on the way: both messages go to send() back to back, like sendWhole's.
  private refuse(): void {
    this.started = true;
    const send = this.send;
    const first = send(REFUSED_START);
    bothSent(first, send(REFUSED_BODY)).then(this.resolveRun, (err: unknown) => this.refuseFailed(err));
  }

  // As forward() takes a failed send: a client that left ends the exchange quietly, anything else is its outcome.
  private refuseFailed(err: unknown): void {
    if (!hasCode(err, 'ERR_ALBANY_CLIENT_DISCONNECTED')) {
      this.rejectRun!(err);
      return;
    }
    this.clientGone();
    this.resolveRun!();
  }

  private respond(status: number, text: string): Promise<void> {
    return this.respondWith(
      { type: 'http.response.start', status, headers: textHeaders(text) },
      { type: 'http.response.body', body: Buffer.from(text), moreBody: false },
    );
  }

  private async respondWith(start: SendMessage, body: SendMessage): Promise<void> {
    if (this.gone) return;
    await this.forward(start);
    await this.forward(body);
  }

  // Output after the client left is dropped; a send() that fails because it left marks it gone.
  private async forward(message: SendMessage): Promise<void> {
    if (this.gone) return;
    if (message.type === 'http.response.start') this.started = true;
    try {
      await this.send(message);
    } catch (err) {
      this.sendFailed(err);
    }
  }

  private enqueue(step: () => Promise<void>): void {
    this.chain = (this.chain ?? Promise.resolve()).then(step).catch((err: unknown) => {
      this.failure ??= err;
      // A broken send (invalid message, server error) ends the exchange like a disconnect: the worker stops.
      if (!this.gone) this.clientGone();
    });
  }
}

/**
 * The gateway's start message for a worker's head; its reason phrase (a WSGI status line's own) as the `reason`
 * extension.
 */
function startMessage(head: { status: number; headers: Headers; reason?: string }): HttpResponseStartMessage {
  return head.reason === undefined
    ? { type: 'http.response.start', status: head.status, headers: head.headers }
    : { type: 'http.response.start', status: head.status, headers: head.headers, reason: head.reason };
}

/**
 * One wait for two messages sent back to back (`first` may be absent): the first one's failure wins,
 * and the second one's is then ignored, so no rejection goes unhandled.
 */
function bothSent(first: Promise<void> | undefined, last: Promise<void>): Promise<void> {
  if (first === undefined || first === last) return last;
  return first.then(
    () => last,
    (err: unknown) => {
      last.catch(ignore);
      throw err;
    },
  );
}

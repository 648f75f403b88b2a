// One legacy request on the main thread: dispatches the task, feeds the body on demand, relays the
// worker's response to send() in order and with backpressure, and turns pool faults into responses.
import { MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { HttpScope, Receive, ReceiveMessage, Send, SendMessage } from '../src/gateway/types.js';
import { AlbanyError, albanyError, hasCode } from '../src/errors.js';
import type { OnDisconnect } from '../src/pool/config-types.js';
import type { LegacyPool } from '../src/pool/pool.js';
import {
  SHARED_BYTES, STATE_INDEX, TaskState, isLegacyMessage,
  type HandlerStyle, type MainMessage, type SerializedError, type TaskResult, type WorkerMessage,
} from '../src/pool/protocol.js';
import { createSignal, postAndWake, type Signal } from '../src/sync/channel.js';
import { handleServiceCall, isServiceMessage } from '../src/sync/services.js';
import { buildLegacyRequest } from './environ.js';

/** What every request of one legacy mount shares. */
export interface ExchangeSettings {
  pool: LegacyPool;
  moduleUrl: string;
  exportName: string | undefined;
  style: HandlerStyle | undefined;
  onDisconnect: OnDisconnect;
  ackBytes: number;
  ackMessages: number;
  log: (message: string, error?: unknown) => void;
}

const textHeaders = (body: string): Array<[string, string]> => [
  ['content-type', 'text/plain; charset=utf-8'],
  ['content-length', String(Buffer.byteLength(body))],
];

/** Runs one http request through the legacy pool. Rejects only when a response had to be cut short. */
export function runExchange(scope: HttpScope, receive: Receive, send: Send, settings: ExchangeSettings): Promise<void> {
  return new LegacyExchange(scope, receive, send, settings).run();
}

class LegacyExchange {
  private pending: Promise<ReceiveMessage> | undefined;
  private port: MessagePort | undefined;
  private readonly shared = new SharedArrayBuffer(SHARED_BYTES);
  private readonly signal: Signal = createSignal(this.shared);
  private readonly abort = new AbortController();
  private chain: Promise<void> = Promise.resolve();
  private gone = false;
  private started = false;
  private finished = false;
  private failure: unknown;

  constructor(
    private readonly scope: HttpScope,
    private readonly receive: Receive,
    private readonly send: Send,
    private readonly settings: ExchangeSettings,
  ) {}

  async run(): Promise<void> {
    const first = await this.take();
    if (first.type !== 'http.request') return;
    const { pool } = this.settings;
    // Refuse before allocating a channel: a flood against a full queue must cost next to nothing.
    if (pool.admit() !== undefined) return this.respond(503, 'Service Unavailable', [['retry-after', '1']]);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    port1.on('message', (message: unknown) => this.onMessage(message));
    this.watchDisconnect();
    let result: TaskResult;
    try {
      result = await pool.run({
        moduleUrl: this.settings.moduleUrl,
        exportName: this.settings.exportName,
        style: this.settings.style,
        request: buildLegacyRequest(this.scope),
        body: first.body,
        more: first.moreBody,
        port: port2,
        shared: this.shared,
        ackBytes: this.settings.ackBytes,
        ackMessages: this.settings.ackMessages,
      }, { signal: this.abort.signal, transferList: [port2] });
    } catch (err) {
      this.drainPort();
      await this.chain;
      this.close();
      return this.fail(err);
    }
    this.drainPort();
    this.enqueue(() => this.applyResult(result));
    await this.chain;
    this.close();
    if (this.failure !== undefined) throw this.failure;
  }

  private onMessage(message: unknown): void {
    if (isServiceMessage(message)) {
      const port = this.port;
      if (port !== undefined) void handleServiceCall(message, (reply, transfer) => postAndWake(port, this.signal, reply, transfer));
      return;
    }
    if (!isLegacyMessage(message)) return;
    const msg = message as WorkerMessage;
    switch (msg.type) {
      case 'legacy.pull':
        void this.feedBody();
        return;
      case 'legacy.log':
        this.settings.log(`albany legacy ${this.settings.moduleUrl} wsgi.errors: ${msg.text.trimEnd()}`);
        return;
      case 'legacy.error':
        this.settings.log(`albany legacy ${this.settings.moduleUrl}: handler error`, rebuildError(msg.error));
        return;
      case 'legacy.start':
        this.enqueue(() => this.forward({ type: 'http.response.start', status: msg.status, headers: msg.headers }));
        return;
      case 'legacy.body':
        this.enqueue(async () => {
          await this.forward({ type: 'http.response.body', body: msg.chunk, moreBody: true });
          if (msg.ack) this.post({ type: this.gone ? 'legacy.disconnect' : 'legacy.ack' });
        });
        return;
    }
  }

  // The worker asked for the next chunk: hand over the one read ahead (or wait for it).
  private async feedBody(): Promise<void> {
    const message = await this.take().catch((): ReceiveMessage => ({ type: 'http.disconnect' }));
    if (message.type === 'http.request') {
      this.post({ type: 'legacy.body', chunk: message.body, more: message.moreBody });
      this.watchDisconnect();
    } else {
      this.clientGone();
    }
  }

  // Keeps one receive() outstanding so a disconnect is noticed while the task waits or runs; it
  // reads at most one chunk ahead, which the next pull takes, so the body still flows on demand.
  private watchDisconnect(): void {
    if (this.finished || this.gone) return;
    this.peek().then((m) => {
      if (m.type === 'http.disconnect') this.clientGone();
    }, () => this.clientGone());
  }

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
    const state = Atomics.load(new Int32Array(this.shared), STATE_INDEX);
    if (state === TaskState.queued || this.settings.onDisconnect === 'abort') {
      this.abort.abort();
    } else {
      this.post({ type: 'legacy.disconnect' });
    }
  }

  private async applyResult(result: TaskResult): Promise<void> {
    if (this.gone || result.aborted) return;
    if (result.error !== undefined) {
      const what = result.loadError ? 'could not load the handler' : 'handler failed';
      this.settings.log(`albany legacy ${this.settings.moduleUrl}: ${what}`, rebuildError(result.error));
      if (this.started) throw albanyError('ERR_ALBANY_HANDLER', `the legacy handler failed after the response started: ${result.error.message}`);
      return this.respond(500, 'Internal Server Error');
    }
    if (result.start !== undefined) await this.forward({ type: 'http.response.start', status: result.start.status, headers: result.start.headers });
    await this.forward({ type: 'http.response.body', body: result.body, moreBody: false });
  }

  private async fail(err: unknown): Promise<void> {
    if (this.gone || hasCode(err, 'ERR_ALBANY_ABORTED')) return;
    if (hasCode(err, 'ERR_ALBANY_QUEUE_FULL')) return this.respond(503, 'Service Unavailable', [['retry-after', '1']]);
    this.settings.log(`albany legacy ${this.settings.moduleUrl}: ${(err as Error).message}`, (err as Error).cause);
    const timeout = hasCode(err, 'ERR_ALBANY_TIMEOUT');
    if (this.started) throw err;
    return timeout ? this.respond(504, 'Gateway Timeout') : this.respond(500, 'Internal Server Error');
  }

  private async respond(status: number, text: string, extra: Array<[string, string]> = []): Promise<void> {
    if (this.gone) return;
    await this.forward({ type: 'http.response.start', status, headers: [...textHeaders(text), ...extra] });
    await this.forward({ type: 'http.response.body', body: Buffer.from(text), moreBody: false });
  }

  // Output after the client left is dropped; a send() that fails because it left marks it gone.
  private async forward(message: SendMessage): Promise<void> {
    if (this.gone) return;
    if (message.type === 'http.response.start') this.started = true;
    try {
      await this.send(message);
    } catch (err) {
      if (hasCode(err, 'ERR_ALBANY_CLIENT_DISCONNECTED')) this.clientGone();
      else throw err;
    }
  }

  private enqueue(step: () => Promise<void>): void {
    this.chain = this.chain.then(step).catch((err: unknown) => {
      this.failure ??= err;
      this.clientGoneAfterFailure();
    });
  }

  // A broken send (invalid message, server error) ends the exchange like a disconnect: the worker stops.
  private clientGoneAfterFailure(): void {
    if (!this.gone) this.clientGone();
  }

  private drainPort(): void {
    if (this.port === undefined) return;
    for (let e = receiveMessageOnPort(this.port); e !== undefined; e = receiveMessageOnPort(this.port)) this.onMessage(e.message);
  }

  private post(message: MainMessage): void {
    if (this.port !== undefined && !this.finished) postAndWake(this.port, this.signal, message);
  }

  private close(): void {
    this.finished = true;
    this.port?.close();
  }
}

function rebuildError(error: SerializedError): Error {
  const rebuilt = new AlbanyError('ERR_ALBANY_HANDLER', error.message, { details: { name: error.name, code: error.code } });
  rebuilt.name = error.name;
  if (error.stack !== undefined) rebuilt.stack = error.stack;
  return rebuilt;
}

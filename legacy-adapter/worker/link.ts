// The worker's link to the main thread for one request, over the worker's persistent port: posts
// response messages (tagged with the request id), blocks for body chunks and acks, and notices a
// client disconnect through the batch's shared "gone" flag, all without the worker's event loop.
import type { MessagePort } from 'node:worker_threads';
import { receiveBlocking, type Signal } from '../../src/sync/channel.js';
import type { MainMessage, RequestBodyMessage, WorkerMessage } from '../../src/pool/protocol.js';
import { albanyError } from '../../src/errors.js';

/** Thrown inside the worker when the client is gone; the worker catches it and ends the task quietly. */
export function clientGone(): Error {
  return albanyError('ERR_ALBANY_ABORTED', 'the client disconnected while the legacy handler was running');
}

/** The worker's end of its persistent channel: the port and the wake-up counter the main thread bumps. */
export interface WorkerChannelEnd {
  readonly port: MessagePort;
  readonly signal: Signal;
}

/**
 * One request's link. Messages for this request that arrive while the worker waits for something
 * else (a body chunk while waiting for an ack) are kept in arrival order; messages for other
 * (earlier) requests on the shared port are dropped.
 */
export class WorkerLink {
  private gone = false;
  private stash: unknown[] | undefined;
  private bytesSinceAck = 0;
  private messagesSinceAck = 0;

  constructor(
    readonly channel: WorkerChannelEnd,
    /** The request id every message carries. */
    readonly id: number,
    /** The batch's shared state; `goneAt` is this request's "client gone" flag in it. */
    private readonly shared: Int32Array,
    private readonly goneAt: number,
    private readonly ackBytes: number,
    private readonly ackMessages: number,
  ) {}

  get port(): MessagePort {
    return this.channel.port;
  }

  get signal(): Signal {
    return this.channel.signal;
  }

  /** True once the main thread said the client went away. */
  get disconnected(): boolean {
    if (!this.gone && Atomics.load(this.shared, this.goneAt) !== 0) this.gone = true;
    return this.gone;
  }

  /** Posts a message that needs no answer. */
  post(message: WorkerMessage): void {
    this.channel.port.postMessage(message);
  }

  /**
   * Posts a response-body chunk. Every `ackBytes` / `ackMessages` it waits until the main thread has
   * handed the chunk to the server, which bounds what sits in memory between the threads.
   */
  postBody(chunk: Uint8Array, more: boolean): void {
    if (this.disconnected) throw clientGone();
    this.bytesSinceAck += chunk.byteLength;
    this.messagesSinceAck += 1;
    const ack = more && (this.bytesSinceAck >= this.ackBytes || this.messagesSinceAck >= this.ackMessages);
    this.channel.port.postMessage({ type: 'legacy.body', id: this.id, chunk, more, ack } satisfies WorkerMessage);
    if (!ack) return;
    this.bytesSinceAck = 0;
    this.messagesSinceAck = 0;
    this.waitFor('legacy.ack');
  }

  /** Asks for the next request-body chunk and blocks until it (or a disconnect) arrives. */
  pull(): RequestBodyMessage {
    if (this.disconnected) throw clientGone();
    this.channel.port.postMessage({ type: 'legacy.pull', id: this.id } satisfies WorkerMessage);
    return this.waitFor('legacy.body') as RequestBodyMessage;
  }

  /** Kept for handlers' sake: a disconnect is seen through the shared flag, without reading the port. */
  poll(): void {
    void this.disconnected;
  }

  /**
   * Blocks until a message of `type` for this request arrives and returns it; throws if the client
   * goes away first. Other messages for this request are kept for whoever waits for them.
   */
  waitFor(type: MainMessage['type'] | string): unknown {
    const stash = this.stash;
    if (stash !== undefined) {
      const index = stash.findIndex((m) => (m as { type?: unknown }).type === type);
      if (index !== -1) return stash.splice(index, 1)[0];
    }
    for (;;) {
      if (this.disconnected) throw clientGone();
      const message = receiveBlocking(this.channel.port, this.channel.signal);
      if ((message as { type?: unknown }).type === type && (message as { id?: unknown }).id === this.id) return message;
      this.accept(message);
    }
  }

  /** Takes a message read by someone else on this port (runSync's wait), keeping arrival order. */
  deliver(message: unknown): void {
    this.accept(message);
  }

  private accept(message: unknown): void {
    const m = message as { type?: unknown; id?: unknown } | null;
    if (m === null || typeof m !== 'object' || m.id !== this.id || typeof m.type !== 'string') return;
    if (m.type === 'legacy.disconnect') this.gone = true;
    else (this.stash ??= []).push(message);
  }
}

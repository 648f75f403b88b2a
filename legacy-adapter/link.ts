// The worker's end of one request's port: posts response messages, blocks for body chunks and acks,
// and notices a client disconnect, all without the worker's event loop.
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { receiveBlocking, type Signal } from '../src/sync/channel.js';
import type { MainMessage, RequestBodyMessage, WorkerMessage } from '../src/pool/protocol.js';
import { albanyError } from '../src/errors.js';

/** Thrown inside the worker when the client is gone; the worker catches it and ends the task quietly. */
export function clientGone(): Error {
  return albanyError('ERR_ALBANY_ABORTED', 'the client disconnected while the legacy handler was running');
}

/**
 * One request's link to the main thread. Messages that arrive while the worker waits for something
 * else (a body chunk while waiting for an ack, a service result) are kept in arrival order.
 */
export class WorkerLink {
  /** True once the main thread said the client went away. */
  disconnected = false;
  private readonly stash: unknown[] = [];
  private bytesSinceAck = 0;
  private messagesSinceAck = 0;

  constructor(
    readonly port: MessagePort,
    /** The wake-up counter the main thread bumps after each post. */
    readonly signal: Signal,
    private readonly ackBytes: number,
    private readonly ackMessages: number,
  ) {}

  /** Posts a message that needs no answer. */
  post(message: WorkerMessage): void {
    this.port.postMessage(message);
  }

  /**
   * Posts a response-body chunk. Every `ackBytes` / `ackMessages` it waits until the main thread has
   * handed the chunk to the server, which bounds what sits in memory between the threads.
   */
  postBody(chunk: Uint8Array, more: boolean): void {
    this.poll();
    if (this.disconnected) throw clientGone();
    this.bytesSinceAck += chunk.byteLength;
    this.messagesSinceAck += 1;
    const ack = more && (this.bytesSinceAck >= this.ackBytes || this.messagesSinceAck >= this.ackMessages);
    this.port.postMessage({ type: 'legacy.body', chunk, more, ack } satisfies WorkerMessage);
    if (!ack) return;
    this.bytesSinceAck = 0;
    this.messagesSinceAck = 0;
    this.waitFor('legacy.ack');
  }

  /** Asks for the next request-body chunk and blocks until it (or a disconnect) arrives. */
  pull(): RequestBodyMessage {
    if (this.disconnected) throw clientGone();
    this.port.postMessage({ type: 'legacy.pull' } satisfies WorkerMessage);
    return this.waitFor('legacy.body') as RequestBodyMessage;
  }

  /** Takes whatever already arrived, without blocking, so a disconnect is seen between chunks. */
  poll(): void {
    for (let entry = receiveMessageOnPort(this.port); entry !== undefined; entry = receiveMessageOnPort(this.port)) {
      this.accept(entry.message);
    }
  }

  /**
   * Blocks until a message of `type` arrives and returns it; throws if the client goes away first.
   * Other messages are kept for whoever waits for them.
   */
  waitFor(type: MainMessage['type'] | string): unknown {
    const index = this.stash.findIndex((m) => (m as { type?: unknown }).type === type);
    if (index !== -1) return this.stash.splice(index, 1)[0];
    for (;;) {
      if (this.disconnected) throw clientGone();
      const message = receiveBlocking(this.port, this.signal);
      if ((message as { type?: unknown }).type === type) return message;
      this.accept(message);
    }
  }

  /** Takes a message read by someone else on this port (runSync's wait), keeping arrival order. */
  deliver(message: unknown): void {
    this.accept(message);
  }

  private accept(message: unknown): void {
    if ((message as { type?: unknown }).type === 'legacy.disconnect') this.disconnected = true;
    else this.stash.push(message);
  }
}

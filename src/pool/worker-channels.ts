// The persistent port each worker opens when it starts: registration, draining before a batch's
// result is applied, and routing port messages (streaming, body pulls, acks, runSync service calls)
// to the request they name.
import { receiveMessageOnPort } from 'node:worker_threads';
import { postAndWake } from '../sync/channel.js';
import { handleServiceCall, isServiceMessage } from '../sync/services.js';
import {
  RING_SLOTS,
  isLegacyMessage,
  recordArea,
  type RegisterMessage,
  type TaskResult,
  type WorkerMessage,
} from './protocol.js';
import type { Batch, Ticket, WorkerChannel } from './ticket.js';

const EMPTY = new Uint8Array(0);

/** One pool's worker channels, by thread id. */
export class WorkerChannels {
  private readonly channels = new Map<number, WorkerChannel>();
  /** Batch results from workers whose registration has not arrived yet, with the deadline's timer. */
  private readonly unregistered = new Map<
    number,
    { waiting: Array<(registered: boolean) => void>; timer: NodeJS.Timeout }
  >();

  /**
   * @param active the pool's batches out, searched for the request a message names.
   * @param settle settles a request whose result came on the port ahead of its batch.
   * @param owner the pool: a runSync service call from its threads is marked as theirs (starvation.ts).
   */
  constructor(
    private readonly active: readonly Batch[],
    private readonly settle: (ticket: Ticket, result: TaskResult) => void,
    private readonly owner?: object,
  ) {}

  /** The worker's channel, once its registration arrived (and until it went with its thread). */
  get(threadId: number): WorkerChannel | undefined {
    return this.channels.get(threadId);
  }

  /** Every registered channel. */
  all(): IterableIterator<WorkerChannel> {
    return this.channels.values();
  }

  /** True once the worker's registration arrived (and until its channel went with it). */
  has(threadId: number): boolean {
    return this.channels.has(threadId);
  }

  /**
   * Runs `resume(true)` when the worker's registration arrives. Registration travels on piscina's
   * parentPort, results on piscina's own channel: a result may arrive first. A registration that
   * is not here within `deadlineMs` (the worker never sent it, or its channel already went with a
   * dead thread) is given up: `resume(false)`, so the batch does not hold its thread's slot forever.
   */
  whenRegistered(threadId: number, deadlineMs: number, resume: (registered: boolean) => void): void {
    const entry = this.unregistered.get(threadId);
    if (entry !== undefined) {
      entry.waiting.push(resume);
      return;
    }
    // Unref'd: a pending deadline must not keep the process alive.
    const timer = setTimeout(() => this.giveUp(threadId), deadlineMs).unref();
    this.unregistered.set(threadId, { waiting: [resume], timer });
  }

  /** Takes a worker's channel into use (its register message on piscina's parentPort). */
  register(message: RegisterMessage): void {
    const channel: WorkerChannel = {
      threadId: message.threadId,
      port: message.port,
      signal: new Int32Array(message.signal, 0, 1),
      ring: undefined,
    };
    const { ring, ringBatch } = message;
    if (ring !== undefined && ringBatch !== undefined) {
      channel.ring = {
        words: new Int32Array(ring),
        area: recordArea(ring),
        buffer: {
          shared: ringBatch,
          slots: RING_SLOTS,
          state: new Int32Array(ringBatch),
          times: new Float64Array(ringBatch),
          records: recordArea(ringBatch),
        },
        session: undefined,
        using: undefined,
      };
    }
    this.channels.set(channel.threadId, channel);
    channel.port.on('message', (m: unknown) => this.route(channel, m));
    channel.port.on('close', () => {
      if (this.channels.get(channel.threadId) === channel) this.channels.delete(channel.threadId);
    });
    channel.port.unref();
    const entry = this.unregistered.get(channel.threadId);
    if (entry !== undefined) {
      this.unregistered.delete(channel.threadId);
      clearTimeout(entry.timer);
      for (const resume of entry.waiting) resume(true);
    }
  }

  /** Routes what the worker posted and the loop has not delivered yet (it precedes the batch result). */
  drain(threadId: number): void {
    const channel = threadId === 0 ? undefined : this.channels.get(threadId);
    if (channel !== undefined) this.drainChannel(channel);
  }

  /**
   * A replaced worker's channel goes with it (its port may not report 'close' on every Node
   * version); what it posted before dying is routed first.
   */
  forget(threadId: number): void {
    // A destroyed worker registers no more: its batches waiting for that are given up now.
    this.giveUp(threadId);
    const channel = this.channels.get(threadId);
    if (channel === undefined) return;
    this.drainChannel(channel);
    this.channels.delete(threadId);
    channel.port.close();
  }

  private giveUp(threadId: number): void {
    const entry = this.unregistered.get(threadId);
    if (entry === undefined) return;
    this.unregistered.delete(threadId);
    clearTimeout(entry.timer);
    for (const resume of entry.waiting) resume(false);
  }

  private drainChannel(channel: WorkerChannel): void {
    for (let e = receiveMessageOnPort(channel.port); e !== undefined; e = receiveMessageOnPort(channel.port))
      this.route(channel, e.message);
  }

  // Port messages are the slow path (streaming, uploads, logs): a scan of the batches out (at most
  // threads × maxBatch requests) costs less than keeping a map of every request in flight.
  private findDispatched(id: number): Ticket | undefined {
    for (const batch of this.active) {
      const tickets = batch.tickets;
      for (let i = 0; i < tickets.length; i++) {
        const ticket = tickets[i]!;
        if (ticket.id === id) return ticket.settled ? undefined : ticket;
      }
    }
    return undefined;
  }

  private route(channel: WorkerChannel, message: unknown): void {
    if (isServiceMessage(message)) {
      void handleServiceCall(
        message,
        (reply, transfer) => postAndWake(channel.port, channel.signal, reply, transfer),
        this.owner,
      );
      return;
    }
    if (!isLegacyMessage(message)) return;
    const msg = message as WorkerMessage;
    const ticket = this.findDispatched(msg.id);
    if (ticket === undefined) {
      // A request nobody waits for any more: unblock the worker if it waits for us.
      if (msg.type === 'legacy.pull' || (msg.type === 'legacy.body' && msg.ack))
        postAndWake(channel.port, channel.signal, { type: 'legacy.disconnect', id: msg.id });
      return;
    }
    ticket.channel = channel;
    if (msg.type === 'legacy.result') {
      this.settle(ticket, msg.result);
      return;
    }
    if (ticket.listener !== undefined) {
      ticket.listener.onWorkerMessage(msg);
      return;
    }
    // No listener (a bare `dispatch`/`run`): the request has no more body and nobody to hold back.
    if (msg.type === 'legacy.pull') ticket.post({ type: 'legacy.body', id: msg.id, chunk: EMPTY, more: false });
    else if (msg.type === 'legacy.body' && msg.ack) ticket.post({ type: 'legacy.ack', id: msg.id });
  }
}

// One admitted request as the caller holds it, and the two records the pool keeps it in: the batch
// that carried it to a thread and the channel of the worker that runs it.
import type { MessagePort } from 'node:worker_threads';
import type { AlbanyError } from '../errors.js';
import type { Headers } from '../gateway/types.js';
import { postAndWake } from '../sync/channel.js';
import type { OnDisconnect } from './config-types.js';
import {
  TaskState,
  stateIndex,
  type LegacyRequest,
  type LegacyTask,
  type MainMessage,
  type MountSpec,
  type RecordArea,
  type TaskResult,
  type WorkerMessage,
} from './protocol.js';

/** What a ticket needs of the pool that issued it (the LegacyPool; named here so this file need not import it). */
export interface TicketIssuer {
  cancel(ticket: Ticket, policy: OnDisconnect): void;
}

/** Receives the worker's port messages for one request (start, body, pull, log, error). */
export interface TicketListener {
  onWorkerMessage(message: WorkerMessage): void;
  /**
   * Called once after the ticket settles: with the result, or with `undefined` and the error. With
   * it, a caller needs no promise per request (the ticket makes its `result` only when asked).
   * Called in a microtask, as an await would resume (a dispatch that refuses at once included),
   * after any reaction to `result` registered before; it must not throw.
   */
  onSettled?(result: TaskResult | undefined, error: unknown): void;
}

/** One worker's persistent channel (opened by the worker when it starts). */
export interface WorkerChannel {
  threadId: number;
  port: MessagePort;
  signal: Int32Array;
  /** Its request ring, when the worker opened one (see RingState in protocol.ts). */
  ring: WorkerRing | undefined;
}

/** A thread's request ring as the main thread holds it. */
export interface WorkerRing {
  /** The ring's words (state, count) over its whole buffer. */
  words: Int32Array;
  /** The ring as bytes and words, where requests are encoded. */
  area: RecordArea;
  /** The thread's buffer for ring batches (sized for RING_SLOTS requests). */
  buffer: Pick<Batch, 'shared' | 'slots' | 'state' | 'times' | 'records'>;
  /** The session of the thread's worker, while its task runs and its thread id is known here. */
  session: Session | undefined;
  /** The ring batch whose results are in {@link buffer} and not all taken yet. */
  using: Batch | undefined;
}

/** One piscina task of a legacy worker: the batch it was given, then every batch it took from its ring. */
export interface Session {
  /** Its number in its ring's state word (see ringWord in protocol.ts). */
  id: number;
  /** The thread it runs on (0 until its first batch ended). */
  threadId: number;
  /** The mounts of its first batch: ring batches name theirs by index. */
  mounts: MountSpec[];
  /** The last request sent to it: the next ring batch leaves out what repeats it. */
  last: LegacyRequest | undefined;
  /** The batch it runs, if any. */
  current: Batch | undefined;
  /** Its task returned or failed. */
  ended: boolean;
}

/** One hand-off: the requests one piscina task carries, and their slots in its shared memory. */
export interface Batch {
  tickets: Ticket[];
  /** Its buffer, sized for `slots` requests (protocol.ts batchBytes); laid out for `tickets.length` of them. */
  shared: SharedArrayBuffer;
  /** The size class of `shared`: a power of two, at least `tickets.length`. */
  slots: number;
  state: Int32Array;
  times: Float64Array;
  /** When it was handed to piscina ({@link now}): a batch no thread picked up for long is taken from. */
  sentAt: number;
  /** Byte offset of the first result record in its buffer not read yet (see writeResultRecord in protocol.ts). */
  read: number;
  /** Its buffer as the worker writes result records into it. */
  records: RecordArea;
  /** The worker task it runs in. */
  session: Session;
  /** It came through its thread's ring: its buffer is the ring's, not a spare. */
  ring: boolean;
  /** Its end (or its thread's death) was handled. */
  ended: boolean;
  /** The headers of the last result record read (the next may say "the same", see writeResultRecord). */
  lastHeaders: Headers | undefined;
  /** Its place in the pool's list of batches out (see batch-list.ts); -1 when not in it. */
  slot: number;
}

/**
 * One admitted request. `result` settles once: with the handler's result, or with an
 * {@link AlbanyError} (`ERR_ALBANY_TIMEOUT`, `ERR_ALBANY_ABORTED`, `ERR_ALBANY_WORKER_CRASHED`,
 * `ERR_ALBANY_QUEUE_FULL`).
 */
export class Ticket {
  /** The promise behind {@link result}, made on first use. */
  private promise: Promise<TaskResult> | undefined;
  private resolvePromise: ((result: TaskResult) => void) | undefined;
  private rejectPromise: ((err: unknown) => void) | undefined;
  /** How it settled, for a `result` asked for afterwards. */
  private outcome: TaskResult | undefined;
  private failure: unknown;
  /** @internal */ id = 0;
  /** @internal */ batch: Batch | undefined;
  /** @internal Its place in its batch; while it waits, in the pool's queue. */ index = 0;
  /** @internal */ channel: WorkerChannel | undefined;
  /** @internal -0, a heap number: it always gets a clock fraction, so born as one it keeps its layout. */ queuedAt =
    -0;
  /** @internal Why the pool stopped it on its thread, if it did. */ reason:
    | 'timeout'
    | 'client'
    | 'closed'
    | undefined;
  /** @internal */ settled = false;
  /** @internal */ requeues = 0;

  constructor(
    private readonly pool: TicketIssuer,
    /** @internal */ readonly task: LegacyTask,
    /** @internal */ readonly listener: TicketListener | undefined,
  ) {}

  /**
   * The outcome as a promise. Made on first use: a listener with `onSettled` (the legacy App's
   * exchange) takes the outcome without one, which saves a promise, its resolving functions and an
   * await per request.
   */
  get result(): Promise<TaskResult> {
    if (this.promise === undefined) {
      if (this.outcome !== undefined) this.promise = Promise.resolve(this.outcome);
      else if (this.settled && this.failure !== undefined) this.promise = Promise.reject(this.failure);
      else
        this.promise = new Promise<TaskResult>((resolve, reject) => {
          this.resolvePromise = resolve;
          this.rejectPromise = reject;
        });
    }
    return this.promise;
  }

  /** @internal Settles with the handler's result (the pool marks the ticket settled first). */
  resolve(result: TaskResult): void {
    this.outcome = result;
    const resolve = this.resolvePromise;
    if (resolve !== undefined) resolve(result);
    this.tellListener(result, undefined);
  }

  /** @internal Settles with an error (the pool marks the ticket settled first). */
  reject(err: unknown): void {
    // Kept for a `result` asked for later; an error is never undefined here (pool errors are objects).
    this.failure = err;
    const reject = this.rejectPromise;
    if (reject !== undefined) reject(err);
    this.tellListener(undefined, err);
  }

  // Told in a microtask, as an await of `result` would have been: the pool settles a batch's
  // requests and hands its thread the next batch before any response is sent. With a promise out,
  // its earlier reactions (the request context's, see src/context/pool-tasks.ts) run first.
  private tellListener(result: TaskResult | undefined, err: unknown): void {
    const listener = this.listener;
    if (listener === undefined || listener.onSettled === undefined) return;
    const promise = this.promise;
    if (promise === undefined) tellSoon(this);
    else {
      const tell = (): void => listener.onSettled!(result, err);
      promise.then(tell, tell);
    }
  }

  /** @internal Tells the listener how this ticket settled (see {@link tellSoon}). */
  tell(): void {
    this.listener!.onSettled!(this.outcome, this.outcome === undefined ? this.failure : undefined);
  }

  /** Where the request is: waiting, on a thread, or done. */
  get stage(): 'queued' | 'running' | 'finished' {
    if (this.settled) return 'finished';
    if (this.batch === undefined) return 'queued';
    const s = Atomics.load(this.batch.state, stateIndex(this.index));
    return s === TaskState.queued ? 'queued' : s === TaskState.running ? 'running' : 'finished';
  }

  /** Posts a message to the worker running this request (after it spoke first on its port). */
  post(message: MainMessage): void {
    if (this.channel !== undefined) postAndWake(this.channel.port, this.channel.signal, message);
  }

  /**
   * The client went away. Queued: removed, never runs, `result` rejects with `ERR_ALBANY_ABORTED`.
   * Running: `'abort'` replaces the worker; `'finish'` lets it finish and tells it (its output is dropped).
   * Finished (on its thread, result not yet here): nothing happens; `result` settles with it.
   */
  cancel(policy: OnDisconnect): void {
    this.pool.cancel(this, policy);
  }
}

// Tickets settled since the last microtask checkpoint whose listeners are still to be told: one
// promise reaction for all of them (a batch's worth), not one per ticket.
let toTell: Ticket[] = [];
const RESOLVED = Promise.resolve();

function tellSoon(ticket: Ticket): void {
  if (toTell.push(ticket) === 1) void RESOLVED.then(tellAll);
}

function tellAll(): void {
  const tickets = toTell;
  toTell = [];
  // A listener that throws must not keep the others from being told.
  for (let i = 0; i < tickets.length; i++) {
    try {
      tickets[i]!.tell();
    } catch (err) {
      queueMicrotask(() => {
        throw err;
      });
    }
  }
}

// The hot path of a legacy pool: admission against our own bounded queue, batched hand-offs (one
// piscina task carries every request queued when a thread came free; a free thread takes back what
// a stuck one has not started, see take-back.ts) and settling each request from its batch's result.
// Admission, queue and batching stay in one class because every request touches their shared
// counters; the slow paths (faults, timeouts, worker ports, thread set-up) live beside it.
import type { Piscina } from 'piscina';
import { albanyError, type AlbanyError } from '../errors.js';
import type { OnDisconnect, PoolConfig } from './config-types.js';
import { effectiveMaxQueue } from './config.js';
import {
  MAX_REQUEUES,
  clientAborted,
  culpritDeaths,
  poolClosed,
  queueFull,
  workerFault,
  type FailedBatch,
} from './faults.js';
import { PoolMetrics, type PoolGauges } from './metrics.js';
import type { DispatchOptions, LegacyPoolStats, PoolOptions } from './pool-types.js';
import {
  DONE_INDEX,
  RESULTS_END_INDEX,
  RING_COUNT,
  RING_SLOTS,
  RING_STATE,
  RingState,
  ringStateOf,
  ringWord,
  THREAD_INDEX,
  TaskState,
  batchBytes,
  batchTransfer,
  canResend,
  encodeRing,
  goneIndex,
  readResultRecords,
  recordArea,
  resultsOffset,
  startedAtIndex,
  stateIndex,
  encodeBatch,
  type LegacyRequest,
  type LegacyTask,
  type RegisterMessage,
  type TaskResult,
} from './protocol.js';
import { registerPool, unregisterPool } from './registry.js';
import { currentServiceWait } from '../sync/service-waits.js';
import { contextState } from '../context/state.js';
import { checkStarvation } from './starvation.js';
import { LOOK_LATER, STUCK_MS, owns, takeBack, takeBackStuck } from './take-back.js';
import { closeThreads, closeTimeoutOf, startThreads, terminateThread } from './threads.js';
import { now } from './protocol.js';
import { Ticket, type Batch, type Session, type TicketListener, type WorkerRing } from './ticket.js';
import { TimeoutSweep } from './timeout-sweep.js';
import { WorkerChannels } from './worker-channels.js';
import { BatchList } from './batch-list.js';

/**
 * The longest pause between two looks at the result records of running batches: how long, at most,
 * a finished response may wait behind a later request of its batch that runs for long. 4 ms bounds
 * the latency this adds (16 ms was measurably cheaper only under callgrind, where every timer is
 * 50 times more frequent per request than on real hardware).
 */
const HARVEST_MAX_MS = 4;

/** True while some request of `batch` waits for its thread or runs on it. */
function stillRunning(batch: Batch): boolean {
  for (let i = 0; i < batch.tickets.length; i++) {
    const s = Atomics.load(batch.state, stateIndex(i));
    if (s === TaskState.queued || s === TaskState.running) return true;
  }
  return false;
}

/** Batch buffers kept for reuse per size class (a power of two of requests). */
const SPARES_PER_SIZE = 4;

/** A batch buffer and its views, kept for the next batch of its size class. */
type SpareBuffer = Pick<Batch, 'shared' | 'slots' | 'state' | 'times' | 'records'>;

/**
 * How long a worker waits in its ring for the next batch by default (see PoolOptions.ringLingerMs).
 * Waiting costs no instructions (a futex wait) and piscina parks an idle worker the same way, its
 * event loop stopped too; the bound only hands an idle thread back to piscina (its idle timeout;
 * close() sends waiting workers away at once). Five seconds, not less: with 100 ms, 6 % of the
 * batches of `npm run bench:instructions` (where the main thread runs ~50 times slower) still found
 * their worker gone and paid a piscina task; with 1 s, the main thread's pauses there (a scavenge or
 * a compile job holding valgrind's one CPU for over a second) let the rings run out inside the
 * counted window in 6 of 7 legacy rounds, and the batches that then went as piscina tasks took
 * paths and shapes the warm-up never saw: the ring send (then sendRing), flush, batchEnded and the worker's runFrom,
 * writeResultRecord and sameHeaders were deoptimized and compiled again there. At 5 and 10 s no
 * ring ran out in 11 rounds.
 */
const RING_LINGER_MS = 5000;

/** The last request of `tickets` that is not an offload call (a ring batch is encoded against it). */
function lastRequest(tickets: Ticket[], before: LegacyRequest | undefined): LegacyRequest | undefined {
  for (let i = tickets.length - 1; i >= 0; i--)
    if (tickets[i]!.task.call === undefined) return tickets[i]!.task.request;
  return before;
}

/**
 * Sends a worker waiting in its ring away (compareExchange idle → gone, whatever its session): its
 * task returns to piscina.
 */
function dismiss(ring: WorkerRing): void {
  ring.session = undefined;
  const word = Atomics.load(ring.words, RING_STATE);
  if (ringStateOf(word) !== RingState.idle) return;
  if (Atomics.compareExchange(ring.words, RING_STATE, word, goneWord(word)) === word)
    Atomics.notify(ring.words, RING_STATE);
}

/** `word` with its session kept and its state set to gone (the worker's task returns to piscina). */
const goneWord = (word: number): number => word - ringStateOf(word) + RingState.gone;

/** How long a batch result waits for its worker's port registration when no taskTimeoutMs is set. */
const REGISTRATION_WAIT_MS = 10_000;

/**
 * A piscina pool running legacy requests. Several may exist at once, each with its own config.
 * {@link run} rejects only with {@link AlbanyError}s: `ERR_ALBANY_QUEUE_FULL`, `ERR_ALBANY_TIMEOUT`
 * (the worker was replaced), `ERR_ALBANY_ABORTED` (the caller's signal, or the pool closed),
 * `ERR_ALBANY_WORKER_CRASHED`.
 */
export class LegacyPool {
  /** The tuning in force. */
  readonly config: PoolConfig;
  /** The pool's name, if any. */
  readonly name: string | undefined;
  /** The queue bound (`'auto'` resolved). */
  readonly maxQueue: number;
  /** The figures of this pool (pass it to `toPrometheus` / `serveMetrics`). */
  readonly metrics: PoolMetrics;
  private readonly piscina: Piscina;
  private readonly capacity: number;
  private readonly maxBatch: number;
  /** @internal Batches that went through a thread's ring (the rest went as piscina tasks); for tests. */
  ringBatches = 0;
  /** The number of the last session begun (see Session.id). */
  private sessions = 0;
  /** How long a worker waits in its ring for the next batch (0: no ring). */
  private readonly lingerMs: number;
  private readonly log: (message: string, error?: unknown) => void;
  private readonly active = new BatchList();
  /** Batch buffers of finished batches, by size class (see {@link buffer}). */
  private readonly spares = new Map<number, SpareBuffer[]>();
  private readonly channels: WorkerChannels;
  private readonly sweep: TimeoutSweep;
  /** Waiting requests from `head` on; a cancelled one leaves an empty slot (see {@link unqueue}). */
  private queue: Array<Ticket | undefined> = [];
  private head = 0;
  /** Empty slots from `head` on. */
  private holes = 0;
  /** What a queued ticket's `index` counts from: slots shifted out of the array so far. */
  private base = 0;
  /** Admitted and not settled. */
  private admitted = 0;
  private busy = 0;
  private nextId = 1;
  private flushScheduled = false;
  /** Batches failed since the last {@link settleFailed}, with their errors. */
  private failed: FailedBatch[] = [];
  private closing: Promise<void> | undefined;
  private readonly closeTimeoutMs: number;
  /** @internal Pools that close with this one (the key lanes of offload(), see offload-lanes.ts). */
  readonly companions = new Set<{ close(options?: { force?: boolean }): Promise<void> }>();
  private readonly flushBound = (): void => this.flush();
  private readonly settleFailedBound = (): void => this.settleFailed();
  /** A pending second look at batches a free thread may take from (see {@link rebalance}). */
  private recheck: NodeJS.Timeout | undefined;
  private readonly recheckBound = (): void => {
    this.recheck = undefined;
    // Whatever waits in our queue has gone out already (flush runs whenever a slot frees).
    if (this.closing === undefined && this.queue.length === 0) this.rebalance();
  };

  /** The look at the result records of the batches out (see {@link harvestAll}); one Timeout, re-armed. */
  private harvestTimer: NodeJS.Timeout | undefined;
  private harvestArmed = false;
  private harvestTimerDelay = 0;
  /** The next look's delay: STUCK_MS after a look that found records, else doubled up to HARVEST_MAX_MS. */
  private harvestDelay = STUCK_MS;
  private readonly harvestBound = (): void => this.harvestAll();

  constructor(config: PoolConfig, options: PoolOptions = {}) {
    this.config = config;
    this.name = options.name;
    this.maxQueue = effectiveMaxQueue(config);
    this.capacity = config.maxThreads * config.concurrentTasksPerWorker;
    this.maxBatch = Math.max(1, Math.floor(options.maxBatch ?? config.maxBatch));
    this.lingerMs =
      config.concurrentTasksPerWorker === 1 ? Math.max(0, Math.floor(options.ringLingerMs ?? RING_LINGER_MS)) : 0;
    this.metrics = options.metrics ?? new PoolMetrics({ capacity: this.capacity });
    this.metrics.setCapacity(this.capacity);
    this.metrics.observe(() => this.gauges());
    this.channels = new WorkerChannels(this.active.list, (ticket, result) => this.settleResult(ticket, result), this);
    this.sweep = new TimeoutSweep(config, this.active.list, (batch) => this.terminate(batch));
    this.closeTimeoutMs = closeTimeoutOf(options);
    this.piscina = startThreads(config, options);
    this.log = options.log ?? ((message: string, error?: unknown) => console.error(message, error));
    this.piscina.on('error', (err: unknown) => this.threadError(err));
    this.piscina.on('message', (message: unknown) => {
      if ((message as RegisterMessage | null)?.albanyLegacyRegister === true) {
        this.channels.register(message as RegisterMessage);
        const cpu = (message as RegisterMessage).cpu;
        if (cpu !== undefined) this.metrics.cpu.add((message as RegisterMessage).threadId, cpu);
      }
    });
    // `--metrics` exposes every live pool, also those an app creates itself.
    registerPool(this);
    this.piscina.on('workerDestroy', (worker: { id?: number }) => {
      if (worker.id !== undefined) this.channels.forget(worker.id);
      if (worker.id !== undefined) this.metrics.cpu.remove(worker.id);
    });
  }

  /** True when a new task would be refused (every thread busy and the queue at its bound). */
  get saturated(): boolean {
    return this.admitted >= this.capacity + this.maxQueue;
  }

  /**
   * Admission check before building a task: returns the (counted) `ERR_ALBANY_QUEUE_FULL` error when
   * the pool would refuse, so a flood against a full queue costs next to nothing.
   */
  admit(): AlbanyError | undefined {
    return this.refuses() ? queueFull(this) : undefined;
  }

  /**
   * {@link admit} for a caller that answers the refusal itself (the legacy adapter's 503): true, and
   * counted, when the pool would refuse, without building the error, whose stack capture would be
   * most of what a refused request costs in a flood against a full queue.
   */
  refuses(): boolean {
    if (!this.saturated) return false;
    this.metrics.taskRejected('queue-full');
    return true;
  }

  /**
   * Queues one request and returns its ticket at once. Port messages for the request go to
   * `listener`; without one, body pulls get an empty end and acks are given at once.
   */
  dispatch(task: LegacyTask, listener?: TicketListener): Ticket {
    const ticket = new Ticket(this, task, listener);
    let refused = this.closing !== undefined ? poolClosed() : this.admit();
    // Made by a main-thread service one of our threads waits on in runSync? Then it must not be
    // the call that leaves every thread waiting on this pool (one size check when none waits).
    const wait = refused === undefined ? currentServiceWait() : undefined;
    if (wait !== undefined && wait.owner === this) refused = checkStarvation(this, wait, ticket);
    if (refused !== undefined) {
      ticket.settled = true;
      ticket.reject(refused);
      return ticket;
    }
    ticket.id = this.nextId++;
    ticket.queuedAt = now();
    // The request context (src/context) rides with the task once turned on; one load until then.
    if (contextState.dispatched !== undefined) contextState.dispatched(ticket, this);
    this.admitted++;
    this.metrics.taskQueued();
    // Its place, so that a cancel frees the slot at once.
    ticket.index = this.base + this.queue.push(ticket) - 1;
    // Requests parsed in the same loop turn leave together. With every thread busy a flush could
    // send nothing: the end of a batch frees a slot and flushes at once (every release() is
    // followed by a flush), so under steady load no immediate is armed per loop turn.
    if (!this.flushScheduled && this.busy < this.capacity) {
      this.flushScheduled = true;
      setImmediate(this.flushBound);
    }
    return ticket;
  }

  /** Dispatches one task and waits for its result. See the class doc for how it can fail. */
  async run(task: LegacyTask, options: DispatchOptions = {}): Promise<TaskResult> {
    const ticket = this.dispatch(task);
    const signal = options.signal;
    if (signal === undefined) return ticket.result;
    const onAbort = (): void => ticket.cancel('abort');
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await ticket.result;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** Counts, gauges and latency summaries of this pool (the same figures `/metrics` shows). */
  stats(): LegacyPoolStats {
    return {
      ...this.metrics.stats(),
      name: this.name,
      threads: this.piscina.threads.length,
      maxQueue: this.maxQueue,
    };
  }

  // The gauges from the requests' shared state, read at each snapshot: a request starts on its
  // worker's clock, so only the state slot says whether it runs. O(requests handed out), which is
  // at most maxThreads × concurrentTasksPerWorker × maxBatch.
  private gauges(): PoolGauges {
    let running = 0;
    let queued = this.queue.length - this.head - this.holes;
    for (const batch of this.active.list) {
      for (let i = 0; i < batch.tickets.length; i++) {
        if (batch.tickets[i]!.settled) continue;
        const s = Atomics.load(batch.state, stateIndex(i));
        if (s === TaskState.running) running++;
        else if (s === TaskState.queued) queued++;
      }
    }
    return { queued, running };
  }

  /** True once {@link close} was called: every new task is refused. */
  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** The piscina instance, for thread counts in exposition (`PoolMetricsSource.piscina`). */
  get threads(): { readonly length: number } {
    return this.piscina.threads;
  }

  /**
   * Stops the pool: queued tasks are refused, running ones may finish within `closeTimeoutMs`
   * (`force`: threads are terminated now). Requests it stops fail with the pool-closed `ERR_ALBANY_ABORTED`.
   */
  close(options: { force?: boolean } = {}): Promise<void> {
    if (this.closing === undefined) {
      const queue = this.queue;
      const head = this.head;
      this.clearQueue();
      for (let i = head; i < queue.length; i++) {
        const ticket = queue[i];
        if (ticket !== undefined && !ticket.settled) this.dropQueued(ticket, poolClosed());
      }
      unregisterPool(this);
      if (this.recheck !== undefined) clearTimeout(this.recheck);
      // Workers waiting in their rings return to piscina, which then closes their threads.
      for (const channel of this.channels.all()) if (channel.ring !== undefined) dismiss(channel.ring);
      if (options.force) this.stopByClose();
      const companions = [...this.companions].map((c) => c.close(options));
      this.closing = Promise.all([options.force ? this.piscina.destroy() : this.closeThreads(), ...companions]).then(
        () => undefined,
      );
      void this.closing.then(
        () => this.sweep.stop(),
        () => this.sweep.stop(),
      );
    }
    return this.closing;
  }

  // What still runs when the close stops the threads is stopped by the pool, not by a fault of its own.
  private stopByClose(): void {
    for (const batch of this.active.list) for (const ticket of batch.tickets) ticket.reason ??= 'closed';
  }

  // A plain close that runs out of time destroys the threads, failing their tasks: the requests are
  // marked first, so they fail as stopped by the close and not as crashes.
  private closeThreads(): Promise<void> {
    return closeThreads(this.piscina, this.closeTimeoutMs, () => {
      this.stopByClose();
      this.log(
        `albany: legacy pool${this.name ? ` ${this.name}` : ''} did not finish its running requests within ` +
          `closeTimeoutMs; they are stopped with their threads`,
      );
    });
  }

  // piscina reports here a worker that died between tasks (a stray timer throwing; it is replaced).
  private threadError(err: unknown): void {
    this.log(`albany: legacy worker${this.name ? ` of pool ${this.name}` : ''} crashed between requests`, err);
  }

  /** @internal See {@link Ticket.cancel}. */
  cancel(ticket: Ticket, policy: OnDisconnect): void {
    if (ticket.settled) return;
    const batch = ticket.batch;
    if (batch === undefined) {
      // Still in our queue: it leaves it now and never runs.
      this.unqueue(ticket);
      this.dropQueued(ticket, clientAborted(ticket, false));
      return;
    }
    const i = ticket.index;
    const state = Atomics.compareExchange(batch.state, stateIndex(i), TaskState.queued, TaskState.cancelled);
    if (state === TaskState.queued) {
      // Handed to a thread that has not reached it: the worker skips it.
      this.dropQueued(ticket, clientAborted(ticket, false));
      return;
    }
    // Finished on its thread, its result on the way: there is nothing left to stop, and the thread
    // may be running the next request of the batch, which must not die for this one.
    if (state !== TaskState.running) return;
    Atomics.store(batch.state, goneIndex(i), 1);
    if (policy === 'abort') {
      ticket.reason ??= 'client';
      this.terminate(batch);
    } else {
      ticket.post({ type: 'legacy.disconnect', id: ticket.id });
    }
  }

  // --- hand-offs --------------------------------------------------------------------------------

  private flush(): void {
    this.flushScheduled = false;
    // A free slot goes to the oldest request that waits: one behind a long-running request in a
    // busy thread's batch is older than anything in our queue.
    if (this.busy < this.capacity && this.active.size > 0 && this.closing === undefined) {
      const stuck = takeBackStuck(this.active.list, now());
      if (stuck !== undefined) {
        this.metrics.tasksTakenBack(stuck.length);
        this.compact(stuck);
      }
    }
    while (this.busy < this.capacity && this.closing === undefined) {
      const waiting = this.queue.length - this.head - this.holes;
      if (waiting <= 0) break;
      // Share what waits evenly among the free threads, at most maxBatch per hand-off.
      const size = Math.min(this.maxBatch, Math.ceil(waiting / (this.capacity - this.busy)));
      const tickets: Ticket[] = [];
      while (tickets.length < size && this.head < this.queue.length) {
        const ticket = this.queue[this.head];
        this.queue[this.head++] = undefined;
        if (ticket === undefined) this.holes--;
        else if (!ticket.settled) tickets.push(ticket);
      }
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.base += this.head;
        this.head = 0;
      }
      if (tickets.length > 0) this.send(tickets);
    }
    if (this.queue.length > 0 && this.queue.length - this.head === this.holes) this.clearQueue();
    if (this.busy < this.capacity && this.closing === undefined && this.queue.length === 0) this.rebalance();
  }

  // Work conservation: a thread is free (or may be started) and nothing waits in our queue, so
  // requests that busy threads have not started are taken back and handed to it. Each round moves
  // half of one batch's not-started requests; rounds go on while slots are free. Requests behind a
  // request that started less than STUCK_MS ago are left to their thread for now, and looked at
  // again then: a trivial handler's batch is done long before, and moving it would only cost.
  private rebalance(): void {
    while (this.busy < this.capacity) {
      const taken = takeBack(this.active.list, now());
      if (taken === undefined) return;
      if (taken === LOOK_LATER) {
        if (this.recheck === undefined) this.recheck = setTimeout(this.recheckBound, STUCK_MS).unref();
        return;
      }
      this.metrics.tasksTakenBack(taken.length);
      this.send(taken);
    }
  }

  // A cancelled request frees its slot now: the next flush may be far off (every thread stuck)
  // while clients keep leaving. Once empty slots are at least half of the rest, the queue is
  // closed up: O(1) amortised per cancel, and the array stays within twice what waits.
  private unqueue(ticket: Ticket): void {
    const i = ticket.index - this.base;
    if (this.queue[i] !== ticket) return;
    this.queue[i] = undefined;
    this.holes++;
    if (this.holes * 2 >= this.queue.length - this.head) this.compact([]);
  }

  // The queue as `front` followed by what waits, without empty slots; each ticket learns its place.
  private compact(front: Ticket[]): void {
    const queue: Array<Ticket | undefined> = front;
    for (let i = this.head; i < this.queue.length; i++) {
      const ticket = this.queue[i];
      if (ticket !== undefined) queue.push(ticket);
    }
    for (let i = 0; i < queue.length; i++) queue[i]!.index = i;
    this.queue = queue;
    this.head = 0;
    this.holes = 0;
    this.base = 0;
  }

  private clearQueue(): void {
    this.queue = [];
    this.head = 0;
    this.holes = 0;
    this.base = 0;
  }

  // A batch buffer for `n` requests: a spare one of the same size class, its slots for `n` zeroed
  // (records need no zeroing: they are read only up to the end the worker writes), or a new one.
  private buffer(n: number): SpareBuffer {
    // Integer arithmetic: `2 ** Math.ceil(Math.log2(n))` is a heap number, and the first batch that
    // got one (a piscina task, rare once threads wait in their rings) changed the layout of every
    // batch (`slots`, a small integer in ring batches): all code that had seen the old one deoptimized.
    const slots = n <= 1 ? 1 : 1 << (32 - Math.clz32(n - 1));
    const spare = this.spares.get(slots)?.pop();
    if (spare !== undefined) {
      spare.state.fill(0, 0, resultsOffset(n) >> 2);
      return spare;
    }
    const shared = new SharedArrayBuffer(batchBytes(slots));
    return {
      shared,
      slots,
      state: new Int32Array(shared),
      times: new Float64Array(shared),
      records: recordArea(shared),
    };
  }

  // Only once the batch's thread is done with it: its task returned, or the thread is dead.
  private reuse(batch: Batch): void {
    // A ring batch's buffer is its thread's, kept with its channel.
    if (batch.ring) return;
    let list = this.spares.get(batch.slots);
    if (list === undefined) this.spares.set(batch.slots, (list = []));
    // The buffer alone: the batch's tickets must not be kept alive by it.
    const { shared, slots, state, times, records } = batch;
    if (list.length < SPARES_PER_SIZE) list.push({ shared, slots, state, times, records });
  }

  // Small on purpose, like claimRing and startRing: V8 optimizes code called once per batch only
  // after ~1,000 batches (it counts bytecode run), which under callgrind fell at the start of the
  // counted window in every round, with ~40M instructions of compiling there. Small, they are
  // inlined into flush, whose per-request loop has it optimized early, and compiled with it.
  private send(tickets: Ticket[]): void {
    if (this.lingerMs > 0) {
      const ring = tickets.length <= RING_SLOTS ? this.claimRing() : undefined;
      // A worker waiting in its ring takes the batch without a message.
      if (ring !== undefined && this.startRing(ring, tickets)) return;
      // Piscina must have a thread for it now, not when some worker's wait in its ring runs out
      // (startRing already sent away the worker it claimed).
      if (ring === undefined) this.dismissOne();
    }
    this.sendTask(tickets);
  }

  // One piscina task: the batch, then (with rings on) every batch its worker takes from its ring.
  private sendTask(tickets: Ticket[]): void {
    const n = tickets.length;
    const { shared, slots, state, times, records } = this.buffer(n);
    // Session numbers run from 1 to 2^27 − 1 and round (a ring word holds 28 bits of it with the state).
    this.sessions = (this.sessions % 0x7ffffff) + 1;
    const session: Session = {
      id: this.sessions,
      threadId: 0,
      mounts: [],
      last: undefined,
      current: undefined,
      ended: false,
    };
    const batch = this.launch(tickets, { shared, slots, state, times, records }, session, false);
    // Offload calls may move buffers to the thread instead of copying them.
    const transferList = batchTransfer(tickets);
    const encoded = encodeBatch(tickets, shared);
    session.mounts = encoded.mounts;
    session.last = lastRequest(tickets, undefined);
    if (this.lingerMs > 0) {
      encoded.linger = this.lingerMs;
      encoded.session = session.id;
    }
    this.piscina.run(encoded, transferList === undefined ? undefined : { transferList }).then(
      () => this.sessionEnded(session),
      (err: unknown) => this.sessionFailed(session, err),
    );
    this.awaitEnd(batch);
  }

  // A worker waiting in its ring, claimed (idle → claimed) for the next batch; any will do: all of
  // them are free, as a thread piscina would pick. Undefined when none waits.
  private claimRing(): WorkerRing | undefined {
    for (const channel of this.channels.all()) {
      const ring = channel.ring;
      const session = ring?.session;
      // A ring batch of the thread's previous session may not be settled yet: its results are in the buffer.
      if (ring === undefined || session === undefined || session.current !== undefined || ring.using !== undefined)
        continue;
      const idle = ringWord(session.id, RingState.idle);
      if (Atomics.compareExchange(ring.words, RING_STATE, idle, ringWord(session.id, RingState.claimed)) === idle)
        return ring;
      // Its wait ran out: its task returned to piscina (it may even run a new session by now).
      ring.session = undefined;
    }
    return undefined;
  }

  // Writes the batch into the claimed ring and wakes its worker. False when the batch cannot travel
  // in a ring (too big, an offload call, a request context, a mount its worker does not know): the
  // claimed worker is then sent away, so piscina has a thread for the batch at once.
  private startRing(ring: WorkerRing, tickets: Ticket[]): boolean {
    const session = ring.session!;
    if (!encodeRing(ring.area, tickets, session.mounts, session.last)) {
      // The claim is ours: back to idle, then away as any waiting worker is sent.
      Atomics.store(ring.words, RING_STATE, ringWord(session.id, RingState.idle));
      dismiss(ring);
      return false;
    }
    const n = tickets.length;
    ring.buffer.state.fill(0, 0, resultsOffset(n) >> 2);
    const batch = this.launch(tickets, ring.buffer, session, true);
    ring.using = batch;
    session.last = lastRequest(tickets, session.last);
    this.ringBatches++;
    ring.words[RING_COUNT] = n;
    Atomics.store(ring.words, RING_STATE, ringWord(session.id, RingState.ready));
    Atomics.notify(ring.words, RING_STATE);
    this.awaitEnd(batch);
    return true;
  }

  // Sends one worker that waits in its ring away, if one does (startRing already did when it claimed one).
  private dismissOne(): void {
    for (const channel of this.channels.all()) {
      const ring = channel.ring;
      if (ring === undefined || ringStateOf(Atomics.load(ring.words, RING_STATE)) !== RingState.idle) continue;
      dismiss(ring);
      return;
    }
  }

  private launch(tickets: Ticket[], buffer: SpareBuffer, session: Session, ring: boolean): Batch {
    const n = tickets.length;
    const { shared, slots, state, times, records } = buffer;
    const batch: Batch = {
      tickets,
      shared,
      slots,
      state,
      times,
      sentAt: now(),
      read: resultsOffset(n),
      records,
      session,
      ring,
      ended: false,
      lastHeaders: undefined,
      slot: -1,
    };
    for (let i = 0; i < n; i++) {
      const ticket = tickets[i]!;
      ticket.batch = batch;
      ticket.index = i;
    }
    session.current = batch;
    this.busy++;
    this.active.add(batch);
    this.sweep.arm();
    this.armHarvest();
    return batch;
  }

  // The worker marks a batch's end in its buffer and notifies it: no message, whichever way it came.
  private awaitEnd(batch: Batch): void {
    const wait = Atomics.waitAsync(batch.state, DONE_INDEX, 0);
    if (wait.async) void wait.value.then(() => this.batchEnded(batch));
    else queueMicrotask(() => this.batchEnded(batch));
  }

  // The piscina task returned: its worker stopped waiting in its ring. Its last batch ended before
  // (its DONE word is set), whether or not that wake has reached us yet.
  private sessionEnded(session: Session): void {
    session.ended = true;
    this.leaveRing(session);
    if (session.current !== undefined) this.batchEnded(session.current);
  }

  // The thread died (or was terminated): the batch it ran fails as before.
  private sessionFailed(session: Session, err: unknown): void {
    session.ended = true;
    this.leaveRing(session);
    const batch = session.current;
    if (batch === undefined || batch.ended) return;
    batch.ended = true;
    session.current = undefined;
    // Our own wait for its end would never be woken by the dead thread.
    Atomics.notify(batch.state, DONE_INDEX);
    this.batchFailed(batch, err);
  }

  private leaveRing(session: Session): void {
    const ring = session.threadId === 0 ? undefined : this.channels.get(session.threadId)?.ring;
    if (ring !== undefined && ring.session === session) ring.session = undefined;
  }

  private batchEnded(batch: Batch): void {
    if (batch.ended) return;
    // The worker's registration (its port) travels on another channel than the batch's end: if it
    // is not here yet, wait for it, so messages the batch posted are taken before its results.
    const threadId = Atomics.load(batch.state, THREAD_INDEX);
    if (threadId !== 0 && !this.channels.has(threadId)) {
      const deadlineMs = this.config.taskTimeoutMs > 0 ? this.config.taskTimeoutMs : REGISTRATION_WAIT_MS;
      this.channels.whenRegistered(threadId, deadlineMs, (registered) => {
        if (batch.ended) return;
        if (registered) this.batchEnded(batch);
        else this.batchLost(batch, deadlineMs);
      });
      return;
    }
    batch.ended = true;
    const session = batch.session;
    session.current = undefined;
    if (session.threadId === 0) session.threadId = threadId;
    this.release(batch);
    this.harvest(batch);
    for (let i = 0; i < batch.tickets.length; i++) {
      // Taken back for another thread: this worker never ran it.
      if (!owns(batch, i)) continue;
      const ticket = batch.tickets[i]!;
      if (!ticket.settled)
        this.settleError(
          ticket,
          this.fault(albanyError('ERR_ALBANY_WORKER_CRASHED', 'the legacy worker returned no result'), ticket),
        );
    }
    this.reuse(batch);
    const channel = this.channels.get(threadId);
    if (channel?.ring !== undefined && channel.ring.using === batch) channel.ring.using = undefined;
    // Its worker now waits in its ring for the next batch (unless its task already returned).
    const ring = this.lingerMs > 0 && !session.ended ? channel?.ring : undefined;
    if (ring !== undefined) {
      ring.session = session;
      if (this.closing !== undefined) dismiss(ring);
    }
    this.flush();
  }

  // The batch's worker never registered its port (or its channel went with it): what the batch
  // posted there is lost, so its results cannot be trusted. Its requests fail as the worker's fault
  // and the thread, unable to stream or pull bodies, is replaced; its slot is free again.
  private batchLost(batch: Batch, deadlineMs: number): void {
    batch.ended = true;
    batch.session.current = undefined;
    const err = albanyError(
      'ERR_ALBANY_WORKER_CRASHED',
      `its port registration did not arrive within ${deadlineMs} ms of its batch result`,
    );
    this.terminate(batch);
    this.release(batch);
    for (let i = 0; i < batch.tickets.length; i++) {
      const ticket = batch.tickets[i]!;
      if (owns(batch, i) && !ticket.settled) this.settleError(ticket, this.fault(err, ticket));
    }
    this.flush();
  }

  // piscina fails every task a dead thread held at once, with one error object. With
  // concurrentTasksPerWorker > 1 the request it died of may be in another of them, so the batches
  // are settled together once all are in.
  private batchFailed(batch: Batch, err: unknown): void {
    this.release(batch);
    // What the thread finished before it died is in the batch's buffer: those responses are not lost.
    this.harvest(batch);
    if (this.failed.push({ batch, err }) === 1) setImmediate(this.settleFailedBound);
  }

  // Requests a dead thread had not started go back to the front of the queue, in order, when the
  // thread died of one of its own requests (see culpritDeaths); the others fail.
  private settleFailed(): void {
    const failed = this.failed;
    this.failed = [];
    const culprits = culpritDeaths(failed);
    const requeue: Ticket[] = [];
    for (const { batch, err } of failed) {
      const rerun = culprits.has(err) && this.closing === undefined;
      for (let i = 0; i < batch.tickets.length; i++) {
        const ticket = batch.tickets[i]!;
        // Taken back before the thread died: it lives on in its new batch.
        if (ticket.settled || !owns(batch, i)) continue;
        const s = Atomics.load(batch.state, stateIndex(i));
        if (
          rerun &&
          s === TaskState.queued &&
          ticket.reason === undefined &&
          ticket.requeues < MAX_REQUEUES &&
          canResend(ticket.task)
        ) {
          ticket.requeues++;
          ticket.batch = undefined;
          ticket.channel = undefined;
          requeue.push(ticket);
        } else {
          this.settleError(ticket, this.fault(err, ticket));
        }
      }
      // Its thread is dead: nothing writes to its buffer any more.
      this.reuse(batch);
    }
    if (requeue.length > 0) this.compact(requeue);
    this.flush();
  }

  // The batch's thread is free again: take what it posted on its port first (it precedes the result).
  private release(batch: Batch): void {
    this.channels.drain(Atomics.load(batch.state, THREAD_INDEX));
    this.busy--;
    this.active.delete(batch);
  }

  // Finished responses of batches still running (a later request of the batch may run for long):
  // the worker writes them into the batch's buffer and posts nothing, so the pool looks every STUCK_MS
  // while batches are out. A batch whose worker has not registered its port yet waits for its result.
  private harvestAll(): void {
    this.harvestArmed = false;
    let found = false;
    for (const batch of this.active.list) {
      // A batch with nothing left to run has its result on the way: it settles with it, and a
      // caller never hears of its request before the thread is counted free again.
      if (Atomics.load(batch.state, RESULTS_END_INDEX) <= batch.read || !stillRunning(batch)) continue;
      const threadId = Atomics.load(batch.state, THREAD_INDEX);
      if (threadId === 0 || !this.channels.has(threadId)) continue;
      this.harvest(batch, threadId);
      found = true;
    }
    // Quiet looks back off: a long-running request (or a batch that ends before each look, its
    // results taken at its end) then costs a few looks a second, not a thousand.
    this.harvestDelay = found ? STUCK_MS : Math.min(HARVEST_MAX_MS, this.harvestDelay * 2);
    if (this.active.size > 0) this.armHarvest();
  }

  private armHarvest(): void {
    if (this.harvestArmed) return;
    this.harvestArmed = true;
    // Unref'd: a pending look must not keep the process alive.
    const timer = this.harvestTimer;
    if (timer !== undefined && this.harvestDelay === this.harvestTimerDelay) timer.refresh();
    else {
      if (timer !== undefined) clearTimeout(timer);
      this.harvestTimer = setTimeout(this.harvestBound, this.harvestDelay).unref();
      this.harvestTimerDelay = this.harvestDelay;
    }
  }

  // Settles the requests whose records the worker wrote since the last look. With `drainThread`,
  // what that worker posted on its port is routed first: a streamed response's messages precede its
  // record (the worker posts them before writing it, so reading the end first and then draining sees them).
  private harvest(batch: Batch, drainThread = 0): void {
    const end = Atomics.load(batch.state, RESULTS_END_INDEX);
    if (end <= batch.read) return;
    if (drainThread !== 0) this.channels.drain(drainThread);
    const from = batch.read;
    batch.read = end;
    const n = batch.tickets.length;
    const startedAt = (i: number): number => batch.times[startedAtIndex(n, i)]!;
    readResultRecords(
      batch.records,
      from,
      end,
      startedAt,
      (i, result) => {
        if (owns(batch, i)) this.settleResult(batch.tickets[i]!, result);
      },
      batch,
    );
  }

  private terminate(batch: Batch): void {
    const threadId = Atomics.load(batch.state, THREAD_INDEX);
    // What the thread used since the last snapshot stays in the pool's CPU total.
    this.metrics.cpu.refresh(threadId);
    terminateThread(this.piscina, threadId);
  }

  private fault(err: unknown, ticket: Ticket): AlbanyError {
    return workerFault(err, ticket, this.config.taskTimeoutMs, this.metrics);
  }

  // --- settling: each request once, freeing its admission slot -----------------------------------

  private settleResult(ticket: Ticket, result: TaskResult): void {
    if (!this.settle(ticket)) return;
    const started = result.startedAt > 0 ? result.startedAt : ticket.queuedAt;
    this.metrics.taskStarted(Math.max(0, started - ticket.queuedAt));
    this.metrics.taskFinished(Math.max(0, now() - started), result.error === undefined);
    ticket.resolve(result);
  }

  private settleError(ticket: Ticket, err: unknown): void {
    if (this.settle(ticket)) ticket.reject(err);
  }

  // A request dropped before any thread reached it counts as aborted while queued.
  private dropQueued(ticket: Ticket, err: AlbanyError): void {
    this.metrics.taskRejected('aborted', { stage: 'queued' });
    this.settleError(ticket, err);
  }

  /** Marks the ticket settled and frees its slot; false when it already was. */
  private settle(ticket: Ticket): boolean {
    if (ticket.settled) return false;
    ticket.settled = true;
    this.admitted--;
    return true;
  }
}

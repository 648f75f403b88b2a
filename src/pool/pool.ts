// The piscina wrapper for legacy handlers: our own bounded queue, batched hand-offs (one piscina task
// carries every request queued when a thread came free), per-request cancel and timeout through
// shared memory, worker replacement, and the mapping of every pool fault onto one AlbanyError code.
import { Piscina } from 'piscina';
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { albanyError, AlbanyError } from '../errors.js';
import { workerFile } from '../worker-path.js';
import { postAndWake } from '../sync/channel.js';
import { handleServiceCall, isServiceMessage } from '../sync/services.js';
import type { OnDisconnect, PoolConfig, PoolConfigInput } from './config-types.js';
import { defaultPoolConfig, setKey } from './config-schema.js';
import { objectLayer } from './config-sources.js';
import { effectiveMaxQueue, toPiscinaOptions } from './config.js';
import { PoolMetrics, type PoolStats } from './metrics.js';
import { registerPool, unregisterPool } from './registry.js';
import {
  THREAD_INDEX, TaskState, batchBytes, goneIndex, isLegacyMessage, startedAtIndex, stateIndex,
  decodeResults, encodeBatch, type BatchResult, type LegacyTask, type MainMessage,
  type RegisterMessage, type TaskResult, type WorkerMessage,
} from './protocol.js';

/** Options of a pool beyond its tuning config. */
export interface PoolOptions {
  /** Worker entry; the legacy worker by default. */
  filename?: URL | string;
  /** A name for logs and metrics. */
  name?: string;
  /** The collector to report to (one is made when absent); read it back from {@link LegacyPool.metrics}. */
  metrics?: PoolMetrics;
  /** Where worker faults are logged; `console.error` by default. */
  log?: (message: string, error?: unknown) => void;
  /** Most requests one hand-off to a thread carries (default 32; 1 turns batching off). */
  maxBatch?: number;
  /** How much lower than the event loop the handler threads run (Linux nice; default 5, 0 for equal). */
  niceIncrement?: number;
}

/** Per-dispatch options. */
export interface DispatchOptions {
  /** Aborts the task: removed if still queued; if running, its worker is replaced. */
  signal?: AbortSignal;
}

/** Receives the worker's port messages for one request (start, body, pull, log, error). */
export interface TicketListener {
  onWorkerMessage(message: WorkerMessage): void;
}

/**
 * A snapshot of one pool: the collector's figures, with `queued` / `running` read live from the
 * requests' shared state, plus pool facts.
 */
export interface LegacyPoolStats extends PoolStats {
  name: string | undefined;
  /** Live worker threads. */
  threads: number;
  /** The queue bound in force. */
  maxQueue: number;
}

/** One worker's persistent channel (opened by the worker when it starts). */
interface WorkerChannel {
  threadId: number;
  port: MessagePort;
  signal: Int32Array;
}

/** One hand-off: the requests one piscina task carries. */
interface Batch {
  tickets: Ticket[];
  state: Int32Array;
  times: Float64Array;
}

const DEFAULT_MAX_BATCH = 32;
const DEFAULT_NICE = 5;
const EMPTY = new Uint8Array(0);

/**
 * One admitted request. `result` settles once: with the handler's result, or with an
 * {@link AlbanyError} (`ERR_ALBANY_TIMEOUT`, `ERR_ALBANY_ABORTED`, `ERR_ALBANY_WORKER_CRASHED`,
 * `ERR_ALBANY_QUEUE_FULL`).
 */
export class Ticket {
  readonly result: Promise<TaskResult>;
  /** @internal */ resolve!: (result: TaskResult) => void;
  /** @internal */ reject!: (err: unknown) => void;
  /** @internal */ id = 0;
  /** @internal */ batch: Batch | undefined;
  /** @internal */ index = 0;
  /** @internal */ channel: WorkerChannel | undefined;
  /** @internal */ queuedAt = 0;
  /** @internal */ reason: 'timeout' | 'client' | undefined;
  /** @internal */ settled = false;
  /** @internal */ requeues = 0;

  constructor(
    private readonly pool: LegacyPool,
    /** @internal */ readonly task: LegacyTask,
    /** @internal */ readonly listener: TicketListener | undefined,
  ) {
    this.result = new Promise<TaskResult>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
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
   */
  cancel(policy: OnDisconnect): void {
    this.pool.cancel(this, policy);
  }
}

/**
 * A piscina pool running legacy requests. Several may exist at once, each with its own config.
 * {@link run} rejects only with {@link AlbanyError}s: `ERR_ALBANY_QUEUE_FULL`, `ERR_ALBANY_TIMEOUT`
 * (the worker was replaced), `ERR_ALBANY_ABORTED` (the caller's signal), `ERR_ALBANY_WORKER_CRASHED`.
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
  private readonly log: (message: string, error?: unknown) => void;
  private readonly channels = new Map<number, WorkerChannel>();
  private readonly active = new Set<Batch>();
  /** Batch results from workers whose registration has not arrived yet. */
  private readonly unregistered = new Map<number, Array<() => void>>();
  private queue: Ticket[] = [];
  private head = 0;
  /** Admitted and not settled. */
  private admitted = 0;
  private busy = 0;
  private nextId = 1;
  private flushScheduled = false;
  private sweepTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  private readonly flushBound = (): void => this.flush();

  constructor(config: PoolConfig, options: PoolOptions = {}) {
    this.config = config;
    this.name = options.name;
    this.maxQueue = effectiveMaxQueue(config);
    this.capacity = config.maxThreads * config.concurrentTasksPerWorker;
    this.maxBatch = Math.max(1, Math.floor(options.maxBatch ?? DEFAULT_MAX_BATCH));
    this.metrics = options.metrics ?? new PoolMetrics({ capacity: this.capacity });
    const filename = options.filename ?? workerFile('legacy-worker');
    this.piscina = new Piscina({
      ...toPiscinaOptions(config),
      // The queue is ours (batches are formed from it; a cancelled request simply leaves it).
      maxQueue: Infinity,
      // Idle threads sleep in Atomics.wait and are woken without their event loop.
      atomics: 'sync',
      // piscina's histograms cost main-thread time per task; PoolMetrics keeps ours.
      recordTiming: false,
      // Handler threads yield the CPU to the event loop: an async route stays fast while blocking
      // handlers saturate every core (measured: /health p99 4–5 ms → 2–3 ms at nice +5, same throughput).
      niceIncrement: options.niceIncrement ?? DEFAULT_NICE,
      filename: filename instanceof URL ? filename.href : filename,
    });
    this.log = options.log ?? ((message: string, error?: unknown) => console.error(message, error));
    // A worker that dies between tasks (a stray timer throwing) is replaced by piscina; say so.
    this.piscina.on('error', (err: unknown) => this.log(`albany: legacy worker${this.name ? ` of pool ${this.name}` : ''} crashed between requests`, err));
    this.piscina.on('message', (message: unknown) => {
      if ((message as RegisterMessage | null)?.albanyLegacyRegister === true) this.register(message as RegisterMessage);
    });
    // `--metrics` exposes every live pool, also those an app creates itself.
    registerPool(this);
    // A replaced worker's channel goes with it (its port may not report 'close' on every Node version).
    this.piscina.on('workerDestroy', (worker: { id?: number }) => {
      const channel = worker.id === undefined ? undefined : this.channels.get(worker.id);
      if (channel === undefined) return;
      this.drain(channel);
      this.channels.delete(channel.threadId);
      channel.port.close();
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
    if (!this.saturated) return undefined;
    this.metrics.taskRejected('queue-full');
    return queueFull(this);
  }

  /**
   * Queues one request and returns its ticket at once. Port messages for the request go to
   * `listener`; without one, body pulls get an empty end and acks are given at once.
   */
  dispatch(task: LegacyTask, listener?: TicketListener): Ticket {
    const ticket = new Ticket(this, task, listener);
    if (this.closing !== undefined) {
      ticket.settled = true;
      ticket.reject(albanyError('ERR_ALBANY_ABORTED', 'the legacy pool is closed'));
      return ticket;
    }
    const refused = this.admit();
    if (refused !== undefined) {
      ticket.settled = true;
      ticket.reject(refused);
      return ticket;
    }
    ticket.id = this.nextId++;
    ticket.queuedAt = now();
    this.admitted++;
    this.metrics.taskQueued();
    this.queue.push(ticket);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // Requests parsed in the same loop turn leave together.
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

  /** Counts, gauges and latency summaries of this pool. */
  stats(): LegacyPoolStats {
    let running = 0;
    let waiting = 0;
    for (const batch of this.active) {
      for (let i = 0; i < batch.tickets.length; i++) {
        if (batch.tickets[i]!.settled) continue;
        const s = Atomics.load(batch.state, stateIndex(i));
        if (s === TaskState.running) running++;
        else if (s === TaskState.queued) waiting++;
      }
    }
    for (let i = this.head; i < this.queue.length; i++) if (!this.queue[i]!.settled) waiting++;
    return {
      ...this.metrics.stats(),
      queued: waiting,
      running,
      utilization: this.capacity > 0 ? running / this.capacity : 0,
      name: this.name,
      threads: this.piscina.threads.length,
      maxQueue: this.maxQueue,
    };
  }

  /** The piscina instance, for thread counts in exposition (`PoolMetricsSource.piscina`). */
  get threads(): { readonly length: number } {
    return this.piscina.threads;
  }

  /** Stops the pool: queued tasks are refused, running ones may finish (`force`: threads are terminated now). */
  close(options: { force?: boolean } = {}): Promise<void> {
    if (this.closing === undefined) {
      for (let i = this.head; i < this.queue.length; i++) {
        const ticket = this.queue[i]!;
        if (ticket.settled) continue;
        this.metrics.taskRejected('aborted', { stage: 'queued' });
        this.settleError(ticket, albanyError('ERR_ALBANY_ABORTED', 'the legacy pool is closed'));
      }
      this.queue = [];
      this.head = 0;
      unregisterPool(this);
      this.closing = options.force ? this.piscina.destroy() : this.piscina.close();
      void this.closing.then(() => this.stopSweep(), () => this.stopSweep());
    }
    return this.closing;
  }

  // --- dispatch -------------------------------------------------------------------------------

  private flush(): void {
    this.flushScheduled = false;
    while (this.busy < this.capacity && this.closing === undefined) {
      const waiting = this.queue.length - this.head;
      if (waiting <= 0) break;
      // Share what waits evenly among the free threads, at most maxBatch per hand-off.
      const size = Math.min(this.maxBatch, Math.ceil(waiting / (this.capacity - this.busy)));
      const tickets: Ticket[] = [];
      while (tickets.length < size && this.head < this.queue.length) {
        const ticket = this.queue[this.head]!;
        this.queue[this.head++] = undefined as unknown as Ticket;
        if (!ticket.settled) tickets.push(ticket);
      }
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      if (tickets.length > 0) this.send(tickets);
    }
    if (this.head === this.queue.length && this.head > 0) {
      this.queue = [];
      this.head = 0;
    }
  }

  private send(tickets: Ticket[]): void {
    const n = tickets.length;
    const shared = new SharedArrayBuffer(batchBytes(n));
    const batch: Batch = { tickets, state: new Int32Array(shared), times: new Float64Array(shared) };
    for (let i = 0; i < n; i++) {
      const ticket = tickets[i]!;
      ticket.batch = batch;
      ticket.index = i;
    }
    this.busy++;
    this.active.add(batch);
    this.armSweep();
    this.piscina.run(encodeBatch(tickets, shared)).then(
      (result) => this.batchDone(batch, result as BatchResult),
      (err: unknown) => this.batchFailed(batch, err),
    );
  }

  private batchDone(batch: Batch, result: BatchResult): void {
    // The worker's registration (its port) travels on another channel than the result: if it is
    // not here yet, wait for it, so messages the batch posted are taken before its results.
    const threadId = Atomics.load(batch.state, THREAD_INDEX);
    if (threadId !== 0 && !this.channels.has(threadId)) {
      const waiting = this.unregistered.get(threadId) ?? [];
      waiting.push(() => this.batchDone(batch, result));
      this.unregistered.set(threadId, waiting);
      return;
    }
    this.release(batch);
    const results = decodeResults(result, batch.tickets.length);
    for (let i = 0; i < batch.tickets.length; i++) {
      const ticket = batch.tickets[i]!;
      const r = results[i];
      if (r != null) this.settleResult(ticket, r);
      else if (!ticket.settled) this.settleError(ticket, this.classify(new Error('the legacy worker returned no result'), ticket));
    }
    this.flush();
  }

  private batchFailed(batch: Batch, err: unknown): void {
    this.release(batch);
    const started = Atomics.load(batch.state, THREAD_INDEX) !== 0;
    // Requests the dead worker had not started yet go back to the front of the queue, in order,
    // when another request of the batch is to blame (it ran, timed out or was aborted).
    const culprit = started && batch.tickets.some((t, i) => t.reason !== undefined || Atomics.load(batch.state, stateIndex(i)) !== TaskState.queued);
    const requeue: Ticket[] = [];
    for (let i = 0; i < batch.tickets.length; i++) {
      const ticket = batch.tickets[i]!;
      if (ticket.settled) continue;
      const s = Atomics.load(batch.state, stateIndex(i));
      if (s === TaskState.queued && culprit && this.closing === undefined && ticket.reason === undefined && ticket.requeues < 3) {
        ticket.requeues++;
        ticket.batch = undefined;
        ticket.channel = undefined;
        requeue.push(ticket);
      } else {
        this.settleError(ticket, this.classify(err, ticket));
      }
    }
    if (requeue.length > 0) {
      const rest = this.queue.slice(this.head);
      this.queue = [...requeue, ...rest];
      this.head = 0;
    }
    this.flush();
  }

  // The batch's thread is free again: take what it posted on its port first (it precedes the result).
  private release(batch: Batch): void {
    const threadId = Atomics.load(batch.state, THREAD_INDEX);
    const channel = threadId === 0 ? undefined : this.channels.get(threadId);
    if (channel !== undefined) this.drain(channel);
    this.busy--;
    this.active.delete(batch);
  }

  private settleResult(ticket: Ticket, result: TaskResult): void {
    if (ticket.settled) return;
    ticket.settled = true;
    this.admitted--;
    const started = result.startedAt > 0 ? result.startedAt : ticket.queuedAt;
    this.metrics.taskStarted(Math.max(0, started - ticket.queuedAt));
    this.metrics.taskFinished(Math.max(0, now() - started), result.error === undefined);
    ticket.resolve(result);
  }

  private settleError(ticket: Ticket, err: unknown): void {
    if (ticket.settled) return;
    ticket.settled = true;
    this.admitted--;
    ticket.reject(err);
  }

  /** @internal See {@link Ticket.cancel}. */
  cancel(ticket: Ticket, policy: OnDisconnect): void {
    if (ticket.settled) return;
    const batch = ticket.batch;
    if (batch === undefined) {
      // Still in our queue: it leaves it (lazily) and never runs.
      this.metrics.taskRejected('aborted', { stage: 'queued' });
      this.settleError(ticket, aborted(ticket, false));
      return;
    }
    const i = ticket.index;
    if (Atomics.compareExchange(batch.state, stateIndex(i), TaskState.queued, TaskState.cancelled) === TaskState.queued) {
      // Handed to a thread that has not reached it: the worker skips it.
      this.metrics.taskRejected('aborted', { stage: 'queued' });
      this.settleError(ticket, aborted(ticket, false));
      return;
    }
    Atomics.store(batch.state, goneIndex(i), 1);
    if (policy === 'abort') {
      ticket.reason ??= 'client';
      this.terminate(batch);
    } else {
      ticket.post({ type: 'legacy.disconnect', id: ticket.id });
    }
  }

  private terminate(batch: Batch): void {
    const threadId = Atomics.load(batch.state, THREAD_INDEX);
    for (const worker of this.piscina.threads) {
      if (worker.threadId === threadId) void worker.terminate();
    }
  }

  private classify(err: unknown, ticket: Ticket): AlbanyError {
    const batch = ticket.batch;
    const s = batch === undefined ? TaskState.queued : Atomics.load(batch.state, stateIndex(ticket.index));
    const started = s === TaskState.running || s === TaskState.finished;
    const startedAt = started && batch !== undefined ? batch.times[startedAtIndex(batch.tickets.length, ticket.index)]! : 0;
    const stage = started ? 'running' : 'queued';
    if (started) this.metrics.taskStarted(Math.max(0, (startedAt || now()) - ticket.queuedAt));
    const runMs = started && startedAt > 0 ? Math.max(0, now() - startedAt) : 0;
    if (ticket.reason === 'timeout') {
      this.metrics.taskRejected('timeout', { stage, runMs });
      return albanyError('ERR_ALBANY_TIMEOUT', `legacy task ran past taskTimeoutMs (${this.config.taskTimeoutMs} ms); its worker was replaced`, { cause: err });
    }
    if (ticket.reason === 'client') {
      this.metrics.taskRejected('aborted', { stage, runMs });
      return aborted(ticket, started, err);
    }
    this.metrics.taskRejected('crash', { stage, runMs });
    const message = (err as Error | undefined)?.message ?? '';
    const code = (err as { code?: unknown } | undefined)?.code;
    const lost = s === TaskState.finished ? ' (it had finished; its response was lost with the worker)' : '';
    return albanyError('ERR_ALBANY_WORKER_CRASHED', `a legacy worker died while running the request${lost}: ${message || String(err)}`, {
      cause: err, details: typeof code === 'string' ? { workerError: code } : undefined,
    });
  }

  // --- timeouts: one sweep over the running requests while any batch is out -------------------

  private armSweep(): void {
    const timeoutMs = this.config.taskTimeoutMs;
    if (!(timeoutMs > 0) || this.sweepTimer !== undefined) return;
    const period = Math.min(1000, Math.max(5, Math.floor(timeoutMs / 8)));
    this.sweepTimer = setTimeout(() => this.sweep(period), period);
    this.sweepTimer.unref();
  }

  // The timeout counts the handler's running time, not queue time nor the module's first import
  // (the worker stamps the start after loading).
  private sweep(period: number): void {
    this.sweepTimer = undefined;
    if (this.active.size === 0) return;
    const timeoutMs = this.config.taskTimeoutMs;
    const t = now();
    for (const batch of this.active) {
      const n = batch.tickets.length;
      for (let i = 0; i < n; i++) {
        if (Atomics.load(batch.state, stateIndex(i)) !== TaskState.running) continue;
        const startedAt = batch.times[startedAtIndex(n, i)]!;
        if (startedAt > 0 && t - startedAt >= timeoutMs) {
          batch.tickets[i]!.reason ??= 'timeout';
          this.terminate(batch);
        }
      }
    }
    this.sweepTimer = setTimeout(() => this.sweep(period), period);
    this.sweepTimer.unref();
  }

  private stopSweep(): void {
    if (this.sweepTimer !== undefined) clearTimeout(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  // --- the workers' persistent channels ----------------------------------------------------------

  private register(message: RegisterMessage): void {
    const channel: WorkerChannel = { threadId: message.threadId, port: message.port, signal: new Int32Array(message.signal, 0, 1) };
    this.channels.set(channel.threadId, channel);
    channel.port.on('message', (m: unknown) => this.route(channel, m));
    channel.port.on('close', () => {
      if (this.channels.get(channel.threadId) === channel) this.channels.delete(channel.threadId);
    });
    channel.port.unref();
    const waiting = this.unregistered.get(channel.threadId);
    if (waiting !== undefined) {
      this.unregistered.delete(channel.threadId);
      for (const resume of waiting) resume();
    }
  }

  private drain(channel: WorkerChannel): void {
    for (let e = receiveMessageOnPort(channel.port); e !== undefined; e = receiveMessageOnPort(channel.port)) this.route(channel, e.message);
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
      void handleServiceCall(message, (reply, transfer) => postAndWake(channel.port, channel.signal, reply, transfer));
      return;
    }
    if (!isLegacyMessage(message)) return;
    const msg = message as WorkerMessage;
    const ticket = this.findDispatched(msg.id);
    if (ticket === undefined) {
      // A request nobody waits for any more: unblock the worker if it waits for us.
      if (msg.type === 'legacy.pull' || (msg.type === 'legacy.body' && msg.ack)) postAndWake(channel.port, channel.signal, { type: 'legacy.disconnect', id: msg.id });
      return;
    }
    ticket.channel = channel;
    if (msg.type === 'legacy.result') {
      this.settleResult(ticket, msg.result);
      return;
    }
    if (ticket.listener !== undefined) {
      ticket.listener.onWorkerMessage(msg);
      return;
    }
    if (msg.type === 'legacy.pull') ticket.post({ type: 'legacy.body', id: msg.id, chunk: EMPTY, more: false });
    else if (msg.type === 'legacy.body' && msg.ack) ticket.post({ type: 'legacy.ack', id: msg.id });
  }
}

/**
 * Builds a {@link LegacyPool} from a full config or a partial one (the rest from the defaults; every
 * key checked, all problems reported in one `ERR_ALBANY_INVALID_CONFIG`). For file/env/flag sources,
 * resolve them first with `resolvePoolConfig` and pass the result.
 */
export function createPool(config: PoolConfig | PoolConfigInput = {}, options: PoolOptions = {}): LegacyPool {
  return new LegacyPool(completeConfig(config), options);
}

/** Fills a partial config from the defaults and validates it. */
export function completeConfig(input: PoolConfigInput): PoolConfig {
  const layer = objectLayer(input, 'code', (path) => (path ? `code ${path}` : 'code'));
  if (layer.problems.length > 0) {
    throw albanyError('ERR_ALBANY_INVALID_CONFIG', `invalid legacy pool config:\n${layer.problems.map((p) => `  - ${p.message}`).join('\n')}`, {
      details: { problems: layer.problems },
    });
  }
  const config = defaultPoolConfig();
  for (const entry of layer.entries) setKey(config, entry.key, entry.value);
  if (input.maxThreads === undefined && config.minThreads > config.maxThreads) config.maxThreads = config.minThreads;
  if (config.minThreads > config.maxThreads) {
    throw albanyError('ERR_ALBANY_INVALID_CONFIG', `invalid legacy pool config: minThreads (${config.minThreads}) must be ≤ maxThreads (${config.maxThreads})`);
  }
  return config;
}

function aborted(ticket: Ticket, started: boolean, cause?: unknown): AlbanyError {
  return albanyError('ERR_ALBANY_ABORTED', started ? 'the client went away; the running task was aborted and its worker replaced' : 'the client went away; the queued task was removed', {
    cause, details: { started, waitedMs: now() - ticket.queuedAt },
  });
}

function queueFull(pool: LegacyPool): AlbanyError {
  return albanyError('ERR_ALBANY_QUEUE_FULL', `the legacy pool${pool.name ? ` ${pool.name}` : ''} is full (${pool.config.maxThreads} threads busy, ${pool.maxQueue} queued)`, {
    details: { maxQueue: pool.maxQueue, maxThreads: pool.config.maxThreads },
  });
}

function now(): number {
  return performance.timeOrigin + performance.now();
}

// Counts what a legacy pool does (queued, running, done, rejected, wait and run times) for stats() and /metrics.
import { LatencyHistogram, type LatencySummary } from './metrics-histogram.js';
import { PoolCpu, type PoolCpuStats } from './thread-cpu.js';

/** Why a task did not end with the handler's own result. */
export type RejectReason = 'queue-full' | 'timeout' | 'crash' | 'aborted';

/** Every {@link RejectReason}, so exposition can show each one even at zero. */
export const rejectReasons: readonly RejectReason[] = ['queue-full', 'timeout', 'crash', 'aborted'];

/** Where a task was when it was rejected. */
export type TaskStage = 'queued' | 'running';

/** A snapshot of one pool's figures. Times are in milliseconds. */
export interface PoolStats {
  /** Tasks waiting for a worker now. */
  queued: number;
  /** Tasks on a worker now. */
  running: number;
  /** Tasks whose handler finished normally. */
  completed: number;
  /** Tasks whose handler threw (answered 500). */
  failed: number;
  /** Tasks that ended without a handler result, by reason. */
  rejected: Record<RejectReason, number>;
  /** Tasks a busy thread had been handed but not started, handed to a free thread instead. */
  takenBack: number;
  /** Tasks the pool can run at once (threads × tasks per worker); 0 if never set. */
  capacity: number;
  /** `running / capacity` now, 0 when the capacity is unknown. */
  utilization: number;
  /** Time from queued to started. */
  wait: LatencySummary;
  /** Time from started to finished (including tasks that timed out or crashed, when given). */
  run: LatencySummary;
  /**
   * CPU time of the pool's threads (see pool/thread-cpu.ts); undefined until a thread reported,
   * `source: 'unavailable'` where neither /proc nor process.threadCpuUsage exists.
   */
  cpu: PoolCpuStats | undefined;
  /** Time since the collector was made (the pool started), for rates such as how busy it was. */
  ageMs: number;
}

/** The two gauges as a pool reads them from its requests' live state. */
export interface PoolGauges {
  /** Tasks not started: in the pool's queue, or handed to a thread that has not reached them. */
  queued: number;
  /** Tasks a thread is running now. */
  running: number;
}

/** Options of {@link PoolMetrics}. */
export interface PoolMetricsOptions {
  /** Tasks the pool can run at once, for utilization: maxThreads × concurrentTasksPerWorker. */
  capacity?: number;
  /** Clock for {@link PoolMetrics.track}, in ms; `performance.now` by default. */
  now?: () => number;
}

/**
 * The figures of one pool. The pool wrapper reports each task's life: {@link PoolMetrics.taskQueued} →
 * {@link PoolMetrics.taskStarted} → {@link PoolMetrics.taskFinished}, or {@link PoolMetrics.taskRejected} at any
 * point. Every task it accepts leaves through exactly one of the last two. {@link PoolMetrics.track} does the
 * bookkeeping and timing for one task so the wrapper cannot get the order wrong.
 */
export class PoolMetrics {
  #queued = 0;
  #running = 0;
  #completed = 0;
  #failed = 0;
  #capacity: number;
  #takenBack = 0;
  #gauges: (() => PoolGauges) | undefined;
  readonly #rejected: Record<RejectReason, number> = { 'queue-full': 0, timeout: 0, crash: 0, aborted: 0 };
  readonly #wait = new LatencyHistogram();
  readonly #run = new LatencyHistogram();
  readonly #now: () => number;
  readonly #born: number;
  /** The CPU figures of the pool's threads; the pool adds each thread's buffer as it registers. */
  readonly cpu = new PoolCpu();

  constructor(options: PoolMetricsOptions = {}) {
    this.#capacity = options.capacity ?? 0;
    this.#now = options.now ?? (() => performance.now());
    this.#born = this.#now();
  }

  /** Updates the capacity (e.g. after the pool's config changed). */
  setCapacity(capacity: number): void {
    this.#capacity = capacity;
  }

  /**
   * Reads `queued` and `running` from `read` at every snapshot instead of counting them task by
   * task. A legacy pool does this: its requests start on the worker's clock, inside a batch, and the
   * main thread learns of a start only when the request ends, so per-task counts would show every
   * request queued until it is done (and utilization 0). One pool per collector: the last call wins.
   */
  observe(read: () => PoolGauges): void {
    this.#gauges = read;
  }

  /** `count` tasks handed to a busy thread were taken back for a free one (they stay queued). */
  tasksTakenBack(count: number): void {
    this.#takenBack += count;
  }

  /** A task was accepted and waits for a worker. */
  taskQueued(): void {
    this.#queued += 1;
  }

  /** A queued task went to a worker after waiting `waitMs`. */
  taskStarted(waitMs: number): void {
    this.#queued = Math.max(0, this.#queued - 1);
    this.#running += 1;
    this.#wait.record(waitMs);
  }

  /** A running task ended after `runMs`: `ok` when the handler returned, false when it threw. */
  taskFinished(runMs: number, ok: boolean): void {
    this.#running = Math.max(0, this.#running - 1);
    if (ok) this.#completed += 1;
    else this.#failed += 1;
    this.#run.record(runMs);
  }

  /**
   * A task ended without a handler result. `'queue-full'` tasks were never queued; otherwise
   * `stage` says where the task was, defaulting to `'queued'` for `'aborted'` (a client that left
   * while waiting) and `'running'` for `'timeout'` and `'crash'`. `runMs`, when given for a
   * running task, goes into the run-time figures: the worker was busy all that time.
   */
  taskRejected(reason: RejectReason, options?: { stage?: TaskStage; runMs?: number }): void {
    // Optional rather than a default `{}`, which a flood against a full queue would build per refusal.
    this.#rejected[reason] += 1;
    if (reason === 'queue-full') return;
    const stage = options?.stage ?? (reason === 'aborted' ? 'queued' : 'running');
    if (stage === 'queued') {
      this.#queued = Math.max(0, this.#queued - 1);
    } else {
      this.#running = Math.max(0, this.#running - 1);
      if (options?.runMs !== undefined) this.#run.record(options.runMs);
    }
  }

  /** Starts tracking one accepted task: counts it queued and times it from now. */
  track(): TaskTracker {
    return new TaskTracker(this, this.#now);
  }

  /** The wait-time histogram, for exposition. */
  get waitHistogram(): LatencyHistogram {
    return this.#wait;
  }

  /** The run-time histogram, for exposition. */
  get runHistogram(): LatencyHistogram {
    return this.#run;
  }

  /** A snapshot of the current figures. */
  stats(): PoolStats {
    const live = this.#gauges?.();
    const running = live === undefined ? this.#running : live.running;
    return {
      queued: live === undefined ? this.#queued : live.queued,
      running,
      completed: this.#completed,
      failed: this.#failed,
      rejected: { ...this.#rejected },
      takenBack: this.#takenBack,
      capacity: this.#capacity,
      utilization: this.#capacity > 0 ? running / this.#capacity : 0,
      wait: this.#wait.summary(),
      run: this.#run.summary(),
      cpu: this.cpu.stats(),
      ageMs: this.#now() - this.#born,
    };
  }
}

/**
 * One task's life as seen by {@link PoolMetrics}: it remembers whether the task is queued or
 * running and when that began, and ignores calls after the task ended (an abort racing a finish
 * must not count the task twice).
 */
export class TaskTracker {
  readonly #metrics: PoolMetrics;
  readonly #now: () => number;
  #stage: TaskStage | 'done' = 'queued';
  #since: number;

  /** Use {@link PoolMetrics.track}. */
  constructor(metrics: PoolMetrics, now: () => number) {
    this.#metrics = metrics;
    this.#now = now;
    this.#since = now();
    metrics.taskQueued();
  }

  /** The task went to a worker. */
  started(): void {
    if (this.#stage !== 'queued') return;
    const now = this.#now();
    this.#metrics.taskStarted(now - this.#since);
    this.#stage = 'running';
    this.#since = now;
  }

  /** The handler returned (`ok`) or threw. */
  finished(ok: boolean): void {
    if (this.#stage !== 'running') return;
    this.#metrics.taskFinished(this.#now() - this.#since, ok);
    this.#stage = 'done';
  }

  /** The task ended without a handler result (not for `'queue-full'`: such a task is never tracked). */
  rejected(reason: Exclude<RejectReason, 'queue-full'>): void {
    if (this.#stage === 'done') return;
    const stage = this.#stage;
    this.#metrics.taskRejected(reason, stage === 'running' ? { stage, runMs: this.#now() - this.#since } : { stage });
    this.#stage = 'done';
  }
}

// The piscina wrapper for legacy handlers: bounded queue, per-task abort and timeout, worker replacement,
// and the mapping of every pool fault onto one AlbanyError code.
import { Piscina } from 'piscina';
import type { TransferListItem } from 'node:worker_threads';
import { albanyError, AlbanyError } from '../errors.js';
import { workerFile } from '../worker-path.js';
import type { PoolConfig, PoolConfigInput } from './config-types.js';
import { defaultPoolConfig, setKey } from './config-schema.js';
import { objectLayer } from './config-sources.js';
import { effectiveMaxQueue, toPiscinaOptions } from './config.js';
import { PoolMetrics, type PoolStats } from './metrics.js';
import { STARTED_AT_INDEX, STATE_INDEX, TaskState, type LegacyTask, type TaskResult } from './protocol.js';

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
}

/** Per-dispatch options. */
export interface DispatchOptions {
  /** Aborts the task: removed if still queued; if running, its worker is replaced. */
  signal?: AbortSignal;
  transferList?: readonly TransferListItem[];
}

/**
 * A snapshot of one pool: the collector's figures, with `queued` / `running` read live from the
 * tasks' shared state (the collector only learns a task started when it ends), plus pool facts.
 */
export interface LegacyPoolStats extends PoolStats {
  name: string | undefined;
  /** Live worker threads. */
  threads: number;
  /** The queue bound in force. */
  maxQueue: number;
}

/**
 * A piscina pool running legacy tasks. Several may exist at once, each with its own config.
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
  private readonly piscina: Piscina;
  private readonly capacity: number;
  /** The figures of this pool (pass it to `toPrometheus` / `serveMetrics`). */
  readonly metrics: PoolMetrics;
  private readonly inFlight = new Set<Int32Array>();
  private closing: Promise<void> | undefined;

  constructor(config: PoolConfig, options: PoolOptions = {}) {
    this.config = config;
    this.name = options.name;
    this.maxQueue = effectiveMaxQueue(config);
    this.capacity = config.maxThreads * config.concurrentTasksPerWorker;
    this.metrics = options.metrics ?? new PoolMetrics({ capacity: this.capacity });
    const filename = options.filename ?? workerFile('legacy-worker');
    this.piscina = new Piscina({
      ...toPiscinaOptions(config),
      // Tasks carry abort signals, which piscina keeps outside its bounded queue: the bound is ours.
      maxQueue: Infinity,
      filename: filename instanceof URL ? filename.href : filename,
    });
    const log = options.log ?? ((message: string, error?: unknown) => console.error(message, error));
    // A worker that dies between tasks (a stray timer throwing) is replaced by piscina; say so.
    this.piscina.on('error', (err: unknown) => log(`albany: legacy worker${this.name ? ` of pool ${this.name}` : ''} crashed between requests`, err));
  }

  /** True when a new task would be refused (every thread busy and the queue at its bound). */
  get saturated(): boolean {
    return this.inFlight.size >= this.capacity + this.maxQueue;
  }

  /**
   * Admission check before building a task: returns the (counted) `ERR_ALBANY_QUEUE_FULL` error when
   * the pool would refuse, so a flood against a full queue costs no channel or buffer.
   */
  admit(): AlbanyError | undefined {
    if (!this.saturated) return undefined;
    this.metrics.taskRejected('queue-full');
    return queueFull(this);
  }

  /** Dispatches one task. See the class doc for how it can fail. */
  async run(task: LegacyTask, options: DispatchOptions = {}): Promise<TaskResult> {
    if (this.closing !== undefined) throw albanyError('ERR_ALBANY_ABORTED', 'the legacy pool is closed');
    const refused = this.admit();
    if (refused !== undefined) throw refused;
    const state = new Int32Array(task.shared);
    const controller = new AbortController();
    let reason: 'timeout' | 'client' | undefined;
    const onClientAbort = (): void => {
      reason ??= 'client';
      controller.abort(albanyError('ERR_ALBANY_ABORTED', 'the client went away'));
    };
    if (options.signal?.aborted) onClientAbort();
    options.signal?.addEventListener('abort', onClientAbort, { once: true });
    const timer = this.armTimeout(task.shared, () => {
      reason ??= 'timeout';
      controller.abort(albanyError('ERR_ALBANY_TIMEOUT', `legacy task ran past taskTimeoutMs (${this.config.taskTimeoutMs} ms)`));
    });
    const queuedAt = now();
    this.inFlight.add(state);
    this.metrics.taskQueued();
    try {
      const result = (await this.piscina.run(task, {
        signal: controller.signal,
        transferList: options.transferList as TransferListItem[] | undefined,
      })) as TaskResult;
      this.metrics.taskStarted(Math.max(0, result.startedAt - queuedAt));
      this.metrics.taskFinished(Math.max(0, now() - result.startedAt), result.error === undefined);
      return result;
    } catch (err) {
      throw this.classify(err, reason, state, queuedAt);
    } finally {
      clearTimeout(timer.handle);
      options.signal?.removeEventListener('abort', onClientAbort);
      this.inFlight.delete(state);
    }
  }

  /** Counts, gauges and latency summaries of this pool. */
  stats(): LegacyPoolStats {
    let running = 0;
    for (const state of this.inFlight) if (Atomics.load(state, STATE_INDEX) === TaskState.running) running++;
    return {
      ...this.metrics.stats(),
      queued: this.inFlight.size - running,
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
    this.closing ??= options.force ? this.piscina.destroy() : this.piscina.close();
    return this.closing;
  }

  private classify(err: unknown, reason: 'timeout' | 'client' | undefined, state: Int32Array, queuedAt: number): AlbanyError {
    const started = Atomics.load(state, STATE_INDEX) !== TaskState.queued;
    const startedAt = new Float64Array(state.buffer)[STARTED_AT_INDEX]!;
    const stage = started ? 'running' : 'queued';
    if (started) this.metrics.taskStarted(Math.max(0, (startedAt || now()) - queuedAt));
    const runMs = started && startedAt > 0 ? Math.max(0, now() - startedAt) : 0;
    if (reason === 'timeout') {
      this.metrics.taskRejected('timeout', { stage, runMs });
      return albanyError('ERR_ALBANY_TIMEOUT', `legacy task ran past taskTimeoutMs (${this.config.taskTimeoutMs} ms); its worker was replaced`, { cause: err });
    }
    if (reason === 'client') {
      this.metrics.taskRejected('aborted', { stage, runMs });
      return albanyError('ERR_ALBANY_ABORTED', started ? 'the client went away; the running task was aborted and its worker replaced' : 'the client went away; the queued task was removed', {
        cause: err, details: { started, waitedMs: now() - queuedAt },
      });
    }
    const message = (err as Error | undefined)?.message ?? '';
    if (message === 'Task queue is at limit' || message.startsWith('No task queue available')) {
      this.metrics.taskRejected('aborted', { stage });
      return queueFull(this);
    }
    this.metrics.taskRejected('crash', { stage, runMs });
    const code = (err as { code?: unknown } | undefined)?.code;
    return albanyError('ERR_ALBANY_WORKER_CRASHED', `a legacy worker died while running the request: ${message || String(err)}`, {
      cause: err, details: typeof code === 'string' ? { workerError: code } : undefined,
    });
  }

  // The timeout counts the handler's running time, not queue time nor the module's first import:
  // until the worker stamps its start the timer is simply re-armed (a cheap check of the shared state rather than one more message per task).
  private armTimeout(shared: SharedArrayBuffer, fire: () => void): { handle: NodeJS.Timeout | undefined } {
    const timeoutMs = this.config.taskTimeoutMs;
    const timer: { handle: NodeJS.Timeout | undefined } = { handle: undefined };
    if (!(timeoutMs > 0)) return timer;
    const state = new Int32Array(shared);
    const check = (): void => {
      const s = Atomics.load(state, STATE_INDEX);
      if (s === TaskState.finished) return;
      const startedAt = new Float64Array(shared)[STARTED_AT_INDEX]!;
      if (s === TaskState.queued || startedAt === 0) {
        timer.handle = setTimeout(check, timeoutMs);
        return;
      }
      const left = startedAt + timeoutMs - now();
      if (left > 1) timer.handle = setTimeout(check, left);
      else fire();
    };
    timer.handle = setTimeout(check, timeoutMs);
    return timer;
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

function queueFull(pool: LegacyPool): AlbanyError {
  return albanyError('ERR_ALBANY_QUEUE_FULL', `the legacy pool${pool.name ? ` ${pool.name}` : ''} is full (${pool.config.maxThreads} threads busy, ${pool.maxQueue} queued)`, {
    details: { maxQueue: pool.maxQueue, maxThreads: pool.config.maxThreads },
  });
}

function now(): number {
  return performance.timeOrigin + performance.now();
}

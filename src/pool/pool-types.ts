// The types of a legacy pool's public surface: its options, per-dispatch options and stats snapshot.
import type { PoolMetrics, PoolStats } from './metrics.js';

/** Options of a pool beyond its tuning config. */
export interface PoolOptions {
  /** Worker entry; the legacy worker by default. */
  filename?: URL | string;
  /** A name for logs and metrics; it also picks the pool's `pools.<name>` config (wins over a `name` in the config). */
  name?: string;
  /**
   * `false`: {@link createPool} takes the config given in code and the defaults only, ignoring the
   * config file, `ALBANY_POOL*_` env and `--pool-*` flags (default `true`).
   */
  configSources?: boolean;
  /** The collector to report to (one is made when absent); read it back from the pool's `metrics`. */
  metrics?: PoolMetrics;
  /** Where worker faults are logged; `console.error` by default. */
  log?: (message: string, error?: unknown) => void;
  /** Overrides the config's `maxBatch` (most requests one hand-off carries; 1 turns batching off). */
  maxBatch?: number;
  /** Overrides the config's `niceIncrement` (Linux nice of the worker threads; 0 for equal). */
  niceIncrement?: number;
  /**
   * How long a plain `close()` lets running requests finish (default 30 000 ms); then their threads
   * are terminated and they fail with the pool-closed `ERR_ALBANY_ABORTED`, as with `close({ force: true })`.
   */
  closeTimeoutMs?: number;
  /**
   * How long a worker that ran a batch waits in its thread's request ring for the next one before it
   * returns to piscina (default 5000 ms; 0 turns the ring off: every batch is a piscina task). Only
   * with `concurrentTasksPerWorker` 1: a waiting worker holds its thread.
   */
  ringLingerMs?: number;
}

/** Per-dispatch options. */
export interface DispatchOptions {
  /** Aborts the task: removed if still queued; if running, its worker is replaced. */
  signal?: AbortSignal;
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

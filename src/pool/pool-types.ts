// The types of a legacy pool's public surface: its options, per-dispatch options and stats snapshot.
import type { LegacyPool } from './legacy-pool.js';
import type { PoolMetrics, PoolStats } from './metrics.js';

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
  /**
   * How long a plain `close()` lets running requests finish (default 30 000 ms); then their threads
   * are terminated and they fail with the pool-closed `ERR_ALBANY_ABORTED`, as with `close({ force: true })`.
   */
  closeTimeoutMs?: number;
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

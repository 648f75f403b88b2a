// The shape of one legacy pool's tuning, shared by the config loader, the pool and the CLI.

/** What the pool does with a running task whose client went away. */
export type OnDisconnect = 'finish' | 'abort';

/** Limits passed to each worker thread (see node's `resourceLimits`). */
export interface ResourceLimits {
  maxOldGenerationSizeMb?: number;
  maxYoungGenerationSizeMb?: number;
  codeRangeSizeMb?: number;
  stackSizeMb?: number;
}

/** Fully resolved tuning of one legacy pool. */
export interface PoolConfig {
  /** Threads kept even when idle. */
  minThreads: number;
  /** Upper bound on threads. */
  maxThreads: number;
  /** Tasks allowed to wait for a thread; `'auto'` = 128 per thread, at least 256 (see `effectiveMaxQueue`). */
  maxQueue: number | 'auto';
  /** An idle thread above minThreads exits after this long. */
  idleTimeoutMs: number;
  /** A task running longer is answered 504 and its worker replaced. 0 = no limit. */
  taskTimeoutMs: number;
  /** Tasks one worker runs at once (1 for blocking handlers). */
  concurrentTasksPerWorker: number;
  /** Per-worker memory limits. */
  resourceLimits: ResourceLimits;
  /** `finish`: let a running task end and drop its output; `abort`: replace the worker at once. */
  onDisconnect: OnDisconnect;
  /** Most requests one hand-off to a thread carries (1 turns batching off). */
  maxBatch: number;
  /** How much lower than the event loop the worker threads run (Linux nice; 0 for equal). */
  niceIncrement: number;
}

/** Where a resolved value came from. */
export type ConfigSource = 'default' | 'file' | 'env' | 'flag' | 'code';

/**
 * A partial pool config as given by one source (a config file's `pool` object, or code): every
 * key optional, `resourceLimits` merged key by key with the other sources.
 */
export type PoolConfigInput = Partial<Omit<PoolConfig, 'resourceLimits'>> & { resourceLimits?: ResourceLimits };

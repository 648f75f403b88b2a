// Every live legacy pool in this process, so `--metrics` can expose pools that apps create themselves.
import type { PoolMetricsSource } from './metrics-prometheus.js';

/** What the registry needs of a pool. */
export interface RegisteredPool {
  readonly name: string | undefined;
  readonly metrics: PoolMetricsSource['metrics'];
  readonly threads: { readonly length: number };
  /** Its tuning, for `albany_pool_max_threads`. */
  readonly config?: { readonly maxThreads: number };
  /** Its queue bound, for `albany_pool_max_queue`. */
  readonly maxQueue?: number;
}

const live = new Set<RegisteredPool>();

/** Adds a pool (called by the pool itself when it starts). */
export function registerPool(pool: RegisteredPool): void {
  live.add(pool);
}

/** Removes a pool (called when it closes). */
export function unregisterPool(pool: RegisteredPool): void {
  live.delete(pool);
}

/** The live pools as metric sources; unnamed pools are labelled `pool-1`, `pool-2`, … in creation order. */
export function livePoolSources(): PoolMetricsSource[] {
  let unnamed = 0;
  const seen = new Map<string, number>();
  return [...live].map((pool) => {
    let name = pool.name ?? `pool-${++unnamed}`;
    // Two pools given the same name still get distinct labels rather than an exposition error.
    const n = (seen.get(name) ?? 0) + 1;
    seen.set(name, n);
    if (n > 1) name = `${name}-${n}`;
    const piscina = { threads: pool.threads, maxThreads: pool.config?.maxThreads };
    return { name, metrics: pool.metrics, piscina, maxQueue: pool.maxQueue };
  });
}

/** The first live pool created with this name (offload's `pool: 'name'` shares it), if any. */
export function findLivePool(name: string): RegisteredPool | undefined {
  for (const pool of live) if (pool.name === name) return pool;
  return undefined;
}

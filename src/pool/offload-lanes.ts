// offload()'s thread-sensitive mode: calls with the same key run on one thread, in order (asgiref's
// thread_sensitive). A pool's keyed calls go to its lanes: single-thread LegacyPools derived from
// its config (same queue bound, timeouts, faults and metrics per lane), made on first use and closed
// with the pool. A key always maps to the same lane, so thread-local state (a connection opened on
// first use, a non-reentrant library) stays with its key; different keys spread over the lanes.
import { LegacyPool } from './legacy-pool.js';

/** Longest idle timeout a timer keeps: a lane's thread should live as long as its pool. */
const KEEP_ALIVE_MS = 2 ** 31 - 1;

const lanesOf = new WeakMap<LegacyPool, Array<LegacyPool | undefined>>();

/**
 * The lane of `key` among `count`: FNV-1a of the key's UTF-16 code units, so the mapping is stable
 * across calls and processes (a restarted service sends a key to the same lane index).
 */
export function laneIndex(key: string, count: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % count;
}

/** How many lanes keyed calls of `pool` spread over: one per thread the pool may run. */
export function laneCount(pool: LegacyPool): number {
  return pool.config.maxThreads;
}

/**
 * The pool that runs calls with `key` on `pool`. A pool of one thread that runs one task at a time
 * is its own only lane (its `minThreads` keeps that thread); others get a single-thread lane pool
 * named `<pool>#<index>`.
 */
export function laneFor(pool: LegacyPool, key: string): LegacyPool {
  const config = pool.config;
  // A closed pool refuses the call itself, rather than a lane starting threads for it.
  if (pool.closed) return pool;
  if (config.maxThreads === 1 && config.concurrentTasksPerWorker === 1 && config.minThreads >= 1) return pool;
  let lanes = lanesOf.get(pool);
  if (lanes === undefined) {
    lanes = new Array<LegacyPool | undefined>(laneCount(pool));
    lanesOf.set(pool, lanes);
  }
  const i = laneIndex(key, lanes.length);
  let lane = lanes[i];
  if (lane === undefined) {
    lane = new LegacyPool(
      // The whole parent queue bound per lane: 'auto' would resolve to 1² for one thread.
      {
        ...config,
        minThreads: 1,
        maxThreads: 1,
        concurrentTasksPerWorker: 1,
        idleTimeoutMs: KEEP_ALIVE_MS,
        maxQueue: pool.maxQueue,
      },
      { name: `${pool.name ?? 'pool'}#${i}` },
    );
    lanes[i] = lane;
    pool.companions.add(lane);
  }
  return lane;
}

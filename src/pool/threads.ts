// The piscina instance under a legacy pool: how its threads are tuned for batched hand-offs, and how
// one thread is replaced.
import { Piscina } from 'piscina';
import { workerFile } from '../worker-path.js';
import type { PoolConfig } from './config-types.js';
import { toPiscinaOptions } from './config.js';
import type { PoolOptions } from './pool-types.js';

/** Linux nice increment of handler threads when {@link PoolOptions.niceIncrement} is not given. */
const DEFAULT_NICE = 5;

/** Starts the piscina pool that runs a legacy pool's batches. */
export function startThreads(config: PoolConfig, options: Pick<PoolOptions, 'filename' | 'niceIncrement'>): Piscina {
  const filename = options.filename ?? workerFile('legacy-worker');
  return new Piscina({
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
}

/**
 * Terminates the thread with this id; piscina fails the task it runs and starts a replacement.
 * Used for a request past its timeout or aborted by its client: a blocked thread cannot be interrupted.
 */
export function terminateThread(piscina: Piscina, threadId: number): void {
  for (const worker of piscina.threads) {
    if (worker.threadId === threadId) void worker.terminate();
  }
}

// The piscina instance under a legacy pool: how its threads are tuned for batched hand-offs, and how
// one thread is replaced.
import { Piscina } from 'piscina';
import { albanyError } from '../errors.js';
import { workerExecArgv } from '../exec-argv.js';
import { workerFile } from '../worker-path.js';
import type { PoolConfig } from './config-types.js';
import { toPiscinaOptions } from './config.js';
import type { PoolOptions } from './pool-types.js';

/**
 * How long a plain `close()` lets running requests finish when {@link PoolOptions.closeTimeoutMs} is not given
 * (piscina's default).
 */
const DEFAULT_CLOSE_TIMEOUT_MS = 30_000;

/** The longest delay a Node timer keeps (a longer one fires at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The checked {@link PoolOptions.closeTimeoutMs} (piscina's default when not given). */
export function closeTimeoutOf(options: Pick<PoolOptions, 'closeTimeoutMs'>): number {
  const closeTimeoutMs = options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
  if (typeof closeTimeoutMs !== 'number' || !(closeTimeoutMs >= 0 && closeTimeoutMs <= MAX_TIMER_MS)) {
    throw albanyError(
      'ERR_ALBANY_INVALID_CONFIG',
      `options.closeTimeoutMs must be a number of milliseconds from 0 to ${MAX_TIMER_MS}, got ` +
        `${String(closeTimeoutMs)}`,
    );
  }
  return closeTimeoutMs;
}

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
    niceIncrement: options.niceIncrement ?? config.niceIncrement,
    // The close timeout is ours (see closeThreads): piscina's own is told apart only by its message text.
    closeTimeout: MAX_TIMER_MS,
    filename: filename instanceof URL ? filename.href : filename,
    // Not `-e`/`--input-type`/`-i`: under `node --input-type=module -e` a worker refuses its file entry.
    execArgv: workerExecArgv(),
  });
}

/**
 * Closes piscina: the tasks still running may finish within `closeTimeoutMs`; past it, `onTimeout`
 * runs (to mark what is stopped as stopped by the close) and the threads are destroyed, failing
 * those tasks. Settles when the threads are gone.
 */
export function closeThreads(piscina: Piscina, closeTimeoutMs: number, onTimeout: () => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<true>((resolve) => {
    timer = setTimeout(resolve, closeTimeoutMs, true);
  });
  return Promise.race([piscina.close().then(() => false), late]).then((timedOut) => {
    clearTimeout(timer);
    if (!timedOut) return;
    onTimeout();
    return piscina.destroy();
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

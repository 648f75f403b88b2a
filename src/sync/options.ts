// Process-wide (per thread) defaults for runSync waits, kept apart so every entry point reads one place.
import { AlbanyError, ErrorCodes } from '../errors.js';

/** Settings every runSync wait uses unless a call overrides them. */
export interface SyncOptions {
  /** How long a blocking call waits before `ERR_ALBANY_TIMEOUT`. Default 30 000 ms. */
  timeoutMs: number;
  /**
   * While no call is in flight the reactor sleeps in a synchronous `Atomics.wait` (the fast path);
   * every `idleSliceMs` it gives its event loop one turn so timers and sockets of loaded modules
   * still run. Default 50 ms. Read when a reactor starts.
   */
  idleSliceMs: number;
  /**
   * How long (µs) a waiting thread — the caller for its answer, the reactor for the next call —
   * spins before parking in Atomics.wait. Parking and being woken costs a kernel round trip; a
   * spin that keeps missing (a busy machine, a slow call) turns itself off for a while, so the cost
   * stays bounded. Default 50. On a quiet 2-core VM it took a trivial call from ~150 µs (two
   * wakes of idle vCPUs) to ~12–50 µs; on an oversubscribed machine a spinner can hold the core its
   * partner needs, so set 0 there. The reactor reads it when it starts.
   */
  spinMicros: number;
}

// On globalThis so every copy of this file loaded in a thread (CJS and ESM, src and dist) agrees.
const current = ((globalThis as Record<symbol, unknown>)[Symbol.for('albany.sync.options')] ??= {
  timeoutMs: 30_000,
  idleSliceMs: 50,
  spinMicros: 50,
} satisfies SyncOptions) as SyncOptions;

/**
 * Changes the defaults of this thread's runSync calls (each thread has its own copy).
 * @example configureSync({ timeoutMs: 5_000 })
 */
export function configureSync(options: Partial<SyncOptions>): SyncOptions {
  if (options.timeoutMs !== undefined) current.timeoutMs = checkMs('timeoutMs', options.timeoutMs, true);
  if (options.idleSliceMs !== undefined) current.idleSliceMs = checkMs('idleSliceMs', options.idleSliceMs, false);
  if (options.spinMicros !== undefined) {
    const v = options.spinMicros;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 10_000) {
      throw new AlbanyError(
        ErrorCodes.ERR_ALBANY_INVALID_CONFIG,
        `options.spinMicros must be a number of microseconds from 0 to 10000, got ${String(v)}`,
        {
          details: { key: 'spinMicros', value: String(v) },
        },
      );
    }
    current.spinMicros = v;
  }
  return { ...current };
}

/** The defaults in force on this thread. */
export function syncDefaults(): Readonly<SyncOptions> {
  return current;
}

/** Validates a millisecond option (per call or global); names it in the error. */
export function checkMs(name: string, value: unknown, allowInfinity: boolean): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value <= 0 || (!allowInfinity && !Number.isFinite(value))) {
    throw new AlbanyError(
      ErrorCodes.ERR_ALBANY_INVALID_CONFIG,
      `options.${name} must be a positive number of milliseconds${allowInfinity ? ' or Infinity' : ''}, got ` +
        `${String(value)}`,
      { details: { key: name, value: String(value) } },
    );
  }
  return value;
}

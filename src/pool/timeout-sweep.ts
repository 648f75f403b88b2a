// taskTimeoutMs: one timer sweeps the running requests while any batch is out, instead of a timer
// per request (requests start inside a batch, on the worker's clock, unseen by the main thread).
import type { PoolConfig } from './config-types.js';
import { TaskState, startedAtIndex, stateIndex } from './protocol.js';
import { now } from './protocol.js';
import type { Batch } from './ticket.js';

/** Marks requests that ran past `taskTimeoutMs` and has their worker replaced. */
export class TimeoutSweep {
  private timer: NodeJS.Timeout | undefined;

  /**
   * @param config read at each arm and sweep, as the pool reads its config.
   * @param active the pool's batches out; the sweep only reads it.
   * @param terminate replaces the worker running a batch.
   */
  constructor(
    private readonly config: PoolConfig,
    private readonly active: readonly Batch[],
    private readonly terminate: (batch: Batch) => void,
  ) {}

  /** Starts sweeping if a timeout is set and no sweep is pending (called per batch handed out). */
  arm(): void {
    const timeoutMs = this.config.taskTimeoutMs;
    if (!(timeoutMs > 0) || this.timer !== undefined) return;
    this.schedule(Math.min(1000, Math.max(5, Math.floor(timeoutMs / 8))));
  }

  /** Stops sweeping (the pool closed). */
  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  // Unref'd: a pending sweep must not keep the process alive.
  private schedule(period: number): void {
    this.timer = setTimeout(() => this.sweep(period), period);
    this.timer.unref();
  }

  // The timeout counts the handler's running time, not queue time nor the module's first import
  // (the worker stamps the start after loading). With no batch out the sweep ends; the next
  // hand-off arms it again.
  private sweep(period: number): void {
    this.timer = undefined;
    if (this.active.length === 0) return;
    const timeoutMs = this.config.taskTimeoutMs;
    const t = now();
    for (const batch of this.active) {
      const n = batch.tickets.length;
      for (let i = 0; i < n; i++) {
        if (Atomics.load(batch.state, stateIndex(i)) !== TaskState.running) continue;
        const startedAt = batch.times[startedAtIndex(n, i)]!;
        if (startedAt > 0 && t - startedAt >= timeoutMs) {
          batch.tickets[i]!.reason ??= 'timeout';
          this.terminate(batch);
        }
      }
    }
    this.schedule(period);
  }
}

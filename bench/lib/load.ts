// One autocannon run, reduced to the figures the reports use. Latency percentiles come from our
// own microsecond histogram: autocannon's is in whole milliseconds, too coarse for sub-ms answers.
// Only the type at the top: bench files that also run as server children (interop.ts --serve,
// scale.ts --role) must not load autocannon there. Its histogram module decodes a bundled
// WebAssembly blob (base64 + inflate) at start-up, millions of instructions that land inside the
// measured window of a slow run (seen under callgrind) and would be charged to one peer only.
import type autocannonType from 'autocannon';
import { createHistogram } from 'node:perf_hooks';

/** Load shape shared by every peer of a comparison. */
export interface LoadOptions {
  connections: number;
  pipelining: number;
  /** Seconds. */
  duration: number;
  /** Exactly this many requests instead of a duration (a fixed amount of work to charge CPU to). */
  amount?: number;
  /**
   * Requests per second over all connections (autocannon's `overallRate`); unset = as fast as the
   * server answers. A fixed rate below both peers' capacity gives them the same arrival pattern.
   */
  rate?: number;
}

/** What one run measured. Latencies in milliseconds. */
export interface LoadFigures {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  errors: number;
  timeouts: number;
  non2xx: number;
}

/** Runs autocannon against `url` (keep-alive is autocannon's default) and resolves with its figures. */
export async function runLoad(url: string, options: LoadOptions): Promise<LoadFigures> {
  const { default: autocannon } = await import('autocannon');
  const histogram = createHistogram();
  const instance = autocannon({
    url,
    connections: options.connections,
    pipelining: options.pipelining,
    ...(options.amount !== undefined ? { amount: options.amount, timeout: 60 } : { duration: options.duration }),
    ...(options.rate !== undefined ? { overallRate: options.rate } : {}),
  }) as unknown as import('node:events').EventEmitter & PromiseLike<autocannonType.Result>;
  instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => {
    histogram.record(Math.max(1, Math.round(responseTime * 1000)));
  });
  const result = await instance;
  return {
    // Completed 2xx requests over the run's wall time: autocannon's own `requests.average` is a
    // mean of per-second samples and drops the partial last second.
    rps: result['2xx'] / (result.duration || options.duration),
    p50: histogram.percentile(50) / 1000,
    p99: histogram.percentile(99) / 1000,
    requests: result.requests.total,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
  };
}

// A fixed-size log-bucket latency histogram: constant memory however many tasks run, percentiles within a few percent.
import { albanyError } from '../errors.js';

const PER_OCTAVE = 4; // buckets per doubling: each spans ×1.19, so an estimate is off by under 10%
const MIN_EXP = -6; // lowest bound 2^-6 ms ≈ 16 µs
const MAX_EXP = 20; // highest bound 2^20 ms ≈ 17 min; slower tasks land in one overflow bucket

// Upper bounds (inclusive, in ms) of every bucket but the overflow one.
const BOUNDS: readonly number[] = Array.from(
  { length: (MAX_EXP - MIN_EXP) * PER_OCTAVE + 1 },
  (_, i) => 2 ** (MIN_EXP + i / PER_OCTAVE),
);

/** Percentiles and totals of one histogram, in milliseconds; all 0 while `count` is 0. */
export interface LatencySummary {
  /** Values recorded. */
  count: number;
  /** Sum of all values. */
  sumMs: number;
  /** Mean value. */
  meanMs: number;
  /** Smallest value. */
  minMs: number;
  /** Largest value. */
  maxMs: number;
  /** Median. */
  p50: number;
  /** 90th percentile. */
  p90: number;
  /** 99th percentile. */
  p99: number;
}

/**
 * Records durations in milliseconds into log-spaced buckets. Every power-of-two millisecond is a
 * bucket bound, so coarser Prometheus buckets at those bounds are exact sums of these.
 */
export class LatencyHistogram {
  // Float64 rather than Uint32: counts stay exact to 2^53 on a long-lived server.
  readonly #counts = new Float64Array(BOUNDS.length + 1);
  #count = 0;
  #sum = 0;
  #min = Infinity;
  #max = -Infinity;

  /** Records one duration; negative values count as 0, non-finite ones are ignored. */
  record(ms: number): void {
    if (!Number.isFinite(ms)) return;
    const value = Math.max(0, ms);
    this.#counts[bucketOf(value)]! += 1;
    this.#count += 1;
    this.#sum += value;
    if (value < this.#min) this.#min = value;
    if (value > this.#max) this.#max = value;
  }

  /** Values recorded so far. */
  get count(): number {
    return this.#count;
  }

  /** Sum of the values recorded, in ms. */
  get sum(): number {
    return this.#sum;
  }

  /**
   * Estimates the `q` quantile (0..1) by interpolating inside its bucket, the way Prometheus'
   * `histogram_quantile` does, then clamps to the observed min/max so few samples read exactly.
   */
  quantile(q: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.min(1, Math.max(0, q)) * this.#count;
    let before = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      const n = this.#counts[i]!;
      if (n > 0 && before + n >= rank) {
        const lower = i === 0 ? 0 : BOUNDS[i - 1]!;
        const upper = i < BOUNDS.length ? BOUNDS[i]! : this.#max;
        const estimate = lower + (upper - lower) * ((rank - before) / n);
        return Math.min(this.#max, Math.max(this.#min, estimate));
      }
      before += n;
    }
    return this.#max;
  }

  /** How many values were ≤ `boundMs`, which must be a power of two within the tracked range. */
  countAtOrBelow(boundMs: number): number {
    const exp = Math.log2(boundMs);
    if (!Number.isInteger(exp) || exp < MIN_EXP || exp > MAX_EXP) {
      throw albanyError(
        'ERR_ALBANY_INVALID_ARGUMENT',
        `histogram bounds must be powers of two ms between 2^${MIN_EXP} and 2^${MAX_EXP}, got ${boundMs}`,
      );
    }
    const last = (exp - MIN_EXP) * PER_OCTAVE;
    let total = 0;
    for (let i = 0; i <= last; i++) total += this.#counts[i]!;
    return total;
  }

  /** The summary {@link PoolMetrics.stats} reports. */
  summary(): LatencySummary {
    if (this.#count === 0) return { count: 0, sumMs: 0, meanMs: 0, minMs: 0, maxMs: 0, p50: 0, p90: 0, p99: 0 };
    return {
      count: this.#count,
      sumMs: this.#sum,
      meanMs: this.#sum / this.#count,
      minMs: this.#min,
      maxMs: this.#max,
      p50: this.quantile(0.5),
      p90: this.quantile(0.9),
      p99: this.quantile(0.99),
    };
  }
}

// Bucket i holds (BOUNDS[i-1], BOUNDS[i]], matching Prometheus' inclusive `le`; past the last bound,
// the overflow bucket BOUNDS.length. A binary search over the bounds (7 steps for 105 of them):
// Math.log2 is a C library call, and every legacy request records two durations. No shortcut for
// the ends: with one, a process whose waits all fell below the first bound never ran the search's
// load, and the first longer wait threw away the optimized code of the pool's hand-off path (a
// deopt for missing type feedback, seen inside bench:instructions' window).
function bucketOf(ms: number): number {
  // The first index whose bound is ≥ ms, or BOUNDS.length: always in [lo, hi].
  let lo = 0;
  let hi = BOUNDS.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ms <= BOUNDS[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

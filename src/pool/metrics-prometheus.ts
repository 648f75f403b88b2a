// Writes every pool's figures as Prometheus text exposition (format 0.0.4) for the /metrics endpoint.
import { availableParallelism } from 'node:os';
import { albanyError } from '../errors.js';
import { rejectReasons, type PoolMetrics, type PoolStats } from './metrics.js';

/** The parts of a piscina instance exposition reads; structural so tests need no real pool. */
export interface PiscinaStatsLike {
  /** Live worker threads. */
  readonly threads: { readonly length: number };
  /** The pool's thread limit. */
  readonly maxThreads?: number;
}

/** One pool to expose. */
export interface PoolMetricsSource {
  /** The `pool` label value; unique among the pools exposed. */
  name: string;
  /** Its collector. */
  metrics: PoolMetrics;
  /** Its piscina instance, for thread counts. */
  piscina?: PiscinaStatsLike;
  /** Its queue bound, for `albany_pool_max_queue`. */
  maxQueue?: number;
}

/** The `Content-Type` of text exposition format 0.0.4. */
export const prometheusContentType = 'text/plain; version=0.0.4; charset=utf-8';

// Bucket bounds exposed, in ms: powers of two from 0.5 ms to ~33 s, exact sums of the fine histogram.
const EXPOSED_BOUNDS_MS = Array.from({ length: 17 }, (_, i) => 2 ** (i - 1));

type Sample = [suffix: string, labels: Record<string, string>, value: number];
interface Family {
  name: string;
  type: 'counter' | 'gauge' | 'histogram';
  help: string;
  samples: (pool: PoolMetricsSource, stats: PoolStats) => Sample[] | undefined;
}

function histogramSamples(h: PoolMetrics['waitHistogram']): Sample[] {
  const buckets: Sample[] = EXPOSED_BOUNDS_MS.map((ms) => [
    '_bucket',
    { le: formatNumber(ms / 1000) },
    h.countAtOrBelow(ms),
  ]);
  return [...buckets, ['_bucket', { le: '+Inf' }, h.count], ['_sum', {}, h.sum / 1000], ['_count', {}, h.count]];
}

const families: readonly Family[] = [
  {
    name: 'albany_pool_queued',
    type: 'gauge',
    help: 'Tasks waiting for a worker thread.',
    samples: (_, s) => [['', {}, s.queued]],
  },
  {
    name: 'albany_pool_running',
    type: 'gauge',
    help: 'Tasks running on a worker thread.',
    samples: (_, s) => [['', {}, s.running]],
  },
  {
    name: 'albany_pool_utilization',
    type: 'gauge',
    help: 'Running tasks as a fraction of what the pool can run at once.',
    samples: (_, s) => [['', {}, s.utilization]],
  },
  {
    name: 'albany_pool_tasks_completed_total',
    type: 'counter',
    help: 'Tasks whose handler finished normally.',
    samples: (_, s) => [['', {}, s.completed]],
  },
  {
    name: 'albany_pool_tasks_failed_total',
    type: 'counter',
    help: 'Tasks whose handler threw.',
    samples: (_, s) => [['', {}, s.failed]],
  },
  {
    name: 'albany_pool_tasks_rejected_total',
    type: 'counter',
    help: 'Tasks ended without a handler result, by reason (queue-full, timeout, crash, aborted).',
    samples: (_, s) => rejectReasons.map((reason) => ['', { reason }, s.rejected[reason]] as Sample),
  },
  {
    name: 'albany_pool_tasks_taken_back_total',
    type: 'counter',
    help: 'Tasks handed to a busy thread but not started there, handed to a free thread instead.',
    samples: (_, s) => [['', {}, s.takenBack]],
  },
  {
    name: 'albany_pool_wait_seconds',
    type: 'histogram',
    help: 'Time tasks waited in the queue for a worker.',
    samples: (p) => histogramSamples(p.metrics.waitHistogram),
  },
  {
    name: 'albany_pool_run_seconds',
    type: 'histogram',
    help: 'Time tasks ran on a worker.',
    samples: (p) => histogramSamples(p.metrics.runHistogram),
  },
  {
    name: 'albany_pool_threads',
    type: 'gauge',
    help: 'Live worker threads.',
    samples: (p) => (p.piscina === undefined ? undefined : [['', {}, p.piscina.threads.length]]),
  },
  {
    name: 'albany_pool_max_threads',
    type: 'gauge',
    help: 'Most worker threads the pool may start.',
    samples: (p) => (p.piscina?.maxThreads === undefined ? undefined : [['', {}, p.piscina.maxThreads]]),
  },
  {
    name: 'albany_pool_max_queue',
    type: 'gauge',
    help: 'Most tasks the pool queues before refusing.',
    samples: (p) => (p.maxQueue === undefined ? undefined : [['', {}, p.maxQueue]]),
  },
  {
    name: 'albany_pool_cpu_seconds_total',
    type: 'counter',
    help: "CPU time of the pool's threads (absent where it cannot be measured).",
    samples: (_, s) =>
      s.cpu === undefined || s.cpu.source === 'unavailable' ? undefined : [['', {}, s.cpu.cpuMs / 1000]],
  },
  {
    name: 'albany_pool_cpu_wait_seconds_total',
    type: 'counter',
    help: "Time the pool's threads were ready to run but waited for a core (Linux).",
    samples: (_, s) => (s.cpu?.cpuWaitMs === undefined ? undefined : [['', {}, s.cpu.cpuWaitMs / 1000]]),
  },
  {
    name: 'albany_pool_age_seconds',
    type: 'gauge',
    help: 'Time since the pool started.',
    samples: (_, s) => [['', {}, s.ageMs / 1000]],
  },
  {
    name: 'albany_pool_cores',
    type: 'gauge',
    help: 'Cores this process may use (os.availableParallelism()), for sizing advice.',
    samples: () => [['', {}, availableParallelism()]],
  },
];

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/**
 * Renders the pools' figures as Prometheus text exposition: one HELP and TYPE per metric family,
 * then that family's samples for every pool (a family's samples must be contiguous), each with
 * a `pool="name"` label. Times are in seconds, Prometheus' base unit.
 *
 * @throws AlbanyError `ERR_ALBANY_INVALID_CONFIG` when two pools share a name: their series would clash.
 */
export function toPrometheus(pools: readonly PoolMetricsSource[]): string {
  const seen = new Set<string>();
  for (const p of pools) {
    if (seen.has(p.name))
      throw albanyError(
        'ERR_ALBANY_INVALID_CONFIG',
        `Two pools are named "${p.name}"; pool names must be unique for metrics`,
      );
    seen.add(p.name);
  }
  // One snapshot per pool, so every family of a scrape describes the same moment.
  const snapshots = pools.map((p) => [p, p.metrics.stats()] as const);
  const lines: string[] = [];
  for (const family of families) {
    const perPool = snapshots.map(([p, s]) => [p, family.samples(p, s)] as const).filter(([, s]) => s !== undefined);
    if (perPool.length === 0) continue;
    lines.push(`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} ${family.type}`);
    for (const [pool, samples] of perPool) {
      for (const [suffix, labels, value] of samples!) {
        const all = { pool: pool.name, ...labels };
        const text = Object.entries(all)
          .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
          .join(',');
        lines.push(`${family.name}${suffix}{${text}} ${formatNumber(value)}`);
      }
    }
  }
  // The format requires every line, the last one included, to end in a newline.
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

// Reads the pool figures sizing advice needs out of a /metrics text exposition (one process's or a
// cluster's merged one), and takes the difference of two readings for a window of time.

/** One pool's figures as /metrics shows them (cluster: summed over processes, age and cores averaged). */
export interface PoolFigures {
  /** The `pool` label. */
  name: string;
  /** `albany_pool_max_threads` (summed over processes). */
  maxThreads: number | undefined;
  /** `albany_pool_max_queue` (summed over processes). */
  maxQueue: number | undefined;
  /** Seconds the figures cover: the pool's age, or a window's length. */
  seconds: number | undefined;
  /** `albany_pool_cores`. */
  cores: number | undefined;
  /** Processes whose pools are summed here (`albany_cluster_workers_reporting`, else 1). */
  processes: number;
  /** Tasks that ran (`albany_pool_run_seconds_count`). */
  tasks: number;
  /** Their total run time. */
  runSeconds: number;
  /** CPU time of the threads; undefined where it is not measured. */
  cpuSeconds: number | undefined;
  /** Time the threads waited for a core; undefined where it is not measured. */
  cpuWaitSeconds: number | undefined;
  /** Wait-time histogram: cumulative counts by upper bound in seconds, ascending, `+Inf` last. */
  waitBuckets: Array<[le: number, count: number]>;
  /** Tasks refused because the queue was full. */
  queueFull: number;
}

const SAMPLE = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/;
const LABEL = /([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function parseValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

function unescapeLabel(value: string): string {
  return value.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

function empty(name: string, processes: number): PoolFigures {
  return {
    name,
    maxThreads: undefined,
    maxQueue: undefined,
    seconds: undefined,
    cores: undefined,
    processes,
    tasks: 0,
    runSeconds: 0,
    cpuSeconds: undefined,
    cpuWaitSeconds: undefined,
    waitBuckets: [],
    queueFull: 0,
  };
}

type Setter = (f: PoolFigures, value: number, labels: Record<string, string>) => void;

// The series advice reads, by sample name (histogram series with their suffix).
const SETTERS: Readonly<Record<string, Setter>> = {
  albany_pool_max_threads: (f, v) => (f.maxThreads = v),
  albany_pool_max_queue: (f, v) => (f.maxQueue = v),
  albany_pool_age_seconds: (f, v) => (f.seconds = v),
  albany_pool_cores: (f, v) => (f.cores = v),
  albany_pool_run_seconds_count: (f, v) => (f.tasks = v),
  albany_pool_run_seconds_sum: (f, v) => (f.runSeconds = v),
  albany_pool_cpu_seconds_total: (f, v) => (f.cpuSeconds = v),
  albany_pool_cpu_wait_seconds_total: (f, v) => (f.cpuWaitSeconds = v),
  albany_pool_tasks_rejected_total: (f, v, labels) => {
    if (labels.reason === 'queue-full') f.queueFull = v;
  },
  albany_pool_wait_seconds_bucket: (f, v, labels) => {
    f.waitBuckets.push([parseValue(labels.le ?? 'NaN'), v]);
  },
};

/**
 * Every pool of a Prometheus text exposition written by albany (`albany_pool_*` families), in
 * order of first appearance. Lines of other families are skipped; an exposition without any
 * `albany_pool_*` sample gives an empty list.
 */
export function readPoolFigures(text: string): PoolFigures[] {
  let processes = 1;
  const pools = new Map<string, PoolFigures>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (m === null) continue;
    const [, name, labelText, valueText] = m;
    const value = parseValue(valueText!);
    if (name === 'albany_cluster_workers_reporting') {
      processes = Math.max(1, value);
      continue;
    }
    if (!name!.startsWith('albany_pool_')) continue;
    const labels: Record<string, string> = {};
    for (const l of (labelText ?? '').matchAll(LABEL)) labels[l[1]!] = unescapeLabel(l[2]!);
    const pool = labels.pool;
    if (pool === undefined) continue;
    let f = pools.get(pool);
    if (f === undefined) {
      f = empty(pool, 1);
      pools.set(pool, f);
    }
    SETTERS[name!]?.(f, value, labels);
  }
  const all = [...pools.values()];
  for (const f of all) {
    f.processes = processes;
    f.waitBuckets.sort((a, b) => a[0] - b[0]);
  }
  return all;
}

const minus = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined || b === undefined ? undefined : Math.max(0, a - b);

/**
 * What happened between two readings of the same pool: counters and histograms as differences,
 * gauges as `later` has them, `seconds` as the window between the two (from the pools' ages).
 */
export function figuresBetween(later: PoolFigures, earlier: PoolFigures): PoolFigures {
  const before = new Map(earlier.waitBuckets);
  return {
    ...later,
    seconds: minus(later.seconds, earlier.seconds),
    tasks: Math.max(0, later.tasks - earlier.tasks),
    runSeconds: Math.max(0, later.runSeconds - earlier.runSeconds),
    cpuSeconds: minus(later.cpuSeconds, earlier.cpuSeconds),
    cpuWaitSeconds: minus(later.cpuWaitSeconds, earlier.cpuWaitSeconds),
    waitBuckets: later.waitBuckets.map(([le, n]) => [le, Math.max(0, n - (before.get(le) ?? 0))]),
    queueFull: Math.max(0, later.queueFull - earlier.queueFull),
  };
}

/**
 * The `q` quantile (0..1) of a cumulative histogram, in seconds, interpolated inside its bucket as
 * Prometheus' `histogram_quantile` does; 0 when the histogram is empty. A quantile in the `+Inf`
 * bucket reads as the highest finite bound.
 */
export function bucketQuantile(buckets: ReadonlyArray<[le: number, count: number]>, q: number): number {
  const total = buckets.length === 0 ? 0 : buckets[buckets.length - 1]![1];
  if (total <= 0) return 0;
  const rank = q * total;
  let lowerLe = 0;
  let lowerCount = 0;
  for (const [le, count] of buckets) {
    if (count >= rank && count > lowerCount) {
      if (le === Infinity) return lowerLe;
      return lowerLe + (le - lowerLe) * ((rank - lowerCount) / (count - lowerCount));
    }
    lowerLe = le;
    lowerCount = count;
  }
  return lowerLe;
}

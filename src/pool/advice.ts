// Pool sizing advice from what a pool measured: how much of its run time the handlers wanted a CPU
// says whether more threads than cores can help (they block on I/O) or only compete for the cores
// the event loop needs (they compute). The figures and the rule are printed beside the advice.
import { bucketQuantile, type PoolFigures } from './advice-figures.js';

/** What kind of load the figures show. */
export type LoadKind = 'io-bound' | 'cpu-bound' | 'idle' | 'unmeasured';

/** Advice for one pool. All thread and queue figures are per process. */
export interface PoolAdvice {
  /** The pool's name. */
  pool: string;
  /** What the figures show. */
  kind: LoadKind;
  /** maxThreads in force (per process), when known. */
  currentMaxThreads: number | undefined;
  /** The maxThreads to try (per process). */
  maxThreads: number | undefined;
  /** The maxQueue to try (per process), when there were tasks to go on. */
  maxQueue: number | undefined;
  /** True when the advice differs from what is in force. */
  change: boolean;
  /** One line: the figures, the advice and the rule used. */
  line: string;
}

/** Options of {@link advise}. */
export interface AdviseOptions {
  /**
   * Processes of the service sharing the machine's cores, each with its own pool; by default
   * `figures.processes` (the figures are a cluster's sum). A cluster worker advising from its own
   * figures gives the worker count here.
   */
  processesOnHost?: number;
}

/** A handler that wants a core for at least this share of its run time is CPU-bound. */
export const CPU_BOUND_SHARE = 0.5;
/** The most threads advice ever proposes per process. */
export const MAX_ADVISED_THREADS = 256;
/** The queue is sized to hold about this much work: a longer wait is better answered with a 503 and Retry-After. */
export const QUEUE_WORK_MS = 1000;

const pct = (x: number): string => `${x >= 0.1 ? Math.round(x * 100) : Math.round(x * 1000) / 10} %`;
const ms = (seconds: number): string => {
  const v = seconds * 1000;
  return `${v >= 10 ? Math.round(v) : Math.round(v * 10) / 10} ms`;
};

/**
 * Advice for one pool from its figures (a whole lifetime, or a window: see `figuresBetween`).
 *
 * The rule: `share` = (CPU time + time waiting for a core) ÷ run time, the part of its run time a
 * handler wanted a CPU. At `share` ≥ {@link CPU_BOUND_SHARE} the pool is CPU-bound: more threads
 * than the cores left beside the event loop only slow every request, so maxThreads = max(1,
 * cores − 1) (with N processes: max(1, ⌊(cores − N) / N⌋) each). Below, it is I/O-bound: the cores
 * left can carry (cores − 1) ÷ share such threads; when the pool is saturated (busy ≥ 80 %,
 * queue wait p50 ≥ 10 % of the mean run time, or queue-full refusals) it grows to that, but at most
 * ×4 or 2 × cores in one step and {@link MAX_ADVISED_THREADS}; otherwise it stays. maxQueue holds
 * what the advised threads finish in about {@link QUEUE_WORK_MS}.
 */
export function advise(f: PoolFigures, options: AdviseOptions = {}): PoolAdvice {
  const summedOver = Math.max(1, f.processes);
  const processes = Math.max(1, Math.floor(options.processesOnHost ?? summedOver));
  const current = f.maxThreads === undefined ? undefined : Math.max(1, Math.round(f.maxThreads / summedOver));
  const perProcess = processes > 1 ? ` per process (${processes} processes)` : '';
  const head = `pool ${f.name}: ${current ?? '?'} thread${current === 1 ? '' : 's'}${perProcess}`;
  const base = { pool: f.name, currentMaxThreads: current };
  if (f.tasks === 0 || f.runSeconds <= 0) {
    const when = f.seconds === undefined ? '' : ` in ${Math.round(f.seconds)} s`;
    const line = `${head}, no tasks ran${when} → nothing to go on: keep maxThreads ${current ?? 'as is'}`;
    return { ...base, kind: 'idle', maxThreads: current, maxQueue: undefined, change: false, line };
  }
  const meanRun = f.runSeconds / f.tasks;
  const waitP50 = bucketQuantile(f.waitBuckets, 0.5);
  const busy =
    f.seconds !== undefined && f.seconds > 0 && f.maxThreads !== undefined && f.maxThreads > 0
      ? f.runSeconds / (f.seconds * f.maxThreads)
      : undefined;
  const figures = [
    head,
    busy === undefined ? undefined : `busy ${pct(Math.min(1, busy))}`,
    f.cpuSeconds === undefined ? 'CPU not measured' : `CPU ${pct(f.cpuSeconds / f.runSeconds)} of run time`,
    f.cpuWaitSeconds === undefined ? undefined : `waiting for a core ${pct(f.cpuWaitSeconds / f.runSeconds)}`,
    `${f.tasks} tasks, mean run ${ms(meanRun)}`,
    `queue wait p50 ${ms(waitP50)}`,
    f.queueFull > 0 ? `${f.queueFull} refused (queue full)` : undefined,
  ]
    .filter((s) => s !== undefined)
    .join(', ');
  const cores = f.cores ?? 1;
  const coresLeft = Math.max(1, Math.floor((cores - processes) / processes));
  const queueRule = `maxQueue ≈ ${QUEUE_WORK_MS} ms of work`;
  const queueFor = (threads: number): number =>
    Math.min(10_000, Math.max(threads, Math.round((threads * QUEUE_WORK_MS) / 1000 / meanRun)));
  if (f.cpuSeconds === undefined) {
    const line =
      `${figures} → cannot tell I/O-bound from CPU-bound without CPU time (needs Linux /proc or Node ≥ 23.9): ` +
      `keep maxThreads ${current ?? 'as is'}`;
    return { ...base, kind: 'unmeasured', maxThreads: current, maxQueue: undefined, change: false, line };
  }
  const share = Math.min(1, (f.cpuSeconds + (f.cpuWaitSeconds ?? 0)) / f.runSeconds);
  const shareText = f.cpuWaitSeconds === undefined ? 'CPU ÷ run time' : '(CPU + waiting for a core) ÷ run time';
  if (share >= CPU_BOUND_SHARE) {
    const threads = coresLeft;
    const maxQueue = queueFor(threads);
    const formula =
      processes > 1
        ? `the cores left beside the event loops, max(1, ⌊(${cores} cores − ${processes}) / ${processes}⌋)`
        : `the cores left beside the event loop, max(1, ${cores} cores − 1)`;
    const rule = `${shareText} ≥ ${pct(CPU_BOUND_SHARE)}: at most ${formula}; ${queueRule}`;
    const line = `${figures} → CPU-bound: try maxThreads ${threads}, maxQueue ${maxQueue} (rule: ${rule})`;
    return { ...base, kind: 'cpu-bound', maxThreads: threads, maxQueue, change: threads !== current, line };
  }
  const now = current ?? 1;
  const carry = Math.min(MAX_ADVISED_THREADS, Math.floor(coresLeft / Math.max(share, 1 / MAX_ADVISED_THREADS)));
  const saturated = (busy !== undefined && busy >= 0.8) || waitP50 >= 0.1 * meanRun || f.queueFull > 0;
  const threads = saturated ? Math.max(now, Math.min(carry, Math.max(4 * now, 2 * cores))) : now;
  const maxQueue = queueFor(threads);
  const why = saturated ? 'saturated' : 'not saturated (busy < 80 %, little queue wait)';
  const cap = carry === MAX_ADVISED_THREADS ? ' (the cap)' : '';
  const rule =
    `${shareText} < ${pct(CPU_BOUND_SHARE)}; ${why}; ` +
    `the cores left carry ${coresLeft} ÷ ${pct(share)} = ${carry}${cap} threads, ` +
    `grow by ×4 or to 2 × ${cores} cores per step; ${queueRule}`;
  const advice = threads === now ? `keep maxThreads ${now}` : `try maxThreads ${threads}`;
  const line = `${figures} → I/O-bound: ${advice}, maxQueue ${maxQueue} (rule: ${rule})`;
  return { ...base, kind: 'io-bound', maxThreads: threads, maxQueue, change: threads !== current, line };
}

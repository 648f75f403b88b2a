// The CPU time of a pool's threads: each worker writes its own thread's figures into a small shared
// buffer now and then (never per request), and the main thread sums them at each snapshot.
//
// Node 20 has no per-thread CPU clock in JavaScript (process.threadCpuUsage arrived in v23.9). On
// Linux a thread reads its own /proc/thread-self/schedstat: nanoseconds on a CPU and nanoseconds
// spent runnable but waiting for a core. The second figure is what tells a handler that blocks (on
// I/O, a lock, a sleep) from one that wanted a CPU and could not get one on a loaded machine: both
// run longer than their CPU time, only the first would gain from more threads.
import { closeSync, openSync, readSync } from 'node:fs';

/** Where a thread's CPU figures came from (slot {@link SOURCE_SLOT}); `none` until the first sample. */
export const CpuSource = { none: 0, schedstat: 1, stat: 2, threadCpuUsage: 3, unavailable: -1 } as const;

/** The names {@link PoolCpuStats.source} reports, by {@link CpuSource} value. */
export type CpuSourceName = 'schedstat' | 'stat' | 'threadCpuUsage' | 'unavailable';

// Float64 slots of a thread's buffer: CPU ms, ms waiting for a core (NaN: not measurable), source.
const CPU_SLOT = 0;
const CPU_WAIT_SLOT = 1;
const SOURCE_SLOT = 2;

/** Bytes of one thread's buffer (see the slots above). */
export const THREAD_CPU_BYTES = 24;

/** A thread samples at most this often. */
export const MIN_SAMPLE_GAP_MS = 10;

/**
 * …and at most once per this many times what its last sample took, so sampling costs at most
 * 1/500 of the thread's time however slow the machine, or an instrumenting profiler, makes it. A
 * sample is one open/read/close of a /proc file: 12–16 µs of CPU on the 2-core dev box
 * (readFileSync: 30–45 µs), so the gap is the 10 ms floor there.
 */
export const SAMPLE_COST_FACTOR = 500;

/**
 * …but never further apart than this: a read slowed by a loaded machine (1 ms) would otherwise
 * leave half a second of a thread's CPU unsampled after its last batch, and the figures would call a
 * spinning pool I/O-bound.
 */
export const MAX_SAMPLE_GAP_MS = 50;

/** Clock ticks per second of /proc/…/stat times: USER_HZ, fixed at 100 on Linux user space. */
const USER_HZ = 100;

type ThreadCpuUsage = () => { user: number; system: number };

/** One raw reading, in ms since the thread started. */
interface Reading {
  cpuMs: number;
  cpuWaitMs: number;
  source: number;
}

// One buffer per thread (module state is per thread): no allocation per sample beyond the string.
const scratch = Buffer.alloc(1024);

/** The text of a small /proc file of this thread, read without readFileSync's fstat and buffers. */
function readProc(path: string): string {
  const fd = openSync(path, 'r');
  try {
    return scratch.toString('latin1', 0, readSync(fd, scratch, 0, scratch.length, 0));
  } finally {
    closeSync(fd);
  }
}

function readSchedstat(): Reading | undefined {
  try {
    // "<ns on cpu> <ns runnable, waiting for a cpu> <timeslices>"
    const [onCpu, waiting] = readProc('/proc/thread-self/schedstat').split(' ');
    const cpuMs = Number(onCpu) / 1e6;
    const cpuWaitMs = Number(waiting) / 1e6;
    if (!Number.isFinite(cpuMs) || !Number.isFinite(cpuWaitMs)) return undefined;
    return { cpuMs, cpuWaitMs, source: CpuSource.schedstat };
  } catch {
    return undefined;
  }
}

function readStat(): Reading | undefined {
  try {
    const text = readProc('/proc/thread-self/stat');
    // The command name may hold spaces and parentheses: fields are counted after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after "pid (comm)".
    const ticks = Number(fields[11]) + Number(fields[12]);
    if (!Number.isFinite(ticks)) return undefined;
    return { cpuMs: (ticks * 1000) / USER_HZ, cpuWaitMs: NaN, source: CpuSource.stat };
  } catch {
    return undefined;
  }
}

function read(): Reading {
  const threadCpuUsage = (process as { threadCpuUsage?: ThreadCpuUsage }).threadCpuUsage;
  if (typeof threadCpuUsage === 'function') {
    const usage = threadCpuUsage.call(process);
    // schedstat still adds the wait for a core where it exists.
    const waitMs = readSchedstat()?.cpuWaitMs ?? NaN;
    return { cpuMs: (usage.user + usage.system) / 1000, cpuWaitMs: waitMs, source: CpuSource.threadCpuUsage };
  }
  return readSchedstat() ?? readStat() ?? { cpuMs: 0, cpuWaitMs: NaN, source: CpuSource.unavailable };
}

/**
 * The worker side: this thread's figures since {@link ThreadCpuSampler} was made (thread start-up
 * before it, e.g. loading the worker's own code, is not the handlers' doing), written into
 * {@link buffer} for the main thread.
 */
export class ThreadCpuSampler {
  /** Shared with the main thread (sent once, in the worker's registration). */
  readonly buffer = new SharedArrayBuffer(THREAD_CPU_BYTES);
  readonly #slots = new Float64Array(this.buffer);
  readonly #base: Reading;
  #last = 0;
  #gap = MIN_SAMPLE_GAP_MS;

  constructor() {
    this.#base = read();
    this.#slots[SOURCE_SLOT] = this.#base.source;
    this.#slots[CPU_WAIT_SLOT] = Number.isNaN(this.#base.cpuWaitMs) ? NaN : 0;
  }

  /** How long after the last sample the next one may be taken, in ms (see {@link SAMPLE_COST_FACTOR}). */
  get gapMs(): number {
    return this.#gap;
  }

  /** Samples when the last sample is at least {@link gapMs} old; `nowMs` is any ms clock. */
  maybeSample(nowMs: number): void {
    if (nowMs - this.#last < this.#gap || this.#base.source === CpuSource.unavailable) return;
    this.#last = nowMs;
    const started = performance.now();
    const r = read();
    this.#gap = Math.min(
      MAX_SAMPLE_GAP_MS,
      Math.max(MIN_SAMPLE_GAP_MS, SAMPLE_COST_FACTOR * (performance.now() - started)),
    );
    this.#slots[CPU_SLOT] = Math.max(0, r.cpuMs - this.#base.cpuMs);
    this.#slots[CPU_WAIT_SLOT] = Number.isNaN(r.cpuWaitMs) ? NaN : Math.max(0, r.cpuWaitMs - this.#base.cpuWaitMs);
  }
}

/** The CPU figures of a pool's threads, in {@link PoolStats.cpu}. */
export interface PoolCpuStats {
  /** CPU time of the pool's threads (live and replaced ones) since each started, in ms. */
  cpuMs: number;
  /** Time the threads were ready to run but waited for a core, in ms; undefined where not measurable. */
  cpuWaitMs: number | undefined;
  /** How it was measured; `unavailable` when neither /proc nor process.threadCpuUsage exists. */
  source: CpuSourceName;
}

const SOURCE_NAMES: Record<number, CpuSourceName> = {
  [CpuSource.schedstat]: 'schedstat',
  [CpuSource.stat]: 'stat',
  [CpuSource.threadCpuUsage]: 'threadCpuUsage',
  [CpuSource.unavailable]: 'unavailable',
};

/**
 * The main side: the buffers of a pool's threads by thread id. A replaced thread's last figures are
 * kept, so the total only grows (a counter).
 */
export class PoolCpu {
  readonly #threads = new Map<number, Float64Array>();
  #retiredCpuMs = 0;
  #retiredWaitMs = 0;
  #source = CpuSource.none as number;

  /** A thread registered its buffer. */
  add(threadId: number, buffer: SharedArrayBuffer): void {
    this.#threads.set(threadId, new Float64Array(buffer));
  }

  /** A thread is gone: its figures so far stay in the total. */
  remove(threadId: number): void {
    const slots = this.#threads.get(threadId);
    if (slots === undefined) return;
    this.#threads.delete(threadId);
    this.#retiredCpuMs += slots[CPU_SLOT]!;
    const wait = slots[CPU_WAIT_SLOT]!;
    if (!Number.isNaN(wait)) this.#retiredWaitMs += wait;
    if (this.#source === CpuSource.none) this.#source = slots[SOURCE_SLOT]!;
  }

  /** The totals now; undefined while no thread has registered a buffer. */
  stats(): PoolCpuStats | undefined {
    let cpuMs = this.#retiredCpuMs;
    let cpuWaitMs = this.#retiredWaitMs;
    let waitKnown = true;
    let source = this.#source;
    for (const slots of this.#threads.values()) {
      cpuMs += slots[CPU_SLOT]!;
      const wait = slots[CPU_WAIT_SLOT]!;
      if (Number.isNaN(wait)) waitKnown = false;
      else cpuWaitMs += wait;
      if (source === CpuSource.none) source = slots[SOURCE_SLOT]!;
    }
    if (source === CpuSource.none) return undefined;
    const name = SOURCE_NAMES[source] ?? 'unavailable';
    if (name === 'unavailable') return { cpuMs: 0, cpuWaitMs: undefined, source: name };
    return { cpuMs, cpuWaitMs: waitKnown ? cpuWaitMs : undefined, source: name };
  }
}

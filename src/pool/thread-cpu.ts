// The CPU time of a pool's threads. On Linux each worker publishes its kernel thread id and its
// starting figures in a small shared buffer, and the main thread reads the thread's
// /proc/self/task/<tid>/schedstat only when a snapshot asks (a metrics scrape, the advice log): no
// thread pays anything per unit of time for figures nobody reads. Elsewhere (no /proc, or figures
// that only the thread itself can read) the worker writes its own figures now and then instead.
//
// Node 20 has no per-thread CPU clock in JavaScript (process.threadCpuUsage arrived in v23.9). On
// Linux a thread reads its own /proc/thread-self/schedstat: nanoseconds on a CPU and nanoseconds
// spent runnable but waiting for a core. The second figure is what tells a handler that blocks (on
// I/O, a lock, a sleep) from one that wanted a CPU and could not get one on a loaded machine: both
// run longer than their CPU time, only the first would gain from more threads.
import { closeSync, openSync, readSync, readlinkSync } from 'node:fs';

/** Where a thread's CPU figures came from (slot {@link SOURCE_SLOT}); `none` until the first sample. */
export const CpuSource = { none: 0, schedstat: 1, stat: 2, threadCpuUsage: 3, unavailable: -1 } as const;

/** The names {@link PoolCpuStats.source} reports, by {@link CpuSource} value. */
export type CpuSourceName = 'schedstat' | 'stat' | 'threadCpuUsage' | 'unavailable';

// Float64 slots of a thread's buffer: CPU ms, ms waiting for a core (NaN: not measurable), source,
// then the kernel thread id the main thread reads (0: it cannot, the worker samples itself) and the
// thread's schedstat figures when its sampler was made (what the main thread's readings start from).
const CPU_SLOT = 0;
const CPU_WAIT_SLOT = 1;
const SOURCE_SLOT = 2;
const TID_SLOT = 3;
const BASE_CPU_SLOT = 4;
const BASE_WAIT_SLOT = 5;

/** Bytes of one thread's buffer (see the slots above). */
export const THREAD_CPU_BYTES = 48;

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

function readSchedstat(path = '/proc/thread-self/schedstat'): Reading | undefined {
  try {
    // "<ns on cpu> <ns runnable, waiting for a cpu> <timeslices>"
    const [onCpu, waiting] = readProc(path).split(' ');
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

// This thread's kernel id ("<pid>/task/<tid>"), 0 where /proc/thread-self does not exist.
function kernelThreadId(): number {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/')[2]);
    return Number.isInteger(tid) && tid > 0 ? tid : 0;
  } catch {
    return 0;
  }
}

/**
 * The worker side: this thread's figures since {@link ThreadCpuSampler} was made (thread start-up
 * before it, e.g. loading the worker's own code, is not the handlers' doing), for the main thread.
 * Where the main thread can read them itself ({@link readByPool}), the worker only writes them when
 * it goes idle (its figures then outlive it, should the thread be retired); elsewhere it writes them
 * at most every {@link gapMs}.
 */
export class ThreadCpuSampler {
  /** Shared with the main thread (sent once, in the worker's registration). */
  readonly buffer = new SharedArrayBuffer(THREAD_CPU_BYTES);
  /** The main thread reads this thread's figures from /proc when it needs them. */
  readonly readByPool: boolean;
  readonly #slots = new Float64Array(this.buffer);
  readonly #base: Reading;
  // Both always hold clock readings or fractions of a ms: born as a heap number (-0), their layout never
  // changes. Born a small integer, the first sample (with readByPool, only when a session ends, a rare
  // path) changed it, and every function that had checked the sampler's old layout was deoptimized.
  #last = -0;
  #gap = -0;

  /** @param publish let the main thread read this thread's figures (false: this thread samples itself). */
  constructor(publish = true) {
    this.#base = read();
    this.#slots[SOURCE_SLOT] = this.#base.source;
    this.#slots[CPU_WAIT_SLOT] = Number.isNaN(this.#base.cpuWaitMs) ? NaN : 0;
    // The main thread reads schedstat: only figures that came from it share its starting point.
    const tid = publish && this.#base.source === CpuSource.schedstat ? kernelThreadId() : 0;
    this.readByPool = tid !== 0;
    this.#slots[BASE_CPU_SLOT] = this.#base.cpuMs;
    this.#slots[BASE_WAIT_SLOT] = this.#base.cpuWaitMs;
    this.#slots[TID_SLOT] = tid;
    this.#gap = MIN_SAMPLE_GAP_MS;
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

  /**
   * Reads the thread's figures from /proc into its buffer, where it published its kernel id: before
   * the thread is terminated, so what it used since the last snapshot stays in the total.
   */
  refresh(threadId: number): void {
    const slots = this.#threads.get(threadId);
    if (slots !== undefined) readLive(slots);
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
      readLive(slots);
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

// A thread that published its kernel id: its figures now, read from /proc by this (main) thread.
// Figures only grow: a reading that fails (the thread just ended) leaves the last ones.
function readLive(slots: Float64Array): void {
  const tid = slots[TID_SLOT] ?? 0;
  if (tid === 0) return;
  const r = readSchedstat(`/proc/self/task/${tid}/schedstat`);
  if (r === undefined) return;
  slots[CPU_SLOT] = Math.max(slots[CPU_SLOT]!, r.cpuMs - slots[BASE_CPU_SLOT]!);
  slots[CPU_WAIT_SLOT] = Math.max(slots[CPU_WAIT_SLOT]!, r.cpuWaitMs - slots[BASE_WAIT_SLOT]!);
}

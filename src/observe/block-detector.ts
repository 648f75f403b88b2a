// The blocking detector: the main thread bumps a heartbeat in shared memory from an unref'd timer, a
// watchdog thread notices when it stops, and the main thread's stack and current request name the
// culprit. Nothing runs per request beyond the host's one store into `currentRequest`.
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { albanyError } from '../errors.js';
import type { Logger } from '../server/options.js';
import { blockMetrics } from './block-metrics.js';
import { formatBlockReport, routeLabel, type BlockSighting } from './block-report.js';
import { currentRequest } from './current-request.js';
import { parseStack, userFrames } from './stack-frames.js';
import { BLOCKING_GLOBAL, watchdogSource, type WatchdogData, type WatchdogReport } from './watchdog-source.js';

/** The default `--block-threshold` in milliseconds. */
export const DEFAULT_BLOCK_THRESHOLD_MS = 100;

/** Folders whose frames are albany's, not the user's: the host and adapters call the app from there. */
const OWN_ROOTS = ['../', '../../legacy-adapter/', '../../workers/'].map((rel) =>
  fileURLToPath(new URL(rel, import.meta.url)),
);

/** What the main thread noted when the watchdog interrupted it. */
interface Pending {
  id: number;
  sighting: BlockSighting;
  /** The watchdog wrote the line itself (the loop stayed blocked): the main thread only counts it. */
  written: boolean;
}

/** The hooks the watchdog calls on the main thread, mid-block: pure computation, no I/O. */
interface BlockingHooks {
  capture(id: number, sinceMs: number): boolean;
  lineNow(id: number, sinceMs: number): string | undefined;
}

/** One running detector (one per process: there is one main event loop). */
class BlockDetector {
  readonly thresholdMs: number;
  readonly #logger: Logger;
  readonly #beats: Int32Array;
  readonly #lastAt: Float64Array;
  readonly #timer: NodeJS.Timeout;
  readonly #worker: Worker;
  #pending: Pending | undefined;

  constructor(thresholdMs: number, logger: Logger, clockScale: number) {
    this.thresholdMs = Math.round(thresholdMs * clockScale);
    this.#logger = logger;
    const heartbeat = new SharedArrayBuffer(16);
    this.#beats = new Int32Array(heartbeat, 0, 1);
    this.#lastAt = new Float64Array(heartbeat, 8, 1);
    this.#lastAt[0] = Date.now();
    // The heartbeat only has to come well inside the threshold (a gap of one interval is normal):
    // every wake-up of an idle loop costs CPU (on a loaded 2-core VM ~100 µs, bench/detector-idle.ts).
    // The watchdog sleeps in a futex wait until the last beat + threshold (watchdog-source.ts), so a
    // block is caught when the loop has not turned for the threshold; intervalMs paces its looks
    // only while a caught block lasts.
    // Every period is stretched alike by clockScale (1 but under an emulator: acquireBlockDetector).
    const beatMs = Math.round(clockScale * Math.max(5, Math.min(500, Math.floor(thresholdMs / 2))));
    const intervalMs = Math.round(clockScale * Math.max(5, Math.min(250, Math.floor(thresholdMs / 4))));
    this.#timer = setInterval(() => this.#beat(), beatMs);
    this.#timer.unref();
    const hooks: BlockingHooks = {
      capture: (id, since) => this.#capture(id, since),
      lineNow: (id, since) => this.#lineNow(id, since),
    };
    (globalThis as Record<symbol, unknown>)[Symbol.for(BLOCKING_GLOBAL)] = hooks;
    const fallbackMs = Math.round(clockScale * Math.max(1000, 10 * thresholdMs));
    const workerData: WatchdogData = { heartbeat, thresholdMs: this.thresholdMs, intervalMs, fallbackMs };
    // No execArgv: the watchdog needs neither tsx nor the app's loaders. stdout/stderr: true keeps node
    // from piping the thread's (unused: it writes with writeSync(2)) stdio into the main thread's
    // process.stdout/stderr, which would create those streams and their pipe listeners there.
    this.#worker = new Worker(watchdogSource(), {
      eval: true,
      workerData,
      execArgv: [],
      name: 'albany-watchdog',
      stdout: true,
      stderr: true,
    });
    this.#worker.unref();
    this.#worker.on('message', (report: WatchdogReport) => this.#report(report));
    this.#worker.on('error', (error) => logger.warn(`blocking detector stopped: ${error.message}`));
  }

  /** Runs on every turn of the loop the timer gets: the heartbeat, and the histogram of long gaps. */
  #beat(): void {
    const now = Date.now();
    const gap = now - this.#lastAt[0]!;
    this.#lastAt[0] = now;
    Atomics.add(this.#beats, 0, 1);
    if (gap >= this.thresholdMs) blockMetrics.observe(gap);
  }

  /** Called by the watchdog while the loop is blocked: notes the stack and the request, nothing more. */
  #capture(id: number, sinceMs: number): boolean {
    const limit = Error.stackTraceLimit;
    const holder: { stack?: string } = {};
    try {
      Error.stackTraceLimit = 64;
      Error.captureStackTrace(holder);
    } finally {
      Error.stackTraceLimit = limit;
    }
    const frames = userFrames(parseStack(holder.stack ?? ''), OWN_ROOTS);
    this.#pending = {
      id,
      written: false,
      sighting: {
        blockedMs: sinceMs,
        detectedAfterMs: sinceMs,
        caughtAt: Date.now(),
        thresholdMs: this.thresholdMs,
        stillBlocked: true,
        request: currentRequest.head,
        frames,
      },
    };
    return true;
  }

  /** Called by the watchdog when the loop stays blocked: the line it writes itself. */
  #lineNow(id: number, sinceMs: number): string | undefined {
    const pending = this.#pending;
    if (pending === undefined || pending.id !== id) return undefined;
    pending.written = true;
    return formatBlockReport({ ...pending.sighting, blockedMs: sinceMs, stillBlocked: true }, process.cwd());
  }

  /** The loop turns again: log the block with its whole length, count it against its route. */
  #report(report: WatchdogReport): void {
    const pending = this.#pending;
    this.#pending = undefined;
    const blockedMs = Date.now() - report.lastBeatAt;
    const sighting: BlockSighting =
      pending !== undefined && pending.id === report.id && report.captured
        ? { ...pending.sighting, blockedMs, stillBlocked: false }
        : {
            blockedMs,
            detectedAfterMs: report.detectedAfterMs,
            thresholdMs: this.thresholdMs,
            stillBlocked: false,
            request: currentRequest.head,
            frames: [],
            stackMissing:
              'the main thread did not answer in time: it sat in native code (a synchronous fs, zlib or ' +
              'crypto call, or an addon)',
          };
    lastSighting = sighting;
    blockMetrics.countRoute(routeLabel(sighting.request));
    if (pending?.written === true) return;
    // Neither a request nor a frame of the user's code (module loading at start-up, a long GC): nothing
    // the user can move, so only a debug line; the metrics still count it.
    const actionable =
      sighting.request !== undefined || sighting.frames.length > 0 || sighting.stackMissing !== undefined;
    (actionable ? this.#logger.warn : this.#logger.debug).call(
      this.#logger,
      formatBlockReport(sighting, process.cwd()),
    );
  }

  stop(): void {
    clearInterval(this.#timer);
    void this.#worker.terminate();
    delete (globalThis as Record<symbol, unknown>)[Symbol.for(BLOCKING_GLOBAL)];
  }
}

let running: BlockDetector | undefined;
let users = 0;
let lastSighting: BlockSighting | undefined;

/** The last block this process reported (its line already logged), for tests and health endpoints. */
export function lastBlockSighting(): Readonly<BlockSighting> | undefined {
  return lastSighting;
}

/** The largest {@link acquireBlockDetector} `clockScale`: valgrind runs code ~50-500x slower. */
const MAX_CLOCK_SCALE = 10_000;

/**
 * Starts the process's blocking detector (or joins the running one) and returns its release: the
 * detector stops when its last user releases it. `thresholdMs` 0 turns it off (the release does
 * nothing). A second user with another threshold shares the first one's detector; its logger too.
 *
 * `clockScale` (1 in production) stretches every period of the detector alike (threshold, heartbeat,
 * watchdog looks, fallback) for a process run under an emulator such as valgrind, whose code runs
 * that many times slower against the wall clock: the detector then sees loop turns as long, against
 * its periods, and ticks as often per request, as natively (bench/instructions.ts measures its cost so).
 *
 * @throws AlbanyError `ERR_ALBANY_INVALID_CONFIG` for a threshold that is not a non-negative integer
 * or a clockScale outside 1 to 10000.
 */
export function acquireBlockDetector(thresholdMs: number, logger: Logger, clockScale = 1): () => void {
  if (!Number.isInteger(thresholdMs) || thresholdMs < 0) {
    throw albanyError(
      'ERR_ALBANY_INVALID_CONFIG',
      `blockThresholdMs must be a non-negative integer of milliseconds (0 turns the detector off), got ` +
        `${String(thresholdMs)}`,
    );
  }
  if (!Number.isFinite(clockScale) || clockScale < 1 || clockScale > MAX_CLOCK_SCALE) {
    throw albanyError(
      'ERR_ALBANY_INVALID_CONFIG',
      `the blocking detector's clockScale must be a number from 1 to ${MAX_CLOCK_SCALE} (1 outside an ` +
        `emulator), got ${String(clockScale)}`,
    );
  }
  if (thresholdMs === 0) return () => {};
  running ??= new BlockDetector(thresholdMs, logger, clockScale);
  users++;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--users === 0) {
      running?.stop();
      running = undefined;
    }
  };
}

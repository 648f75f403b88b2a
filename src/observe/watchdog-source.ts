// The watchdog thread's code, run with `new Worker(source, { eval: true })`: plain CommonJS with no
// imports of albany or tsx, so the thread starts in milliseconds and loads none of the app's hooks.

/** The detector's key on the main thread's globalThis (what the watchdog evaluates there). */
export const BLOCKING_GLOBAL = 'albany.blocking';

/** What the watchdog posts when it catches the loop blocked. */
export interface WatchdogReport {
  /** Episode number (one per block). */
  id: number;
  /** `Date.now()` of the loop's last turn before the block. */
  lastBeatAt: number;
  /** Milliseconds from that turn to the moment the watchdog caught the block. */
  detectedAfterMs: number;
  /** Whether the main thread answered the stack capture. */
  captured: boolean;
}

/** Data the watchdog thread starts with. */
export interface WatchdogData {
  /** Int32 beat counter at byte 0, Float64 `Date.now()` of the last beat at byte 8. */
  heartbeat: SharedArrayBuffer;
  thresholdMs: number;
  /** The pace of the watchdog's looks while a caught block lasts (idle, it sleeps to the next deadline). */
  intervalMs: number;
  /** A block still running this long after its last turn is written to stderr by the watchdog itself. */
  fallbackMs: number;
}

/**
 * The watchdog: it sleeps until the heartbeat's deadline and reads it; once the loop has not turned for
 * `thresholdMs` it asks the main thread, through the inspector (`Runtime.evaluate` interrupts even
 * a busy loop or an `Atomics.wait`), to note its stack and current request, and posts a report the
 * main thread logs when its loop turns again. A loop that never turns again within `fallbackMs`
 * gets its line written here, straight to fd 2.
 */
export function watchdogSource(): string {
  return `
'use strict';
const { workerData, parentPort } = require('node:worker_threads');
const { Session } = require('node:inspector');
const { writeSync } = require('node:fs');
const { heartbeat, thresholdMs, intervalMs, fallbackMs } = workerData;
const beats = new Int32Array(heartbeat, 0, 1);
const lastAt = new Float64Array(heartbeat, 8, 1);
const slot = 'globalThis[Symbol.for(${JSON.stringify(BLOCKING_GLOBAL)})]';
// A session only for the moment of a block: a connected session would make node wait for it to
// disconnect at exit ("Waiting for the debugger to disconnect...").
function evaluate(expression, timeoutMs) {
  const session = new Session();
  session.connectToMainThread();
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), timeoutMs);
    session.post('Runtime.evaluate', { expression, returnByValue: true, silent: true }, (err, r) => {
      clearTimeout(timer);
      resolve(err || r.exceptionDetails ? undefined : r.result.value);
    });
  }).finally(() => session.disconnect());
}
let seen = Atomics.load(beats, 0);
let episode = 0;
let caught = false;
let fellBack = false;
// Sleeps in Atomics.wait between looks (a futex wait: no timer, no event loop turn per look) and
// leaves the loop only to talk to the inspector, whose answers need this thread's event loop.
// The loop cannot count as blocked before its last turn + thresholdMs, so a look sleeps until then
// rather than polling: an idle process's watchdog wakes about once per beat, not four times a
// threshold, and a block is caught the moment it reaches the threshold. Beats notify nobody (that
// would put a syscall on every turn of the main loop); a new beat is read at the next look.
// Once a block is caught, looks come every intervalMs, to see the loop turn again soon enough to
// catch the next block on time.
function watch() {
  let sleepMs = 0;
  for (;;) {
    if (sleepMs > 0) Atomics.wait(beats, 0, seen, sleepMs);
    const beat = Atomics.load(beats, 0);
    if (beat !== seen) { seen = beat; caught = false; fellBack = false; }
    const lastBeatAt = lastAt[0];
    const since = Date.now() - lastBeatAt;
    // Bounded by thresholdMs too: a wall clock set back would otherwise make one sleep that long.
    sleepMs = caught ? intervalMs : Math.min(thresholdMs, Math.max(1, thresholdMs - since));
    if (!caught && since >= thresholdMs) {
      caught = true;
      const id = ++episode;
      // Generous: a loaded machine can take a while to deliver the interrupt, and the report is only
      // logged when the loop turns anyway. Only a thread stuck in native code never answers.
      evaluate(slot + '?.capture(' + id + ',' + since + ')', Math.max(thresholdMs, 1000)).then((captured) => {
        parentPort.postMessage({ id, lastBeatAt, detectedAfterMs: since, captured: captured === true });
        watch();
      });
      return;
    }
    if (caught && !fellBack && since >= fallbackMs) {
      fellBack = true;
      evaluate(slot + '?.lineNow(' + episode + ',' + since + ')', 1000).then((line) => {
        writeSync(2, 'warn: ' + (typeof line === 'string' ? line : 'event loop has been blocked for ' + since + ' ms and still is (the main thread does not answer: it sits in native code)') + '\\n');
        watch();
      });
      return;
    }
  }
}
// The first look after the thread's own start-up.
setImmediate(watch);
`;
}

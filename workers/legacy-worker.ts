// The piscina worker entry for legacy handlers. One piscina task is a batch of requests, run one
// after the other on this thread; a handler that answers in one piece and needs no event loop runs
// without a single await, and its response leaves in the task's return value.
import { MessageChannel, parentPort, threadId } from 'node:worker_threads';
import { albanyError, hasCode } from '../src/errors.js';
import { createSignal } from '../src/sync/channel.js';
import { serializeError } from '../src/errors-wire.js';
import {
  DONE_INDEX,
  RESULTS_END_INDEX,
  RING_BYTES,
  RING_COUNT,
  RING_SLOTS,
  RING_STATE,
  RingState,
  ringStateOf,
  ringWord,
  THREAD_INDEX,
  TaskState,
  batchBytes,
  decodeBatch,
  decodeRing,
  goneIndex,
  now,
  recordArea,
  resultsOffset,
  sameHeaders,
  startedAtIndex,
  stateIndex,
  writeResultRecord,
  type BatchItem,
  type LegacyBatch,
  type LegacyRequest,
  type MountSpec,
  type RecordArea,
  type RegisterMessage,
  type TaskResult,
} from '../src/pool/protocol.js';
import { WorkerLink, type WorkerChannelEnd } from '../legacy-adapter/worker/link.js';
import { BodyInput } from '../legacy-adapter/worker/input.js';
import { ResponseOutput, runWsgi, type ResponseHead, type WsgiHandler } from '../legacy-adapter/worker/response.js';
import { runNodeStyle } from '../legacy-adapter/worker/node-style.js';
import type { NodeHandler } from '../src/interop/node-exchange.js';
import { plainRequest, writePlainResponse } from '../legacy-adapter/worker/plain-style.js';
import { cachedHandler, loadHandler, type LoadedHandler } from '../legacy-adapter/worker/load-handler.js';
import { installServiceBridge } from '../legacy-adapter/worker/service-bridge.js';
import { wsgiEnviron } from '../legacy-adapter/worker/wsgi-style.js';
import { postOffloadResult, runOffloadCall } from './offload-call.js';
import { enterTask, leaveTask } from '../src/context/worker-task.js';
import type { WireContext } from '../src/context/request-context.js';
import type { Headers } from '../src/gateway/types.js';
import { ThreadCpuSampler } from '../src/pool/thread-cpu.js';
import { timerChanges, watchTimers } from '../legacy-adapter/worker/timer-watch.js';

// Before any handler module loads, so every timer a handler makes through the public functions is seen.
watchTimers();

// This thread's CPU time for the pool's figures (pool/thread-cpu.ts): read by the main thread when it
// needs them on Linux; elsewhere sampled at the end of a batch now and then.
const cpu = new ThreadCpuSampler();

// This thread's request ring and the batch buffer of the batches that come through it (see RingState).
const ringBuffer = new SharedArrayBuffer(RING_BYTES);
const ring = new Int32Array(ringBuffer);
const ringArea = recordArea(ringBuffer);
const ringBatch = new SharedArrayBuffer(batchBytes(RING_SLOTS));

// This thread's persistent channel, opened once: streaming, body pulls, acks and runSync travel on it.
const channel: WorkerChannelEnd = (() => {
  const { port1, port2 } = new MessageChannel();
  const signal = new SharedArrayBuffer(4);
  const register: RegisterMessage = {
    albanyLegacyRegister: true,
    threadId,
    port: port2,
    signal,
    cpu: cpu.buffer,
    ring: ringBuffer,
    ringBatch,
  };
  parentPort?.postMessage(register, [port2]);
  return { port: port1, signal: createSignal(signal) };
})();

/** Once a batch has run this long, finished responses leave on the port instead of waiting for the batch. */
const FLUSH_AFTER_MS = 1;

interface BatchRun {
  items: BatchItem[];
  n: number;
  state: Int32Array;
  times: Float64Array;
  /** Results that did not go into a record, until they leave on the port. */
  results: Array<TaskResult | null>;
  /** How many of `results` are held. */
  held: number;
  begun: number;
  /** Per request, its request context (undefined: context is off for the whole batch). */
  contexts: Array<WireContext | undefined> | undefined;
  /** The batch's buffer, where finished responses are written as records (see writeResultRecord). */
  area: RecordArea;
  /** Where the next record goes. */
  end: number;
  /** The headers of the last record written (the next one may say "the same"). */
  lastHeaders: Headers | undefined;
}

type Tail = { start: ResponseHead | undefined; body: Uint8Array };

/**
 * Runs a batch of legacy requests, then (when the batch asks to linger) every batch the main thread
 * puts in this thread's ring until none comes in time. Each batch ends with its DONE word (results
 * are in its buffer or were posted on the port); the task itself returns nothing. Never rejects for
 * handler faults (they come back in the results).
 */
export default function runLegacyBatch(batch: LegacyBatch): undefined | Promise<undefined> {
  const items = decodeBatch(batch);
  const session: Session = {
    mounts: batch.mounts,
    linger: batch.linger ?? 0,
    id: batch.session ?? 0,
    last: lastRequest(items, undefined),
    turnAt: now() + LOOP_TURN_MS,
  };
  return runSession(session, newRun(batch.shared, items, batch.contexts));
}

/** What a worker's stay in one piscina task keeps from batch to batch. */
interface Session {
  /** The mounts of the batch that began it: ring batches name theirs by index. */
  mounts: MountSpec[];
  linger: number;
  /** Its number in the ring's state word. */
  id: number;
  /** The last request decoded: the next ring batch leaves out what repeats it. */
  last: LegacyRequest | undefined;
  /** When the thread's event loop is due a turn (see LOOP_TURN_MS). */
  turnAt: number;
}

/**
 * Under steady load a session goes from batch to batch without returning to its event loop, so
 * what a handler module runs in the background (an interval that sweeps a cache or flushes a log,
 * microtasks its handlers queued) would wait for the load to stop. This often it gets a turn
 * anyway: one timers phase between two batches (a millisecond idle, a fraction of a percent).
 * piscina's own parking has the same starvation and no such turn.
 */
const LOOP_TURN_MS = 200;

function newRun(shared: SharedArrayBuffer, items: BatchItem[], contexts: LegacyBatch['contexts']): BatchRun {
  const n = items.length;
  const state = new Int32Array(shared);
  Atomics.store(state, THREAD_INDEX, threadId);
  knownTimers = undefined;
  return {
    items,
    n,
    state,
    times: new Float64Array(shared),
    results: new Array<TaskResult | null>(n).fill(null),
    held: 0,
    begun: now(),
    contexts,
    area: recordArea(shared),
    end: resultsOffset(n),
    lastHeaders: undefined,
  };
}

function runSession(session: Session, first: BatchRun): undefined | Promise<undefined> {
  for (let run: BatchRun | undefined = first; run !== undefined; run = next(session)) {
    const out = runFrom(run, 0);
    if (out !== undefined) return continueSession(session, run, out);
    batchEnd(run, session);
    if (dueTurn(session, run)) return continueSession(session, undefined, loopTurn(session));
  }
  sessionEnd();
  return undefined;
}

// A batch went async (a handler needs the event loop), or the loop is due a turn: the session goes
// on in one async loop, so a long session of such batches does not build a chain of promises.
// `run` is the batch `out` finishes (undefined: `out` is a turn of the loop, between batches).
async function continueSession(
  session: Session,
  run: BatchRun | undefined,
  out: Promise<undefined>,
): Promise<undefined> {
  let current = run;
  let pending: Promise<undefined> | undefined = out;
  for (;;) {
    if (pending !== undefined) await pending;
    if (current !== undefined) {
      batchEnd(current, session);
      if (dueTurn(session, current)) await loopTurn(session);
    }
    current = next(session);
    if (current === undefined) break;
    pending = runFrom(current, 0);
  }
  sessionEnd();
  return undefined;
}

// Only a session that waits for more batches needs it: one that ends returns to piscina anyway. The
// batch's start time is the clock reading (no read of its own).
function dueTurn(session: Session, run: BatchRun): boolean {
  return session.linger > 0 && run.begun >= session.turnAt;
}

// One timers phase (setImmediate could run before it) and the microtasks before it. The ring may
// be handed a batch meanwhile: it waits there until next() looks.
function loopTurn(session: Session): Promise<undefined> {
  return new Promise((resolve) =>
    setTimeout(() => {
      session.turnAt = now() + LOOP_TURN_MS;
      resolve(undefined);
    }, 0),
  );
}

// The thread goes back to piscina (which may retire it when idle): its CPU figures so far are
// written for the main thread, which cannot read a thread that is gone.
function sessionEnd(): void {
  if (cpu.readByPool) cpu.maybeSample(now());
}

// What did not fit in a record leaves on the port, then the batch is marked done for the main thread.
// A worker that lingers is idle in its ring before that: the main thread may hand it the next batch
// as soon as it sees the end (the ring was copied out when the batch began).
function batchEnd(run: BatchRun, session: Session): void {
  flushResults(run, run.n);
  if (!cpu.readByPool) cpu.maybeSample(now());
  if (session.linger > 0) Atomics.store(ring, RING_STATE, ringWord(session.id, RingState.idle));
  Atomics.store(run.state, DONE_INDEX, 1);
  Atomics.notify(run.state, DONE_INDEX);
}

/**
 * A timed wait that ends this much later than asked did not measure idleness (see {@link next}).
 * Under valgrind, whose threads take turns, the wait of both workers ran out at the start of the
 * counted window (woken 110 ms late, and more) and every batch after it paid a piscina task and the
 * code it had not run for long. Waiting one more linger costs nothing: the thread sleeps in a futex.
 */
const LATE_WAKE_MS = 20;

/**
 * Waits in the ring for the next batch, up to the session's linger (time this thread could have been
 * woken: a wait whose own wake came late starts over); undefined when none came (or the
 * main thread sent this thread away): the task returns and the thread is piscina's again.
 */
function next(session: Session): BatchRun | undefined {
  if (session.linger <= 0) return undefined;
  const idle = ringWord(session.id, RingState.idle);
  const timeout = session.linger;
  for (;;) {
    const from = now();
    const outcome = Atomics.wait(ring, RING_STATE, idle, timeout);
    const word = Atomics.load(ring, RING_STATE);
    if (word === idle) {
      if (outcome !== 'timed-out') continue;
      // Woken well past its deadline, this thread could not run for a while, nor could the process
      // as a whole most likely (stopped, starved of CPU, under valgrind): the main thread had no
      // chance to hand it a batch either, so the wait starts over instead of ending a session that
      // a next batch would have to begin again as a piscina task.
      if (now() - from > timeout + LATE_WAKE_MS) continue;
      if (Atomics.compareExchange(ring, RING_STATE, idle, ringWord(session.id, RingState.gone)) === idle)
        return undefined;
      continue;
    }
    const state = ringStateOf(word);
    if (state === RingState.claimed) {
      // The main thread is writing the batch: a few microseconds.
      Atomics.wait(ring, RING_STATE, word, 10);
      continue;
    }
    if (state === RingState.ready) {
      Atomics.store(ring, RING_STATE, ringWord(session.id, RingState.busy));
      const items = decodeRing(ringArea, Atomics.load(ring, RING_COUNT), session.mounts, session.last);
      session.last = lastRequest(items, session.last);
      return newRun(ringBatch, items, undefined);
    }
    // Sent away (gone).
    return undefined;
  }
}

// The last request of a batch that is not an offload call (the one the next ring batch is encoded against).
function lastRequest(items: BatchItem[], before: LegacyRequest | undefined): LegacyRequest | undefined {
  for (let i = items.length - 1; i >= 0; i--) if (items[i]!.call === undefined) return items[i]!.request;
  return before;
}

function runFrom(run: BatchRun, from: number): undefined | Promise<undefined> {
  for (let i = from; i < run.n; i++) {
    if (run.held > 0 && now() - run.begun > FLUSH_AFTER_MS) flushResults(run, i);
    // The main thread may have cancelled it (client gone while it waited): then it never runs.
    if (Atomics.compareExchange(run.state, stateIndex(i), TaskState.queued, TaskState.running) !== TaskState.queued)
      continue;
    // The request's context for context() and runSync (src/context), when the task brought one.
    const contexts = run.contexts;
    if (contexts !== undefined) enterTask(contexts[i]);
    const out = runItem(run, i);
    if (isPromise(out)) {
      // This one needs the event loop (or a first import): what is done so far leaves now.
      flushResults(run, i);
      const index = i;
      return out.then((result) => {
        if (contexts !== undefined) leaveTask();
        knownTimers = undefined;
        finish(run, index, result);
        return runFrom(run, index + 1);
      });
    }
    if (contexts !== undefined) leaveTask();
    finish(run, i, out);
  }
  return undefined;
}

function finish(run: BatchRun, i: number, result: TaskResult): void {
  const item = run.items[i]!;
  if (item.call !== undefined) {
    // An offload() result leaves on the port now (see workers/offload-call.ts), never in the batch result.
    Atomics.store(run.state, stateIndex(i), TaskState.finished);
    postOffloadResult(channel, item.id, result);
    return;
  }
  // A response that fits goes into the batch's buffer, where the main thread takes it without a
  // message; a failure, or a large one, travels on the port (see flushResults).
  const fits = result.error === undefined && !result.aborted;
  const next = fits ? writeResultRecord(run.area, run.end, run.area.bytes.byteLength, i, result, run.lastHeaders) : -1;
  // A copy of what was written: a handler may change its header list after it answered.
  const written = next === -1 ? undefined : result.start?.headers;
  if (written !== undefined && (run.lastHeaders === undefined || !sameHeaders(written, run.lastHeaders)))
    run.lastHeaders = copyHeaders(written);
  // Finished before the record counts: the pool's look never takes the last record of a batch
  // whose thread is done with it (that one settles with the batch's end, its thread free again).
  Atomics.store(run.state, stateIndex(i), TaskState.finished);
  if (next === -1) {
    run.results[i] = result;
    run.held++;
  } else {
    run.end = next;
    Atomics.store(run.state, RESULTS_END_INDEX, next);
  }
}

// Pushed one by one, the copy is the same kind of array whichever tier runs this: `written.map()`
// made a holey array in optimized code and a packed one in the interpreter, and after each new
// session (this code deoptimized) writeResultRecord and sameHeaders met the other kind and deoptimized.
function copyHeaders(headers: Headers): Headers {
  const copy: Headers = [];
  for (let h = 0; h < headers.length; h++) copy.push([headers[h]![0], headers[h]![1]]);
  return copy;
}

function flushResults(run: BatchRun, upTo: number): void {
  // Nearly always none: every small response went into a record.
  if (run.held === 0) return;
  for (let j = 0; j < upTo; j++) {
    const result = run.results[j];
    if (result == null) continue;
    channel.port.postMessage({ type: 'legacy.result', id: run.items[j]!.id, result });
    run.results[j] = null;
    run.held--;
  }
}

let lastMount: MountSpec | undefined;
let lastLoaded: LoadedHandler | undefined;

function runItem(run: BatchRun, i: number): TaskResult | Promise<TaskResult> {
  const item = run.items[i]!;
  if (item.call !== undefined) {
    // An offload() call: a module export with cloned arguments; runSync inside it reaches the main thread too.
    knownTimers = undefined;
    const link = new WorkerLink(channel, item.id, run.state, goneIndex(i), 0, 0);
    return runOffloadCall(
      item.call,
      () => (run.times[startedAtIndex(run.n, i)] = now()),
      () => installServiceBridge(link),
    );
  }
  const mount = item.mount;
  let loaded = mount === lastMount ? lastLoaded : undefined;
  if (loaded === undefined) {
    loaded = cachedHandler(mount.moduleUrl, mount.exportName, mount.style);
    if (loaded === undefined) {
      return loadHandler(mount.moduleUrl, mount.exportName, mount.style).then(
        (l) => {
          // The timeout clock starts here: a slow first import (tsx compiling the module) is not the handler's fault.
          run.times[startedAtIndex(run.n, i)] = now();
          knownTimers = undefined;
          return runLoaded(run, i, l);
        },
        (err: unknown) => failure(err, true, now()),
      );
    }
    lastMount = mount;
    lastLoaded = loaded;
  }
  run.times[startedAtIndex(run.n, i)] = now();
  return runLoaded(run, i, loaded);
}

function runLoaded(run: BatchRun, i: number, loaded: LoadedHandler): TaskResult | Promise<TaskResult> {
  const item = run.items[i]!;
  const startedAt = run.times[startedAtIndex(run.n, i)]!;
  const link = new WorkerLink(channel, item.id, run.state, goneIndex(i), item.mount.ackBytes, item.mount.ackMessages);
  const uninstall = installServiceBridge(link);
  const timersBefore = knownTimers ?? countTimers();
  knownTimers = undefined;
  const changesBefore = timerChanges();
  let tail: Tail | Promise<Tail>;
  try {
    tail = callHandler(loaded, item, link);
  } catch (err) {
    uninstall();
    return failed(link, err, startedAt);
  }
  const sync = !isPromise(tail);
  const done = (t: Tail): TaskResult | Promise<TaskResult> => {
    const result: TaskResult = {
      start: t.start,
      body: t.body,
      error: undefined,
      loadError: false,
      aborted: false,
      startedAt,
    };
    if (timerChanges() === changesBefore) {
      uninstall();
      // No timer made, cleared, ref'd or unref'd: the count is the same, and still true for the next
      // request of the batch when nothing ran in between (an awaited handler let the loop run).
      if (sync) knownTimers = timersBefore;
      return result;
    }
    const timersAfter = countTimers();
    if (timersAfter <= timersBefore) {
      uninstall();
      // Still true when the next request of the batch starts right away (nothing ran in between).
      knownTimers = timersAfter;
      return result;
    }
    return settleStrayTimers().then(() => {
      uninstall();
      return result;
    });
  };
  if (sync) return done(tail as Tail);
  knownTimers = undefined;
  return (tail as Promise<Tail>).then(done, (err: unknown) => {
    uninstall();
    return failed(link, err, startedAt);
  });
}

function failed(link: WorkerLink, err: unknown, startedAt: number): TaskResult {
  if (link.disconnected || hasCode(err, 'ERR_ALBANY_ABORTED'))
    return { start: undefined, body: undefined, error: undefined, loadError: false, aborted: true, startedAt };
  return failure(err, false, startedAt);
}

function failure(err: unknown, loadError: boolean, startedAt: number): TaskResult {
  return { start: undefined, body: undefined, error: serializeError(err), loadError, aborted: false, startedAt };
}

function callHandler(loaded: LoadedHandler, item: BatchItem, link: WorkerLink): Tail | Promise<Tail> {
  switch (loaded.style) {
    case 'wsgi':
      return runWsgi(
        loaded.fn as WsgiHandler,
        wsgiEnviron(item, new BodyInput(item.body, item.more, link), link),
        new ResponseOutput(link),
      );
    case 'plain': {
      const output = new ResponseOutput(link);
      const value = loaded.fn(plainRequest(item.request, new BodyInput(item.body, item.more, link)));
      if (isThenable(value)) return Promise.resolve(value).then((v) => writePlainResponse(v, output));
      return writePlainResponse(value, output);
    }
    case 'node':
      return runNodeStyle(loaded.fn as NodeHandler, item, link);
    default:
      throw albanyError('ERR_ALBANY_APP_LOAD', `unknown legacy handler style ${String(loaded.style)}`);
  }
}

// piscina parks an idle worker in Atomics.wait, so a timer a handler left behind would fire during
// the *next* request and take it down with it. When the handler added timers, one timers phase runs
// now (setImmediate would not do: it can run before the timers phase), so a throw there fails the
// request that caused it. Intervals a module set up at load time are not counted: no tax for them.
function settleStrayTimers(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Active timers right after the previous request, while nothing else can have run since. */
let knownTimers: number | undefined;

function countTimers(): number {
  let n = 0;
  for (const kind of process.getActiveResourcesInfo()) if (kind === 'Timeout' || kind === 'Immediate') n++;
  return n;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return value instanceof Promise;
}

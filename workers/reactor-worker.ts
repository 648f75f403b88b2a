// The reactor thread: runs async exports for blocking callers; idle, it spins then parks in a sync
// Atomics.wait (not its event loop), so a call reaches it in microseconds.
import { isArrayBuffer } from 'node:util/types';
import { receiveMessageOnPort, workerData, type MessagePort, type TransferListItem } from 'node:worker_threads';
import { AlbanyError, ErrorCodes } from '../src/errors.js';
import { createSignal, postAndWake, spinBackoff, spinWhile, type Signal } from '../src/sync/channel.js';
import { CallTable } from '../src/sync/call-table.js';
import { loadModule, loadedModule } from '../src/sync/reactor-modules.js';
import { dataCloneError, isDataCloneError } from '../src/sync/clone-path.js';
import { LARGE_BYTES, ScratchWriter, moveLargeValue } from '../src/sync/large-bytes.js';
import { serializeError } from '../src/errors-wire.js';
import { ReactorLane } from '../src/sync/shared-lane.js';
import { runInWire } from '../src/context/reactor-calls.js';
import type { WireContext } from '../src/context/request-context.js';
import {
  REACTOR_DEAD_INDEX,
  REACTOR_READY_FLAG,
  REACTOR_THREAD_FLAG,
  kTransfer,
  type FromReactor,
  type ReactorCallContext,
  type ReactorWorkerData,
  type ToReactor,
  type TransferredResult,
} from '../src/sync/protocol.js';

interface Connection {
  readonly port: MessagePort;
  readonly signal: Signal;
  readonly calls: CallTable<Call>;
  /** Where large byte results wait for this caller (see large-bytes.ts). */
  readonly scratch: ScratchWriter;
  /** Small calls and results skip the port here (see shared-lane.ts). */
  readonly lane: ReactorLane;
  /** The exports this caller registered for the lane, by index (CallMessage.fn). */
  readonly fns: LaneExport[];
}

/** An export a caller registered for the lane (CallMessage.fn), with its module once it is loaded. */
interface LaneExport {
  readonly module: string;
  readonly exportName: string;
  /** Saves a lookup in the module cache per call (the namespace object never changes). */
  mod: Record<string, unknown> | undefined;
}

// The AbortController of a Call, made only if the export looks at `this.signal` (most never do).
const kController = Symbol('controller');

/**
 * One call in flight. It is also `this` of the export, typed there as ReactorCallContext: only `signal` is promised.
 * Its fields are set in the constructor, not declared with initializers: a class with field
 * initializers was constructed through V8's generic construct stub on every call (~115 instructions).
 */
class Call implements ReactorCallContext {
  declare readonly conn: Connection;
  declare readonly id: number;
  declare cancelled: boolean;
  declare [kController]: AbortController | undefined;

  constructor(conn: Connection, id: number) {
    this.conn = conn;
    this.id = id;
    this.cancelled = false;
    this[kController] = undefined;
  }

  get signal(): AbortSignal {
    let controller = this[kController];
    if (controller === undefined) {
      controller = this[kController] = new AbortController();
      if (this.cancelled) controller.abort(cancelReason());
    }
    return controller.signal;
  }

  cancel(): void {
    this.cancelled = true;
    this[kController]?.abort(cancelReason());
  }
}

const data = workerData as ReactorWorkerData;
// Read once: workerData is a cloned object whose property loads went through a generic IC stub.
const idleSliceMs = data.idleSliceMs;
const spinMicros = data.spinMicros;
const wake = createSignal(data.wake);
const connections: Connection[] = [];
let inFlight = 0;
let lastCrash: unknown;

(globalThis as Record<symbol, unknown>)[REACTOR_THREAD_FLAG] = true;

// The thread must outlive a hung call that holds no handle (a pending waitAsync keeps nothing
// alive); the Worker is unref'd by its owner, so this never keeps the process alive.
setInterval(() => {}, 2 ** 30);

// A dying reactor tells every caller at once, so blocked threads fail now instead of at their timeout.
process.on('uncaughtExceptionMonitor', (err) => {
  lastCrash = err;
});
process.on('exit', (code) => {
  Atomics.store(new Int32Array(data.wake, REACTOR_DEAD_INDEX * 4, 1), 0, 1);
  const reason =
    lastCrash instanceof Error ? `${lastCrash.name}: ${lastCrash.message}` : `process.exit(${code}) in the reactor`;
  for (const conn of connections) {
    try {
      postAndWake(conn.port, conn.signal, { type: 'crashed', reason } satisfies FromReactor);
    } catch {
      // The caller's port is already closed; nothing is waiting on it.
    }
  }
});
(globalThis as Record<symbol, unknown>)[REACTOR_READY_FLAG] = true;

// ---- calls ---------------------------------------------------------------------------------

function cancelReason(): AlbanyError {
  return new AlbanyError(ErrorCodes.ERR_ALBANY_ABORTED, 'the caller cancelled this call or stopped waiting for it');
}

function noExport(module: string, exportName: string, found: unknown): AlbanyError {
  return new AlbanyError(
    ErrorCodes.ERR_ALBANY_UNKNOWN_SERVICE,
    `${module} has no function export named "${exportName}" (found ${typeof found})`,
    { details: { module, export: exportName } },
  );
}

function invoke(
  mod: Record<string, unknown>,
  module: string,
  exportName: string,
  args: readonly unknown[],
  call: Call,
): Promise<unknown> {
  if (call.cancelled) return Promise.reject(cancelReason()); // cancelled while its module loaded
  const fn = mod[exportName];
  if (typeof fn !== 'function') return Promise.reject(noExport(module, exportName, fn));
  try {
    return Promise.resolve((fn as (...a: unknown[]) => unknown).apply(call, args as unknown[]));
  } catch (err) {
    return Promise.reject(err);
  }
}

function start(
  conn: Connection,
  id: number,
  module: string,
  exportName: string,
  args: readonly unknown[],
  context: WireContext | undefined,
): void {
  const mod = loadedModule(module);
  if (mod !== undefined && context === undefined) {
    startLoaded(conn, id, mod, module, exportName, args);
    return;
  }
  const call = new Call(conn, id);
  conn.calls.add(call);
  inFlight++;
  let p: Promise<unknown>;
  if (context === undefined) {
    p = loadModule(module).then((m) => invoke(m, module, exportName, args, call));
  } else {
    // Only the export runs in the request's context: a module's top level (its timers, its pools)
    // runs outside it, or it would keep the context of whichever request loaded it first.
    p =
      mod !== undefined
        ? runInWire(context, invoke, mod, module, exportName, args, call)
        : loadModule(module).then((m) => runInWire(context, invoke, m, module, exportName, args, call));
  }
  settleWhen(call, p);
}

/**
 * Starts a call of an export of a loaded module, outside any request context: the path of nearly
 * every call, kept in one function (no `invoke` hop) so that it is compiled within the first calls
 * instead of thousands of calls later (a small function called once per call is optimized late).
 */
function startLoaded(
  conn: Connection,
  id: number,
  mod: Record<string, unknown>,
  module: string,
  exportName: string,
  args: readonly unknown[] | undefined,
  only?: unknown,
): void {
  const call = new Call(conn, id);
  conn.calls.add(call);
  inFlight++;
  const fn = mod[exportName];
  let p: Promise<unknown>;
  try {
    if (typeof fn !== 'function') throw noExport(module, exportName, fn);
    const f = fn as (...a: unknown[]) => unknown;
    // One argument (the usual small call) is passed as it is: apply spreads an array through a
    // builtin. `args` undefined: a lane call of the one argument `only`, never put in an array.
    p = Promise.resolve(
      args === undefined
        ? f.call(call, only)
        : args.length === 1
          ? f.call(call, args[0])
          : f.apply(call, args as unknown[]),
    );
  } catch (err) {
    p = Promise.reject(err);
  }
  settleWhen(call, p);
}

// The handlers of a call's promise are bound to the call (`this`), not closures over it: a new
// closure's first call goes through V8's lazy-compile stub to find its code (~60 instructions, once
// per call, as each call makes its own), a bound function calls code already there.
function fulfilled(this: Call, value: unknown): void {
  settle(this, true, value);
}

function rejected(this: Call, err: unknown): void {
  settle(this, false, err);
}

function settleWhen(call: Call, p: Promise<unknown>): void {
  p.then(fulfilled.bind(call), rejected.bind(call));
}

function isTransferred(value: unknown): value is TransferredResult {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kTransfer] === true;
}

function settle(call: Call, ok: boolean, outcome: unknown): void {
  inFlight--;
  call.conn.calls.delete(call.id);
  if (!call.cancelled) reply(call, ok, outcome);
  // The last call in flight settled: the loop goes on from here (see pump).
  if (inFlight === 0 && awaitingSettle) {
    awaitingSettle = false;
    pump();
  }
}

function reply(call: Call, ok: boolean, outcome: unknown): void {
  const { port, signal, scratch } = call.conn;
  if (!ok) {
    postAndWake(port, signal, {
      type: 'result',
      id: call.id,
      ok: false,
      error: serializeError(outcome),
    } satisfies FromReactor);
    return;
  }
  let value = outcome;
  let transfer: readonly TransferListItem[] | undefined;
  if (isTransferred(outcome)) {
    value = outcome.value;
    transfer = outcome.transferList;
  }
  if (transfer === undefined) {
    if (call.conn.lane.tryReply(call.id, value)) {
      Atomics.add(signal, 0, 1);
      Atomics.notify(signal, 0);
      return;
    }
    const bytes = scratch.write(value);
    if (bytes !== undefined) {
      postAndWake(port, signal, {
        type: 'result',
        id: call.id,
        ok: true,
        value: undefined,
        bytes,
      } satisfies FromReactor);
      return;
    }
  }
  // The caller still holds the region (several results at once) or the value is too large for it.
  const moved = transfer === undefined ? moveLargeValue(value) : undefined;
  try {
    postAndWake(
      port,
      signal,
      { type: 'result', id: call.id, ok: true, value: moved?.value ?? value } satisfies FromReactor,
      moved?.transfer ?? transfer,
    );
  } catch (err) {
    if (!isDataCloneError(err)) throw err;
    const error = serializeError(dataCloneError(value, 'result', err));
    postAndWake(port, signal, { type: 'result', id: call.id, ok: false, error } satisfies FromReactor);
  }
}

// The last buffer noteArrivedBytes allocated: kept in a variable so the allocation is never
// optimized away; the next one replaces it, and a young-generation GC frees it.
const probe: { last: ArrayBuffer | undefined } = { last: undefined };

/**
 * Lets V8 see large byte arguments that arrived transferred (moved by the caller, see
 * large-bytes.ts, or in a transferList) as young garbage. Such a buffer was allocated by another
 * thread: adopting it only adds to this thread's external-memory count, and this thread makes
 * almost no JS garbage, so nothing ran a young-generation GC and the count reached its limit
 * instead, whose remedy is a full GC (~33M instructions; two per 50 MiB of arguments, ~0.69M
 * instructions per 1 MiB call). An allocation made here goes through V8's allocation path, which
 * runs a cheap young-generation GC once the young buffers add up to two semi-spaces: one tiny
 * allocation per such call is that check.
 */
function noteArrivedBytes(args: readonly unknown[]): void {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (typeof arg !== 'object' || arg === null) continue;
    const n = isArrayBuffer(arg) ? arg.byteLength : ArrayBuffer.isView(arg) ? arg.byteLength : 0;
    if (n >= LARGE_BYTES) {
      probe.last = new ArrayBuffer(1);
      return;
    }
  }
}

function handle(conn: Connection, msg: ToReactor): void {
  switch (msg.type) {
    case 'call':
      noteArrivedBytes(msg.args);
      if (msg.fn !== undefined) conn.fns[msg.fn] = { module: msg.module, exportName: msg.exportName, mod: undefined };
      start(conn, msg.id, msg.module, msg.exportName, msg.args, msg.context);
      return;
    case 'cancel': {
      const call = conn.calls.get(msg.id);
      call?.cancel();
      return;
    }
    case 'connect':
      connect(msg.port, msg.signal, msg.lane);
      return;
  }
}

/** Starts call `id`, waiting on `conn`'s lane (see ReactorLane.callId). */
function startLaneCall(conn: Connection, id: number): void {
  const lane = conn.lane;
  const fn = lane.callFn();
  const target = conn.fns[fn];
  // A call of one argument (most are) is read without an array around it.
  const single = lane.callArity() === 1;
  const arg = single ? lane.takeOnlyArg() : undefined;
  const args = single ? undefined : lane.takeCall();
  if (target === undefined) {
    // Only a caller and reactor out of step (two albany copies) could get here; say so, do not hang.
    const error = new AlbanyError(
      ErrorCodes.ERR_ALBANY_UNKNOWN_SERVICE,
      `the reactor has no export registered as #${fn} for this caller`,
    );
    postAndWake(conn.port, conn.signal, {
      type: 'result',
      id,
      ok: false,
      error: serializeError(error),
    } satisfies FromReactor);
    return;
  }
  const mod = (target.mod ??= loadedModule(target.module));
  if (mod !== undefined) startLoaded(conn, id, mod, target.module, target.exportName, args, arg);
  else start(conn, id, target.module, target.exportName, args ?? [arg], undefined);
}

function connect(port: MessagePort, signal: SharedArrayBuffer, lane: SharedArrayBuffer): void {
  const conn: Connection = {
    port,
    signal: createSignal(signal),
    calls: new CallTable(),
    scratch: new ScratchWriter(),
    lane: new ReactorLane(lane),
    fns: [],
  };
  connections.push(conn);
  // A caller thread that goes away closes its port; forget it so the drain loop stays short.
  port.once('close', () => {
    const i = connections.indexOf(conn);
    if (i !== -1) connections.splice(i, 1);
    for (const call of conn.calls.values()) call.cancel();
  });
  port.unref();
}

/**
 * Starts every queued call and handles every message, on every connection, in the order each
 * caller sent them: a lane call goes before the port messages the caller sent after it.
 */
function drain(): void {
  for (let i = 0; i < connections.length; i++) {
    const conn = connections[i]!;
    // The lane first: whatever the caller posted before filling it is on the port by now.
    let laneId = conn.lane.callId();
    if (conn.lane.portPosted()) {
      for (let entry = receiveMessageOnPort(conn.port); entry !== undefined; entry = receiveMessageOnPort(conn.port)) {
        const msg = entry.message as ToReactor;
        if (laneId !== 0 && msg.type !== 'connect' && msg.id >= laneId) {
          startLaneCall(conn, laneId);
          laneId = 0;
        }
        handle(conn, msg);
      }
    }
    if (laneId !== 0) startLaneCall(conn, laneId);
  }
}

// ---- the loop ------------------------------------------------------------------------------

// Node 20 has Atomics.waitAsync; the ES2022 lib typings do not.
const waitAsync = (
  Atomics as unknown as {
    waitAsync(
      ta: Int32Array,
      index: number,
      value: number,
    ): { async: false; value: string } | { async: true; value: Promise<string> };
  }
).waitAsync;

// While calls are in flight the loop is not running: the last one to settle resumes it (settle()
// calls pump). Until then, only a call that waits on I/O or a timer needs the loop to hear new posts
// through the event loop (waitAsync); one that settles in a microtask or two does not.
let awaitingSettle = false;
// A process.nextTick of stalled() is queued. Ticks run only once the microtask queue has run dry,
// and the loop runs in microtasks (settle's) as long as calls settle there: so the tick, queued
// once, stays queued while calls come and settle back to back, and runs exactly when calls in
// flight wait on something else, with no cost per call (a microtask hop per call cost ~380 Ir).
let tickQueued = false;
let wakeArmed = false;

// Runs once the microtask queue ran dry (see tickQueued).
function stalled(): void {
  tickQueued = false;
  if (awaitingSettle) watchPosts();
}

/** Wakes the loop through the event loop on the next post, while calls are in flight. */
function watchPosts(): void {
  if (wakeArmed) return;
  const w = waitAsync(wake, 0, drained);
  if (!w.async) {
    posted(); // a post landed since the last drain
    return;
  }
  wakeArmed = true;
  void w.value.then(() => {
    wakeArmed = false;
    posted();
  });
}

function posted(): void {
  if (!awaitingSettle) return; // the loop is running (or parked in idle), it drains anyway
  awaitingSettle = false;
  drainPosts();
  pump();
}

// `performance` is an accessor on globalThis (a getter call on every read): read it once.
const perf = performance;

// The last time the event loop had a turn (see pump).
let lastTurn = perf.now();

// The event loop's turn (see pump): the loop goes on after the immediates phase.
function turned(): void {
  lastTurn = perf.now();
  drainPosts();
  pump();
}

// Idle waits without spinning after a spin missed (calls are not coming back to back), more of
// them the more spins in a row missed (see spinBackoff).
let spinSkip = 0;
let spinMisses = 0;

// Idle waits left before the clock is read again (see pump): a clock read (performance.now, ~1,200
// instructions here, as it runs too rarely to be optimized) costs more than the rest of an idle
// wait's bookkeeping, and a parked wait that times out needs no clock anyway. 32 back-to-back calls
// take well under a millisecond, against a slice of tens of milliseconds.
const CLOCK_EVERY = 32;
let clockIn = 0;

// The counter at the last drain: every post bumps it, so an unmoved one means nothing new.
let drained = -1;

/**
 * The loop: drains posts and waits synchronously while nothing is in flight. Returns when calls are
 * in flight (the last to settle calls it again, see settle) or the event loop is due a turn (it
 * runs again after it). No async function: an await per call cost ~380 instructions of promise
 * machinery, where calls that settle in microtasks resume the loop from their settle directly.
 */
function pump(): void {
  for (;;) {
    if (inFlight !== 0) {
      awaitingSettle = true;
      if (!tickQueued) {
        tickQueued = true;
        process.nextTick(stalled);
      }
      return;
    }
    // Idle: nothing async pending, so wait synchronously (spin, then park) for the next post, the
    // cheapest way to be woken; unless the event loop is due a turn, for timers and sockets of
    // loaded modules: after `idleSliceMs` parked, and every slice even while calls keep coming
    // back to back (checked every CLOCK_EVERY waits, so a turn may come that many calls late).
    // Written here, not in a function of its own: one called once per call is optimized
    // thousands of calls late (seen compiling inside callgrind's counted window).
    // One exit for the turn, reached through the clock during the warm-up of a busy loop: an exit
    // of its own for a parked wait that timed out is first reached when calls pause, and optimized
    // code meeting a call site it has no feedback for is thrown away (a deopt and a recompile).
    // The counter as of the last drain: a post since has moved it, which the look below (or the
    // wait, which compares atomically) sees. Resumed by a settle, the loop looks here first
    // instead of reading the counter atomically again (a builtin call) for a post that rarely came.
    const seen = drained;
    const slice = idleSliceMs;
    let turn = false;
    if (--clockIn <= 0) {
      clockIn = CLOCK_EVERY;
      turn = perf.now() - lastTurn >= slice;
    }
    // A post that already landed (the caller ran while this call settled) needs no spin nor wait:
    // one that finds the counter moved still costs a thousand instructions. A plain read is enough:
    // a stale value only means waiting (the wait compares atomically), and the loop reads the
    // counter atomically before it drains. Before the spin, so it runs on every path and never
    // lacks type feedback (reaching code that has none throws the optimized loop away); after the
    // clock, so calls that keep landing before this look still let the event loop have its turns.
    if (!turn && wake[0] === seen) {
      let spun = false;
      if (spinSkip > 0) spinSkip--;
      else if (spinWhile(wake, seen, spinMicros)) {
        spinMisses = 0;
        spun = true;
      } else spinSkip = spinBackoff(spinMisses++);
      if (!spun) turn = Atomics.wait(wake, 0, seen, slice) === 'timed-out';
    }
    if (turn) {
      setImmediate(turned);
      return;
    }
    drainPosts();
  }
}

/** Drains the posts since the last drain, if any. */
function drainPosts(): void {
  // Read again after every wait, never inferred from it: a wait can end 'ok' on a notify whose
  // bump this loop already read and drained (the caller was descheduled between its bump and
  // its notify), so "seen + 1" would run ahead of the counter, and the next post's bump would
  // then equal it and be slept through (test/sync/wake-stress.test.ts caught it under CI load).
  const seen = Atomics.load(wake, 0);
  if (seen !== drained) {
    drained = seen;
    drain();
  }
}

connect(data.first.port, data.first.signal, data.first.lane);
drainPosts();
pump();

// This thread's handle on its reactor thread: starts it lazily (unref'd), posts calls, blocks for
// replies, and notices a crash so the next call gets a fresh reactor.
import {
  MessageChannel,
  Worker,
  receiveMessageOnPort,
  type MessagePort,
  type TransferListItem,
} from 'node:worker_threads';
import { AlbanyError, ErrorCodes } from '../errors.js';
import { workerExecArgv } from '../exec-argv.js';
import { workerFile } from '../worker-path.js';
import { bootstrapSource } from './bootstrap.js';
import { createSignal, spinBackoff, spinWhile, type Signal } from './channel.js';
import { type Outcome, callerStack, unwrap } from './outcome.js';
import { dataCloneError, isDataCloneError } from './clone-path.js';
import { ScratchReader, moveLargeArgs } from './large-bytes.js';
import { syncDefaults } from './options.js';
import {
  REACTOR_DEAD_INDEX,
  type CallMessage,
  type FromReactor,
  type ReactorWorkerData,
  type ToReactor,
} from './protocol.js';
import { CallerLane, MAX_CALL_ID, createLane } from './shared-lane.js';
import { CallTable } from './call-table.js';
import type { WireContext } from '../context/request-context.js';

// `performance` is an accessor on globalThis (a getter call on every read): read it once.
const perf = performance;

/** The most a wait sleeps before it first reads the clock (see ReactorLink.wait). */
const FIRST_SLEEP_MS = 5;

// FIRST_SLEEP_MS unless a test raised it (see setFirstSleepCap).
let firstSleepCap = FIRST_SLEEP_MS;

/**
 * Test hook, not exported from the package: sets the first sleep's cap on this thread (default
 * {@link FIRST_SLEEP_MS}). The cap also bounds how long a missed wake-up of this thread can go
 * unnoticed, so a test that must see one (test/sync/wake-stress.test.ts) raises it past its calls'
 * timeout: a missed wake-up then fails the call instead of costing 5 ms.
 */
export function setFirstSleepCap(ms: number): void {
  firstSleepCap = ms;
}

// The first sleep's cap for this thread's next wait: 0 for the very first one, so that wait takes
// the path that reads the clock while it runs unoptimized. A call site that never ran has no type
// feedback, and optimized code that reaches one is thrown away (a deopt and a recompile): without
// this, the first reply slower than FIRST_SLEEP_MS would do that to every function waits inline into.
let firstSleepMs = 0;
// The same for the first lane call made through ReactorLink.run, whose own sleep and look are a
// second place a wait can find no reply yet.
let firstLaneSleepMs = 0;

/** One call this thread has in flight. */
export interface PendingCall {
  readonly id: number;
  readonly module: string;
  readonly exportName: string;
  outcome: Outcome | undefined;
  /** Set while async code awaits this call: runs once the outcome is known. */
  onSettle: ((outcome: Outcome) => void) | undefined;
  /** This thread's wake-up counter just before the call was posted (see ReactorLink.wait). */
  readonly seen: number;
}

/**
 * A connection to another thread's reactor, to pass to a worker thread (in `workerData` or a
 * message, with `port` in the transfer list) and install there with {@link attachReactor}.
 */
export interface ReactorHandle {
  readonly port: MessagePort;
  /** The receiving thread's wake-up counter (made here, shared with the reactor). */
  readonly signal: SharedArrayBuffer;
  /** The reactor's wake-up counter, followed by its "dead" flag (see {@link REACTOR_DEAD_INDEX}). */
  readonly wake: SharedArrayBuffer;
  /** The connection's shared lane for small calls (made here, shared with the reactor). */
  readonly lane: SharedArrayBuffer;
}

/** A live reactor thread and this thread's connection to it (its own thread, or a shared one). */
class ReactorLink {
  /** Set when this thread started the reactor; undefined when attached to another thread's. */
  readonly worker: Worker | undefined;
  readonly port: MessagePort;
  readonly signal: Signal;
  readonly wake: Signal;
  /** Set to 1 by a dying reactor, so a caller that was not waiting learns of it before its next call. */
  readonly deadFlag: Int32Array;
  readonly pending = new CallTable<PendingCall>();
  readonly #scratch = new ScratchReader();
  readonly #lane: CallerLane;
  /** Exports registered with the reactor for the lane: module → export name → index. */
  readonly #fns = new Map<string, Map<string, number>>();
  #fnCount = 0;
  // The export called last, so back-to-back calls of one export skip the two lookups.
  #lastModule: string | undefined;
  #lastExport: string | undefined;
  #lastFn = 0;
  #nextId = 1;
  #listeners = 0;
  // Waits left before spinning is tried again, after a spin that missed (see SyncOptions.spinMicros),
  // and how many spins in a row missed (each doubles the waits skipped, see spinBackoff).
  #spinSkip = 0;
  #spinMisses = 0;
  dead = false;

  constructor(handle?: ReactorHandle) {
    if (handle !== undefined) {
      this.port = handle.port;
      this.signal = createSignal(handle.signal);
      this.wake = createSignal(handle.wake);
      this.deadFlag = new Int32Array(handle.wake, REACTOR_DEAD_INDEX * 4, 1);
      this.#lane = new CallerLane(handle.lane);
      this.worker = undefined;
      this.port.unref();
      return;
    }
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.signal = createSignal();
    const wake = new SharedArrayBuffer(8);
    this.wake = createSignal(wake);
    this.deadFlag = new Int32Array(wake, REACTOR_DEAD_INDEX * 4, 1);
    const lane = createLane();
    this.#lane = new CallerLane(lane);
    const workerData: ReactorWorkerData = {
      wake: this.wake.buffer as SharedArrayBuffer,
      first: { port: port2, signal: this.signal.buffer as SharedArrayBuffer, lane },
      idleSliceMs: syncDefaults().idleSliceMs,
      spinMicros: syncDefaults().spinMicros,
    };
    // Under `node -e` / `--input-type=module` / the REPL the inherited flags would make the eval'd
    // CommonJS bootstrap parse as the main script's input type: only what a worker may use is passed.
    this.worker = new Worker(bootstrapSource(workerFile('reactor-worker')), {
      eval: true,
      workerData,
      transferList: [port2],
      execArgv: workerExecArgv(),
    });
    // Never keep the process alive for the reactor's sake; a caller blocked in Atomics.wait
    // does not need the event loop anyway.
    this.worker.unref();
    this.port.unref();
    this.worker.on('error', () => {}); // reported to callers through 'crashed' or 'exit'
    this.worker.on('exit', (code) => this.#died(`the reactor thread exited with code ${code}`));
  }

  /** A new connection to this reactor for another thread; see {@link ReactorHandle}. */
  handle(): ReactorHandle {
    const { port1, port2 } = new MessageChannel();
    const signal = createSignal();
    const lane = createLane();
    this.#postPort({ type: 'connect', port: port2, signal: signal.buffer as SharedArrayBuffer, lane }, [port2]);
    return {
      port: port1,
      signal: signal.buffer as SharedArrayBuffer,
      wake: this.wake.buffer as SharedArrayBuffer,
      lane,
    };
  }

  /**
   * Posts a call: on the shared lane when its export is registered and its arguments are ones the
   * lane carries, else on the port (registering the export). `context`, the calling request's
   * (see context/reactor-calls.ts), goes with it on the port. Throws `ERR_ALBANY_DATA_CLONE`
   * (naming the argument) if an argument cannot be copied.
   */
  post(
    module: string,
    exportName: string,
    args: readonly unknown[],
    transfer?: readonly TransferListItem[],
    context?: WireContext,
  ): PendingCall {
    const id = this.#newId();
    // A plain read (an atomic one costs a builtin call): it can only be stale, never ahead, and a
    // stale value only makes the first sleep in wait() return at once and look again.
    const seen = this.signal[0]!;
    this.#send(id, module, exportName, args, undefined, transfer, context);
    return this.#track(id, module, exportName, seen);
  }

  /**
   * {@link post} and {@link wait} for a call made outside a request: returns its value or throws
   * its error (rebuilt with the stack above `boundary`). A lane call whose reply is in the lane
   * when the first sleep ends, nearly every one, is never tracked: no PendingCall nor outcome is
   * made for it. Nothing else runs on this thread until it is tracked (replies are only taken
   * here and on the event loop), so an untracked call can miss nothing. `args` undefined: a call
   * of the one argument `only`, which is put in an array only if it has to take the port.
   */
  run(
    module: string,
    exportName: string,
    args: readonly unknown[] | undefined,
    only: unknown,
    transfer: readonly TransferListItem[] | undefined,
    timeoutMs: number,
    // biome-ignore lint/complexity/noBannedTypes: the parameter type of Error.captureStackTrace.
    boundary: Function,
  ): unknown {
    const id = this.#newId();
    const seen = this.signal[0]!; // see post()
    let outcome: Outcome;
    if (this.#send(id, module, exportName, args, only, transfer, undefined)) {
      // wait()'s first sleep and look, for a call not tracked yet.
      const sleep = this.#firstSleep(timeoutMs, firstLaneSleepMs);
      firstLaneSleepMs = firstSleepCap;
      const timedOut = this.#park(seen, sleep);
      if (this.#lane.replyId() === id) return this.#lane.takeReply(id, true);
      const call = this.#track(id, module, exportName, seen);
      outcome = this.#waitMore(call, timeoutMs, true, timedOut ? sleep : 0);
    } else {
      outcome = this.wait(this.#track(id, module, exportName, seen), timeoutMs);
    }
    if (outcome.type === 'result' && outcome.ok) return outcome.value;
    return unwrap(outcome, () => callerStack(boundary));
  }

  // A new call id: positive, and within what the lane carries (wrapping after 2^31 - 2 calls).
  #newId(): number {
    const id = this.#nextId;
    this.#nextId = id === MAX_CALL_ID ? 1 : id + 1;
    return id;
  }

  // Sends call `id` (see post, and run for `only`); true if it went on the lane.
  #send(
    id: number,
    module: string,
    exportName: string,
    args: readonly unknown[] | undefined,
    only: unknown,
    transfer: readonly TransferListItem[] | undefined,
    context: WireContext | undefined,
  ): boolean {
    // A request context rides on the port: the lane carries only arguments.
    const fn =
      transfer !== undefined || context !== undefined
        ? undefined
        : module === this.#lastModule && exportName === this.#lastExport
          ? this.#lastFn
          : this.#registered(module, exportName);
    if (fn !== undefined && this.#lane.tryCall(id, fn, args, only)) {
      Atomics.add(this.wake, 0, 1);
      Atomics.notify(this.wake, 0);
      return true;
    }
    this.#postCall(id, module, exportName, args ?? [only], transfer, context);
    return false;
  }

  // Records call `id` as in flight; `seen` is this thread's wake-up counter before it was sent.
  #track(id: number, module: string, exportName: string, seen: number): PendingCall {
    const call: PendingCall = { id, module, exportName, outcome: undefined, onSettle: undefined, seen };
    this.pending.add(call);
    return call;
  }

  // The lane index of an export already registered with the reactor, or undefined.
  #registered(module: string, exportName: string): number | undefined {
    const fn = this.#fns.get(module)?.get(exportName);
    if (fn !== undefined) {
      this.#lastModule = module;
      this.#lastExport = exportName;
      this.#lastFn = fn;
    }
    return fn;
  }

  #postCall(
    id: number,
    module: string,
    exportName: string,
    args: readonly unknown[],
    transfer: readonly TransferListItem[] | undefined,
    context: WireContext | undefined,
  ): void {
    const moved = moveLargeArgs(args, transfer);
    let exports = this.#fns.get(module);
    const fn = exports?.has(exportName) === true ? undefined : this.#fnCount;
    const base = { type: 'call', id, module, exportName, args: moved?.value ?? args } as const;
    const plain: CallMessage = fn === undefined ? base : { ...base, fn };
    const msg: CallMessage = context === undefined ? plain : { ...plain, context };
    try {
      this.#postPort(msg, moved?.transfer ?? transfer);
    } catch (err) {
      if (isDataCloneError(err)) throw dataCloneError(args, 'args', err);
      throw err;
    }
    if (fn === undefined) return;
    if (exports === undefined) this.#fns.set(module, (exports = new Map()));
    exports.set(exportName, fn);
    this.#fnCount++;
  }

  // Posts on the port, notes it on the lane (so the reactor knows to poll the port), wakes the reactor.
  #postPort(msg: ToReactor, transfer?: readonly TransferListItem[]): void {
    this.port.postMessage(msg, transfer as TransferListItem[] | undefined);
    this.#lane.notePortPost();
    Atomics.add(this.wake, 0, 1);
    Atomics.notify(this.wake, 0);
  }

  /** Asks the reactor to abort `call` (its AbortSignal fires) and forgets it. */
  cancel(call: PendingCall): void {
    this.pending.delete(call.id);
    if (!this.dead) this.#postPort({ type: 'cancel', id: call.id });
  }

  /**
   * Blocks this thread until `call` settles or `timeoutMs` passes. Replies to other calls that
   * arrive meanwhile are recorded on their own PendingCall. On timeout the call is cancelled in
   * the reactor unless `cancelOnTimeout` is false (an EventualResult can be waited on again).
   */
  wait(call: PendingCall, timeoutMs: number, cancelOnTimeout = true): Outcome {
    if (call.outcome !== undefined) return call.outcome;
    // Sleep first, look after: no reply to the call came before it was posted, and any reply
    // since has moved the counter past `call.seen`, so the first sleep returns at once for it.
    const sleep = this.#firstSleep(timeoutMs, firstSleepMs);
    firstSleepMs = firstSleepCap;
    const timedOut = this.#park(call.seen, sleep);
    // Nearly always the sleep ended on this call's reply, in the lane: take it without reading
    // the counter first (an atomic read costs a builtin call) nor looking the call up. Anything
    // else is left to #waitMore, which reads the counter before each look.
    if (this.#lane.replyId() === call.id) return this.#takeLaneReply(call);
    return this.#waitMore(call, timeoutMs, cancelOnTimeout, timedOut ? sleep : 0);
  }

  // The first sleep of a wait: `capMs` at most, 1 ms at most when the reactor is dying (a reactor
  // that died just before the call was posted may have left its notice on the port with the
  // counter already past: its dead flag, set first, caps the sleep). The clock (~150 instructions
  // a read) is read only once a sleep ends without the outcome, as most calls settle within their
  // first sleep. That sleep is capped, so when it ends early (another call's reply woke this
  // thread) it took at most that long: the deadline set then (#waitMore) is at most that late, and
  // one set after it timed out is exact. Never early. A wait without a timeout is not capped.
  #firstSleep(timeoutMs: number, capMs: number): number {
    const cap = timeoutMs === Infinity ? Infinity : Math.min(timeoutMs, capMs);
    return this.deadFlag[0] === 1 ? Math.min(cap, 1) : cap;
  }

  // Takes `call`'s reply from the lane and settles it.
  #takeLaneReply(call: PendingCall): Outcome {
    const value = this.#lane.takeReply(call.id, true);
    this.pending.delete(call.id);
    this.#settle(call, { type: 'result', id: call.id, ok: true, value });
    return call.outcome!;
  }

  // The rest of a wait whose first sleep ended without the call's reply in the lane; `slept` ms of
  // it are known to have passed (all of it if it timed out, else none).
  #waitMore(call: PendingCall, timeoutMs: number, cancelOnTimeout: boolean, slept: number): Outcome {
    let deadline = Number.NaN;
    for (;;) {
      // Read the counter before each look: a reply that lands after the look bumps it, so the
      // next sleep returns at once instead of sleeping through it.
      let seen: number;
      for (seen = Atomics.load(this.signal, 0); this.#receiveOne(); seen = Atomics.load(this.signal, 0)) {
        if (call.outcome !== undefined) return call.outcome;
      }
      if (call.outcome !== undefined) return call.outcome;
      const now = perf.now();
      if (Number.isNaN(deadline)) deadline = now + timeoutMs - slept;
      const remaining = deadline - now;
      if (remaining <= 0) {
        if (cancelOnTimeout) this.cancel(call);
        return {
          type: 'failed',
          error: new AlbanyError(
            ErrorCodes.ERR_ALBANY_TIMEOUT,
            `${call.exportName} of ${call.module} did not settle within ${timeoutMs} ms in the reactor; ` +
              `raise timeoutMs (per call or configureSync) if it is expected to be this slow`,
            { details: { module: call.module, export: call.exportName, timeoutMs } },
          ),
        };
      }
      this.#park(seen, this.deadFlag[0] === 1 ? Math.min(remaining, 1) : remaining);
      if (this.#lane.replyId() === call.id) return this.#takeLaneReply(call);
    }
  }

  // Takes one reply (lane first, then port) and records it; false if none is waiting.
  #receiveOne(): boolean {
    const id = this.#lane.replyId();
    if (id !== 0) {
      const call = this.pending.get(id);
      const value = this.#lane.takeReply(id, call !== undefined);
      if (call !== undefined) {
        this.pending.delete(id);
        this.#settle(call, { type: 'result', id, ok: true, value });
      }
      return true;
    }
    const entry = receiveMessageOnPort(this.port);
    if (entry === undefined) return false;
    this.dispatch(entry.message as FromReactor);
    return true;
  }

  // Sleeps until the signal moves past `seen` (or `remainingMs` passes), spinning first unless
  // a recent spin missed (see SyncOptions.spinMicros). True if it slept all of `remainingMs`.
  #park(seen: number, remainingMs: number): boolean {
    // A reply that already landed needs no spin nor wait: a wait that finds the counter moved
    // still costs a thousand instructions. A plain read is enough: a stale value only means
    // waiting (the wait compares atomically), and the caller reads the counter atomically after
    // this. First, so it runs on every path: a branch that never ran while this was optimized has
    // no type feedback, and reaching it later throws the optimized code away (seen in callgrind's
    // counted window when spins kept hitting through the warm-up).
    if (this.signal[0] !== seen) return false;
    if (this.#spinSkip > 0) {
      this.#spinSkip--;
    } else {
      const spin = syncDefaults().spinMicros;
      if (spin > 0) {
        if (spinWhile(this.signal, seen, Math.min(spin, remainingMs * 1000))) {
          this.#spinMisses = 0;
          return false;
        }
        this.#spinSkip = spinBackoff(this.#spinMisses++);
      }
    }
    return Atomics.wait(this.signal, 0, seen, remainingMs === Infinity ? undefined : remainingMs) === 'timed-out';
  }

  /** Records a reply on its call (or every call, for a crash notice). */
  dispatch(msg: FromReactor): void {
    if (msg.type === 'crashed') {
      this.#died(`the reactor thread crashed: ${msg.reason}`);
      return;
    }
    const call = this.pending.get(msg.id);
    if (call === undefined) {
      // Cancelled or timed out: the caller stopped caring, but the reactor needs its region back.
      if (msg.ok && msg.bytes !== undefined) this.#scratch.release(msg.bytes);
      return;
    }
    this.pending.delete(msg.id);
    this.#settle(
      call,
      msg.ok && msg.bytes !== undefined
        ? { type: 'result', id: msg.id, ok: true, value: this.#scratch.read(msg.bytes) }
        : msg,
    );
  }

  /** Delivers replies through the event loop while async code awaits a call. */
  listen(): void {
    if (this.#listeners++ === 0) {
      this.port.on('message', (msg: FromReactor) => this.dispatch(msg));
      this.port.ref();
      // The lane cannot wake an event loop: replies take the port while anyone listens. One
      // already in the slot is recorded on its call now, so a blocking wait made before the next
      // microtask finds it (it has left the lane and is on no port), and its callback runs after
      // this call returns, once the awaiting code has set it.
      this.#lane.repliesOff((id, value) => {
        const call = this.pending.get(id);
        if (call === undefined) return;
        this.pending.delete(id);
        const outcome: Outcome = { type: 'result', id, ok: true, value };
        call.outcome = outcome;
        queueMicrotask(() => this.#settle(call, outcome));
      });
    }
  }

  unlisten(): void {
    if (--this.#listeners === 0) {
      this.port.removeAllListeners('message');
      this.port.unref();
      this.#lane.repliesOn();
    }
  }

  #settle(call: PendingCall, outcome: Outcome): void {
    call.outcome = outcome;
    const cb = call.onSettle;
    call.onSettle = undefined;
    cb?.(outcome);
  }

  /** Marks the link dead after a crash noticed through {@link gone}. */
  retire(): void {
    this.#died('the reactor thread crashed while idle');
  }

  #died(reason: string): void {
    if (this.dead) return;
    this.dead = true;
    if (slot.link === this) slot.link = undefined;
    const calls = this.pending.values();
    this.pending.clear();
    for (const call of calls) {
      const error = new AlbanyError(
        ErrorCodes.ERR_ALBANY_REACTOR_CRASHED,
        `${call.exportName} of ${call.module} was in flight when ${reason}; the next call starts a new reactor`,
        { details: { module: call.module, export: call.exportName } },
      );
      this.#settle(call, { type: 'failed', error });
    }
    this.port.close();
    void this.worker?.terminate();
  }

  /** Stops the thread (or, when attached, only this connection); calls in flight fail with `ERR_ALBANY_ABORTED`. */
  async close(): Promise<void> {
    if (slot.link === this) slot.link = undefined;
    this.dead = true;
    const calls = this.pending.values();
    this.pending.clear();
    for (const call of calls) {
      this.#settle(call, {
        type: 'failed',
        error: new AlbanyError(
          ErrorCodes.ERR_ALBANY_ABORTED,
          `${call.exportName} of ${call.module} was in flight when closeReactor() was called`,
        ),
      });
    }
    this.port.close();
    await this.worker?.terminate();
  }
}

// This thread's link lives in an object on globalThis so that two copies of this file in one thread
// (a legacy worker's CJS entry and the handler's ESM import) share one reactor instead of starting
// two. Read through a plain object, not a symbol key on the global itself: that read is a slow
// keyed load on every call.
const kSlot = Symbol.for('albany.sync.reactorSlot');
const slot = ((globalThis as Record<symbol, unknown>)[kSlot] ??= { link: undefined }) as {
  link: ReactorLink | undefined;
};

/** This thread's reactor, started on first use (and again after a crash or closeReactor()). */
export function reactor(): ReactorLink {
  const current = slot.link;
  // A plain read: the flag is only an early notice, a dying reactor also posts 'crashed'.
  if (current !== undefined && current.deadFlag[0] === 1) current.retire();
  return (slot.link ??= new ReactorLink());
}

/** Type of {@link reactor}'s result, for the callers in this folder. */
export type { ReactorLink };

/**
 * Returns a connection to this thread's reactor (started if need be) for a worker thread, so
 * that thread's runSync calls share this reactor instead of starting their own. Transfer
 * `handle.port` along with it, then call {@link attachReactor} in the worker.
 * @example new Worker(file, { workerData: { reactor: h = reactorHandle() }, transferList: [h.port] })
 */
export function reactorHandle(): ReactorHandle {
  return reactor().handle();
}

/**
 * Makes this thread's runSync calls use the reactor behind `handle` (from {@link reactorHandle}
 * on another thread). If that reactor dies, the next call here starts a private reactor.
 */
export function attachReactor(handle: ReactorHandle): void {
  const current = slot.link;
  if (current !== undefined && current.worker !== undefined) void current.close();
  slot.link = new ReactorLink(handle);
}

/**
 * Shuts down this thread's reactor thread, if one is running (when attached to another thread's
 * reactor, only detaches). Calls in flight fail with
 * `ERR_ALBANY_ABORTED`; the next call starts a new reactor. Modules it loaded are forgotten.
 */
export async function closeReactor(): Promise<void> {
  await slot.link?.close();
}

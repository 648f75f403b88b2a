// The messages between a runSync caller and the reactor thread, typed once so both sides agree.
import type { MessagePort, TransferListItem } from 'node:worker_threads';
import type { SerializedError } from '../errors-wire.js';
import type { WireContext } from '../context/request-context.js';

/** An error crossing the thread (one format for every thread boundary, see `errors-wire.ts`). */
export type { SerializedError };

/** Caller → reactor: run `exportName` of `module` with `args`. */
export interface CallMessage {
  readonly type: 'call';
  readonly id: number;
  readonly module: string;
  readonly exportName: string;
  readonly args: readonly unknown[];
  /**
   * Set on a connection's first call of an export: the index later calls of it name on the shared
   * lane (see shared-lane.ts) instead of sending module and export again.
   */
  readonly fn?: number;
  /**
   * The calling request's context (a copy, see context/reactor-calls.ts): the export runs inside it.
   * A call that carries one always takes the port, never the shared lane.
   */
  readonly context?: WireContext;
}

/** Caller → reactor: abort the AbortSignal of call `id`; its reply, if any, is ignored. */
export interface CancelMessage {
  readonly type: 'cancel';
  readonly id: number;
}

/**
 * Owner → reactor (on the control connection): serve one more caller thread. Its replies go to
 * `port`, and the reactor wakes it through `signal` (a SharedArrayBuffer backing an Int32Array);
 * `lane` is the connection's shared lane (see shared-lane.ts).
 */
export interface ConnectMessage {
  readonly type: 'connect';
  readonly port: MessagePort;
  readonly signal: SharedArrayBuffer;
  readonly lane: SharedArrayBuffer;
}

/** Everything a caller may send to the reactor. */
export type ToReactor = CallMessage | CancelMessage | ConnectMessage;

/**
 * A large byte result left in the connection's scratch region instead of in the message (see
 * `large-bytes.ts`). `kind` is `ArrayBuffer` or a typed-array name; `scratch` is set when the
 * reactor replaced the region with a larger one, which the caller keeps from then on.
 */
export interface ScratchBytes {
  readonly kind: string;
  readonly byteLength: number;
  readonly scratch?: SharedArrayBuffer;
}

/** Reactor → caller: call `id` settled. With `bytes`, the value waits in the scratch region. */
export type ResultMessage =
  | {
      readonly type: 'result';
      readonly id: number;
      readonly ok: true;
      readonly value: unknown;
      readonly bytes?: ScratchBytes;
    }
  | { readonly type: 'result'; readonly id: number; readonly ok: false; readonly error: SerializedError };

/** Reactor → caller: the reactor is dying; every call this caller has in flight fails. */
export interface CrashedMessage {
  readonly type: 'crashed';
  readonly reason: string;
}

/** Everything the reactor may send to a caller. */
export type FromReactor = ResultMessage | CrashedMessage;

/** Index, in the reactor's `wake` buffer (as Int32), of the flag a dying reactor sets to 1. */
export const REACTOR_DEAD_INDEX = 1;

/** `workerData` of the reactor thread: its own wake-up counter and the first caller's connection. */
export interface ReactorWorkerData {
  /** The reactor's wake-up counter (Int32 0; every caller bumps it after posting) and dead flag (Int32 1). */
  readonly wake: SharedArrayBuffer;
  readonly first: { readonly port: MessagePort; readonly signal: SharedArrayBuffer; readonly lane: SharedArrayBuffer };
  /**
   * Slice of the idle sync wait, in ms: after each slice the reactor gives its event loop one turn,
   * so timers and sockets owned by loaded modules still progress while no call is in flight.
   */
  readonly idleSliceMs: number;
  /** How long the idle reactor spins for the next call before parking (see configureSync). */
  readonly spinMicros: number;
}

/** A value an async export returns together with the buffers to transfer instead of copy. */
export interface TransferredResult {
  readonly [kTransfer]: true;
  readonly value: unknown;
  readonly transferList: readonly TransferListItem[];
}

/** Brand of {@link TransferredResult}; registered so the reactor and callers agree across copies. */
export const kTransfer: unique symbol = Symbol.for('albany.sync.transfer');

/** Set on `globalThis` inside the reactor thread, so runSync there can refuse to wait on itself. */
export const REACTOR_THREAD_FLAG = Symbol.for('albany.sync.reactorThread');

/**
 * What `this` is inside an async export run by the reactor. Declare the export as a `function`
 * (not an arrow) with `this: ReactorCallContext` to see cancellation: `this.signal` aborts when the
 * caller cancels the call or stops waiting for it (timeout).
 */
export interface ReactorCallContext {
  readonly signal: AbortSignal;
}

/** Set by the reactor entry once its own exit handler reports crashes; the bootstrap's stands down. */
export const REACTOR_READY_FLAG = Symbol.for('albany.sync.reactorReady');

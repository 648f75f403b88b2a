// Services the main thread provides to blocking code in legacy workers: asgiref's async_to_sync.
//
// ## Contract for the legacy worker (workers/legacy-worker.ts) and its adapter
//
// Worker side, per request:
//   setServiceBridge({ port, signal, onOtherMessage })   // before calling the handler
//   …handler runs; runSync('db.query', sql) posts { kind: 'service-call', thread, id, name, args }
//     on `port` and blocks in receiveBlocking(port, signal) until { kind: 'service-result', id }.
//     Anything else that arrives on `port` meanwhile (request-body chunks) is passed, in order, to
//     onOtherMessage — the worker pushes it onto the queue its input.read() consumes.
//   setServiceBridge(null)                                // after the handler returns or throws
//   On timeout the worker posts { kind: 'service-cancel', thread, id } and throws ERR_ALBANY_TIMEOUT.
//
// Main side (legacy adapter), in the 'message' listener of that request's port:
//   if (isServiceMessage(msg)) { void handleServiceCall(msg, (reply, transfer) => postAndWake(port, signal, reply, transfer)); return; }
// handleServiceCall runs the provided function on the main loop and replies exactly once (even for
// an unknown name, a throw, or an uncloneable result). It never rejects.
import { isMainThread, threadId, type MessagePort, type TransferListItem } from 'node:worker_threads';
import { AlbanyError, ErrorCodes } from '../errors.js';
import { TIMED_OUT, receiveBlocking, type Signal } from './channel.js';
import { dataCloneError, isDataCloneError, rebuildForCaller, serializeError } from './errors-serialize.js';
import type { ReactorCallContext, SerializedError } from './protocol.js';

/** An async function the main thread offers to legacy workers; `this.signal` aborts on cancel. */
export type ServiceFn = (this: ReactorCallContext, ...args: any[]) => unknown;

/** Worker → main: run service `name`. `thread` + `id` identify the call across workers. */
export interface ServiceCallMessage {
  readonly kind: 'service-call';
  readonly thread: number;
  readonly id: number;
  readonly name: string;
  readonly args: readonly unknown[];
}

/** Worker → main: the worker stopped waiting for call `id`; abort its signal. */
export interface ServiceCancelMessage {
  readonly kind: 'service-cancel';
  readonly thread: number;
  readonly id: number;
}

/** Main → worker: call `id` settled. */
export type ServiceResultMessage =
  | { readonly kind: 'service-result'; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly kind: 'service-result'; readonly id: number; readonly ok: false; readonly error: SerializedError };

/**
 * What a legacy worker installs for the duration of one request so runSync can reach the main
 * thread's services.
 */
export interface ServiceBridge {
  /** This request's port; its other end is listened to on the main thread. */
  readonly port: MessagePort;
  /** This worker's wake-up counter, bumped by the main side's postAndWake. */
  readonly signal: Signal;
  /** Receives, in order, every message that is not a service result and arrives while runSync waits. */
  readonly onOtherMessage: (message: unknown) => void;
}

const registry = new Map<string, ServiceFn>();
let bridge: ServiceBridge | null = null;
let nextId = 1;

/**
 * Registers `fn` under `name` on this (the main) thread. Blocking code in legacy workers reaches it
 * with `runSync(name, ...args)`; it runs on this thread's event loop, so it can use objects that
 * live here (a DB pool, an HTTP agent). Returns a function that withdraws it.
 */
export function provide(name: string, fn: ServiceFn): () => void {
  if (typeof name !== 'string' || name === '') throw new AlbanyError(ErrorCodes.ERR_ALBANY_INVALID_CONFIG, 'provide(name, fn): name must be a non-empty string');
  if (typeof fn !== 'function') throw new AlbanyError(ErrorCodes.ERR_ALBANY_INVALID_CONFIG, `provide('${name}', fn): fn must be a function, got ${typeof fn}`);
  registry.set(name, fn);
  return () => {
    if (registry.get(name) === fn) registry.delete(name);
  };
}

/** Worker side: installs (or, with null, removes) the bridge for the request being handled. */
export function setServiceBridge(next: ServiceBridge | null): void {
  bridge = next;
}

/** Blocks until the main thread's service `name` settles; see the contract at the top of this file. */
export function callService(name: string, args: readonly unknown[], timeoutMs: number, boundary: Function): unknown {
  if (bridge === null) throw noBridge(name);
  const { port, signal, onOtherMessage } = bridge;
  const id = nextId++;
  const call: ServiceCallMessage = { kind: 'service-call', thread: threadId, id, name, args };
  try {
    port.postMessage(call);
  } catch (err) {
    if (isDataCloneError(err)) throw dataCloneError(args, 'args', err);
    throw err;
  }
  const deadline = timeoutMs === Infinity ? Infinity : performance.now() + timeoutMs;
  for (;;) {
    const remaining = deadline - performance.now();
    const msg = remaining > 0 ? receiveBlocking(port, signal, remaining) : TIMED_OUT;
    if (msg === TIMED_OUT) {
      port.postMessage({ kind: 'service-cancel', thread: threadId, id } satisfies ServiceCancelMessage);
      throw new AlbanyError(ErrorCodes.ERR_ALBANY_TIMEOUT, `service '${name}' did not answer within ${timeoutMs} ms on the main thread`, {
        details: { service: name, timeoutMs },
      });
    }
    if (!isServiceResult(msg)) {
      onOtherMessage(msg);
      continue;
    }
    if (msg.id !== id) continue; // a late answer to a call that already timed out
    if (msg.ok) return msg.value;
    const holder: { stack?: string } = {};
    Error.captureStackTrace(holder, boundary);
    throw rebuildForCaller(msg.error, holder.stack, 'on the main thread');
  }
}

function noBridge(name: string): AlbanyError {
  if (registry.has(name)) {
    return new AlbanyError(
      ErrorCodes.ERR_ALBANY_DEADLOCK,
      `runSync('${name}') was called on the thread that provides it: it would block the very event loop that must run it; await the service directly here`,
      { details: { service: name } },
    );
  }
  const where = isMainThread ? 'on the main thread, which has not provided it' : 'outside a legacy handler (no service bridge on this thread)';
  return new AlbanyError(ErrorCodes.ERR_ALBANY_UNKNOWN_SERVICE, `runSync('${name}') found no service of that name ${where}`, { details: { service: name } });
}

function isServiceResult(msg: unknown): msg is ServiceResultMessage {
  return typeof msg === 'object' && msg !== null && (msg as { kind?: unknown }).kind === 'service-result';
}

/** Main side: true for a message from a worker that {@link handleServiceCall} must handle. */
export function isServiceMessage(msg: unknown): msg is ServiceCallMessage | ServiceCancelMessage {
  if (typeof msg !== 'object' || msg === null) return false;
  const kind = (msg as { kind?: unknown }).kind;
  return kind === 'service-call' || kind === 'service-cancel';
}

const running = new Map<string, AbortController>();

/**
 * Main side: runs a worker's service call on this loop and sends the outcome through `reply`
 * exactly once (a cancel message only aborts the running call). Never rejects.
 */
export async function handleServiceCall(
  msg: ServiceCallMessage | ServiceCancelMessage,
  reply: (result: ServiceResultMessage, transfer?: readonly TransferListItem[]) => void,
): Promise<void> {
  const key = `${msg.thread}:${msg.id}`;
  if (msg.kind === 'service-cancel') {
    running.get(key)?.abort(new AlbanyError(ErrorCodes.ERR_ALBANY_ABORTED, 'the calling worker stopped waiting'));
    return;
  }
  const controller = new AbortController();
  running.set(key, controller);
  try {
    const fn = registry.get(msg.name);
    if (fn === undefined) {
      throw new AlbanyError(ErrorCodes.ERR_ALBANY_UNKNOWN_SERVICE, `no service named '${msg.name}' was provided on the main thread (known: ${[...registry.keys()].join(', ') || 'none'})`, {
        details: { service: msg.name },
      });
    }
    const value = await fn.apply({ signal: controller.signal }, msg.args as unknown[]);
    try {
      reply({ kind: 'service-result', id: msg.id, ok: true, value });
    } catch (err) {
      if (!isDataCloneError(err)) throw err;
      throw dataCloneError(value, 'result', err);
    }
  } catch (err) {
    try {
      reply({ kind: 'service-result', id: msg.id, ok: false, error: serializeError(err) });
    } catch {
      // The request's port is gone (the worker moved on); nobody is left to tell.
    }
  } finally {
    running.delete(key);
  }
}

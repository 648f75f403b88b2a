// The worker half of services: runSync('name') posts on the request's port and blocks for the answer.
import { isMainThread, threadId, type MessagePort } from 'node:worker_threads';
import { AlbanyError, ErrorCodes } from '../errors.js';
import { TIMED_OUT, receiveBlocking, type Signal } from './channel.js';
import { dataCloneError, isDataCloneError } from './clone-path.js';
import { rebuildForCaller } from '../errors-wire.js';
import type { ServiceCallMessage, ServiceCancelMessage, ServiceResultMessage } from './service-protocol.js';
import { registry } from './service-registry.js';
import { contextState } from '../context/state.js';

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

// Kept on globalThis, not in module variables: in a worker the legacy worker entry and the handler
// can load two copies of this file (piscina require()s the entry, the handler is import()ed), and the
// handler's runSync must see the bridge the entry installed.
const STATE = Symbol.for('albany.sync.serviceBridge');
const state = ((globalThis as Record<symbol, unknown>)[STATE] ??= { bridge: null, nextId: 1 }) as {
  bridge: ServiceBridge | null;
  nextId: number;
};

/** Worker side: installs (or, with null, removes) the bridge for the request being handled. */
export function setServiceBridge(next: ServiceBridge | null): void {
  state.bridge = next;
}

/** Blocks until the main thread's service `name` settles; see the contract at the top of this file. */
// biome-ignore lint/complexity/noBannedTypes: the parameter type of Error.captureStackTrace.
export function callService(name: string, args: readonly unknown[], timeoutMs: number, boundary: Function): unknown {
  const bridge = state.bridge;
  if (bridge === null) throw noBridge(name);
  const { port, signal, onOtherMessage } = bridge;
  const id = state.nextId++;
  // A task with a request context names it, so the service runs in that request's context.
  const task = contextState.current;
  const call: ServiceCallMessage =
    task === undefined || task.taskKey === 0
      ? { kind: 'service-call', thread: threadId, id, name, args }
      : { kind: 'service-call', thread: threadId, id, name, args, ctx: task.taskKey };
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
      throw new AlbanyError(
        ErrorCodes.ERR_ALBANY_TIMEOUT,
        `service '${name}' did not answer within ${timeoutMs} ms on the main thread`,
        {
          details: { service: name, timeoutMs },
        },
      );
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
      `runSync('${name}') was called on the thread that provides it: it would block the very event loop that ` +
        `must run it; await the service directly here`,
      { details: { service: name } },
    );
  }
  const where = isMainThread
    ? 'on the main thread, which has not provided it'
    : 'outside a legacy handler (no service bridge on this thread)';
  return new AlbanyError(
    ErrorCodes.ERR_ALBANY_UNKNOWN_SERVICE,
    `runSync('${name}') found no service of that name ${where}`,
    { details: { service: name } },
  );
}

function isServiceResult(msg: unknown): msg is ServiceResultMessage {
  return typeof msg === 'object' && msg !== null && (msg as { kind?: unknown }).kind === 'service-result';
}

// The blocking half-duplex primitive every thread boundary uses: post on a MessagePort, then wake a
// thread that sleeps in Atomics.wait on a shared counter; the sleeper takes the message with
// receiveMessageOnPort, so it never needs its own event loop to run.
import { receiveMessageOnPort, type MessagePort, type TransferListItem } from 'node:worker_threads';

/** A shared wake-up counter. One per receiving thread (or per channel). */
export type Signal = Int32Array;

/** Makes a {@link Signal} backed by a fresh SharedArrayBuffer (pass `signal.buffer` across threads). */
export function createSignal(buffer: SharedArrayBuffer = new SharedArrayBuffer(4)): Signal {
  return new Int32Array(buffer, 0, 1);
}

/**
 * Posts `message` on `port` and wakes whoever sleeps on `signal`. The post comes first so that a
 * woken receiver always finds the message queued.
 */
export function postAndWake(port: MessagePort, signal: Signal, message: unknown, transfer?: readonly TransferListItem[]): void {
  port.postMessage(message, transfer as TransferListItem[] | undefined);
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
}

/** What {@link receiveBlocking} returns when nothing arrived within the timeout. */
export const TIMED_OUT: unique symbol = Symbol('albany.timedOut');

/**
 * Blocks this thread until a message is on `port` (or `timeoutMs` passes) and returns it.
 * Must not be called on a thread whose event loop has to keep running (the main thread).
 */
export function receiveBlocking(port: MessagePort, signal: Signal, timeoutMs = Infinity): unknown {
  const deadline = timeoutMs === Infinity ? Infinity : performance.now() + timeoutMs;
  for (;;) {
    // Read the counter before looking at the port: a post that lands after the look bumps the
    // counter, so the wait below returns at once instead of sleeping through it.
    const seen = Atomics.load(signal, 0);
    const entry = receiveMessageOnPort(port);
    if (entry !== undefined) return entry.message;
    const remaining = deadline - performance.now();
    if (remaining <= 0) return TIMED_OUT;
    Atomics.wait(signal, 0, seen, remaining === Infinity ? undefined : remaining);
  }
}

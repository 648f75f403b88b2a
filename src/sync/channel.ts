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
export function postAndWake(
  port: MessagePort,
  signal: Signal,
  message: unknown,
  transfer?: readonly TransferListItem[],
): void {
  port.postMessage(message, transfer as TransferListItem[] | undefined);
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
}

// `performance` is an accessor on globalThis (a getter call on every read): read it once.
const perf = performance;

/** What {@link receiveBlocking} returns when nothing arrived within the timeout. */
export const TIMED_OUT: unique symbol = Symbol('albany.timedOut');

/**
 * Spins (no syscall) for up to `micros` µs while `signal` still reads `seen`; true if it changed.
 * Waking a thread parked in Atomics.wait costs a kernel round trip (10+ µs on small VMs), so a
 * reply expected within microseconds is cheaper to watch for than to sleep through.
 */
export function spinWhile(signal: Signal, seen: number, micros: number): boolean {
  if (micros <= 0) return false;
  const end = perf.now() + micros / 1000;
  while (Atomics.load(signal, 0) === seen) {
    if (perf.now() >= end) return false;
  }
  return true;
}

/**
 * Waits to skip before spinning again after `misses` earlier spins in a row missed (this one
 * included, counted from 0): 32, doubling with each further miss up to 2048. A miss means the
 * machine or the calls are slow; spins that keep missing (an oversubscribed machine, or one that
 * runs a single thread at a time) then cost almost nothing, and one hit resets the count.
 */
export function spinBackoff(misses: number): number {
  return 32 << Math.min(misses, 6);
}

/**
 * Blocks this thread until a message is on `port` (or `timeoutMs` passes) and returns it.
 * `spinMicros` > 0 first spins that long before parking (see {@link spinWhile}).
 * Must not be called on a thread whose event loop has to keep running (the main thread).
 */
export function receiveBlocking(port: MessagePort, signal: Signal, timeoutMs = Infinity, spinMicros = 0): unknown {
  const deadline = timeoutMs === Infinity ? Infinity : performance.now() + timeoutMs;
  let spin = spinMicros;
  for (;;) {
    // Read the counter before looking at the port: a post that lands after the look bumps the
    // counter, so the wait below returns at once instead of sleeping through it.
    const seen = Atomics.load(signal, 0);
    const entry = receiveMessageOnPort(port);
    if (entry !== undefined) return entry.message;
    const remaining = deadline - performance.now();
    if (remaining <= 0) return TIMED_OUT;
    if (spin > 0) {
      const changed = spinWhile(signal, seen, Math.min(spin, remaining * 1000));
      spin = 0; // spin once per receive: a second miss means the answer is not coming soon
      if (changed) continue;
    }
    Atomics.wait(signal, 0, seen, remaining === Infinity ? undefined : remaining);
  }
}

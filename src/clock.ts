// One clock for every thread: start times a worker stamps into shared memory are compared with the
// main thread's, and deadlines travel between them.
// Imported, not the global: in Node 20 `globalThis.performance` is a lazy accessor, and going through
// it costs about a third more than the call itself (~30 ns of ~80 measured in a loop), several
// times per legacy request on both threads.
import { performance } from 'node:perf_hooks';

// Fixed for the life of a thread; read once (its getter costs more than performance.now() itself,
// and the pool reads the clock several times per request).
const origin = performance.timeOrigin;

/**
 * Wall-clock milliseconds on any thread: `timeOrigin` differs per thread, so the sum is what makes a
 * start time a worker stamps into shared memory comparable with the main thread's clock.
 */
export function now(): number {
  return origin + performance.now();
}

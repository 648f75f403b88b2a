// One clock for every thread: start times a worker stamps into shared memory are compared with the
// main thread's, and deadlines travel between them.

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

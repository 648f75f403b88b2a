// One clock for every thread: start times a worker stamps into shared memory are compared with the
// main thread's, and deadlines travel between them.

/**
 * Wall-clock milliseconds on any thread: `timeOrigin` differs per thread, so the sum is what makes a
 * start time a worker stamps into shared memory comparable with the main thread's clock.
 */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

// CPU-bound work that never yields: the demo's example of code that must not run on the event loop.
// Its own module with a named export, so offload() can run the very same function in the pool.

/** Mixes a checksum for `ms` milliseconds of wall time (clamped to 0–2000) and returns it with the rounds done. */
export function busyChecksum(ms: number): { checksum: number; rounds: number } {
  const end = Date.now() + Math.max(0, Math.min(2000, ms));
  let h = 0x811c9dc5;
  let rounds = 0;
  while (Date.now() < end) {
    for (let i = 0; i < 1000; i++) h = Math.imul(h ^ i, 0x01000193) >>> 0;
    rounds++;
  }
  return { checksum: h, rounds };
}

// Shared bits of the reliability suite: a seeded PRNG, resource counters read from /proc, and bounded waits.
import { readdirSync, readlinkSync } from 'node:fs';

/** mulberry32: small, fast, good enough to pick faults reproducibly from a printed seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed from ALBANY_SEED, or a fixed default so CI runs are identical. */
export function seedFromEnv(fallback: number): number {
  const raw = process.env.ALBANY_SEED;
  return raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : fallback;
}

/** What each open descriptor of this process points at (Linux: /proc/self/fd), for leak messages. */
export function fdTargets(): string[] {
  const out: string[] = [];
  try {
    for (const fd of readdirSync('/proc/self/fd')) {
      try {
        out.push(`${fd}→${readlinkSync(`/proc/self/fd/${fd}`)}`);
      } catch {
        // closed meanwhile (the readdir's own descriptor, for one)
      }
    }
  } catch {
    // no /proc
  }
  return out;
}

/** OS threads of this process (Linux): the main thread, libuv/V8 helpers and one per worker thread. */
export function osThreads(): number {
  try {
    return readdirSync('/proc/self/task').length;
  } catch {
    return -1;
  }
}

// Polling and sleeping are the server tests' own helpers; `settle` is the name these tests read best with.
export { delay, waitFor as settle } from '../helpers/server.js';

/** Rejects with `what` if `promise` has not settled after `ms`, so a hang fails the test instead of stalling the suite. */
export async function bounded<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still pending after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

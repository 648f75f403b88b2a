// Small byte copies between typed arrays, shared by the runSync lane and the legacy pool's records:
// below a few dozen bytes a JS copy costs less than the builtins (TypedArray#set into or out of
// shared memory, Buffer#copy's generic path through a view).

/**
 * Copies `n` bytes (a few dozen at most: the lane's and the pool records' small values) from
 * `from` at `fromAt` to `to` at `toAt`: eight at a time, then the rest without a loop. A loop
 * iteration re-checks both arrays and reloads their data pointers after its interrupt check (a GC
 * may move an on-heap array), ~27 instructions a byte; straight-line copies share those checks, and indexes summed with `| 0` skip
 * the overflow check (they are small: within a shared slot or a small array). ~110 instructions
 * for 10 bytes instead of ~270, and a runSync call makes four such copies.
 */
export function copySmall(to: Uint8Array, toAt: number, from: Uint8Array, fromAt: number, n: number): void {
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const t = toAt + i;
    const f = fromAt + i;
    to[t] = from[f]!;
    to[(t + 1) | 0] = from[(f + 1) | 0]!;
    to[(t + 2) | 0] = from[(f + 2) | 0]!;
    to[(t + 3) | 0] = from[(f + 3) | 0]!;
    to[(t + 4) | 0] = from[(f + 4) | 0]!;
    to[(t + 5) | 0] = from[(f + 5) | 0]!;
    to[(t + 6) | 0] = from[(f + 6) | 0]!;
    to[(t + 7) | 0] = from[(f + 7) | 0]!;
  }
  const t = toAt + i;
  const f = fromAt + i;
  const left = n - i;
  if (left > 6) to[(t + 6) | 0] = from[(f + 6) | 0]!;
  if (left > 5) to[(t + 5) | 0] = from[(f + 5) | 0]!;
  if (left > 4) to[(t + 4) | 0] = from[(f + 4) | 0]!;
  if (left > 3) to[(t + 3) | 0] = from[(f + 3) | 0]!;
  if (left > 2) to[(t + 2) | 0] = from[(f + 2) | 0]!;
  if (left > 1) to[(t + 1) | 0] = from[(f + 1) | 0]!;
  if (left > 0) to[t] = from[f]!;
}

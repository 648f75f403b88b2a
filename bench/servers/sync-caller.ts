// A runSync workload for bench:instructions: one library per process (SYNC_LIB=albany|synckit),
// calling the same trivial async echo with a SYNC_BYTES-byte Uint8Array. It warms up, prints
// `{"ready":true}`, then for each stdin line `N` makes N calls and prints `{"done":N}`, so the
// parent can switch callgrind's instrumentation on for exactly those calls. Bundled by
// bench/lib/build-servers.ts; the reactor thread's entry is bundled beside it (buildWorkers).
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createSyncFn } from 'synckit';
import { closeReactor, configureSync, syncify } from '../../src/sync/index.js';

const lib = process.env.SYNC_LIB;
const bytes = Number(process.env.SYNC_BYTES ?? 10);
const warmup = Number(process.env.SYNC_WARMUP ?? 200);
const fixtures = process.env.SYNC_FIXTURES;
if ((lib !== 'albany' && lib !== 'synckit') || !Number.isInteger(bytes) || bytes < 0 || !fixtures) {
  process.stderr.write(
    `sync-caller: SYNC_LIB must be albany or synckit (got ${String(lib)}), SYNC_BYTES a byte count (got ` +
      `${String(process.env.SYNC_BYTES)}), SYNC_FIXTURES the fixtures folder URL\n`,
  );
  process.exit(2);
}

// SYNC_SPIN_MICROS: runSync's spin before it parks (default: the library's). Under valgrind, which
// runs one thread at a time, a spin can never see the answer arrive, so it is pure cost there.
if (lib === 'albany' && process.env.SYNC_SPIN_MICROS !== undefined)
  configureSync({ spinMicros: Number(process.env.SYNC_SPIN_MICROS) });

type Echo = (value: Uint8Array) => unknown;
const call: Echo =
  lib === 'albany'
    ? syncify<Echo>(new URL('bench-target.mjs', fixtures), 'echo')
    : (createSyncFn(fileURLToPath(new URL('bench-synckit-worker.mjs', fixtures))) as Echo);
const payload = new Uint8Array(bytes);

function calls(n: number): void {
  for (let i = 0; i < n; i++) {
    const answer = call(payload) as Uint8Array;
    // An echo that lost bytes would make a cheap call meaningless.
    if (answer.byteLength !== bytes) throw new Error(`${lib}: echo returned ${answer.byteLength} bytes, sent ${bytes}`);
  }
}

const input = Buffer.alloc(64);
const sleeper = new Int32Array(new SharedArrayBuffer(4));
// stdin may be a non-blocking socket (seen under the bench's spawn): a read then fails with EAGAIN
// until the line arrives, and each failure is a thrown error with a stack, inside the counted
// window. Made blocking, the read just sleeps in the kernel. (process.stdin is only made, paused,
// to reach its handle: it never reads.)
(process.stdin as unknown as { _handle?: { setBlocking?(blocking: boolean): number } })._handle?.setBlocking?.(true);

/** The next line of `fd` as a call count, or -1 at end of input. Blocks (this thread has nothing else to do). */
function readCount(fd: number): number {
  let n = 0;
  for (;;) {
    let got: number;
    try {
      got = readSync(fd, input, 0, 1, null);
    } catch (err) {
      // A non-blocking pipe: nothing to read yet.
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      Atomics.wait(sleeper, 0, 0, 1);
      continue;
    }
    if (got === 0) return -1;
    const c = input[0]!;
    if (c === 10) return n;
    if (c >= 48 && c <= 57) n = n * 10 + c - 48;
  }
}

// The warm-up exists to reach the steady state, and the counted calls must come through the same
// path as the warm-up, for both libraries alike. So: no readline or stream (its first line would
// parse and compile a dozen lazily compiled functions inside the counted window, ~1.8M Ir, ~900 Ir
// per counted call), but a blocking read whose code the warm-up runs too (on /dev/null); and the
// warm-up calls `calls` once per call instead of once for all of them. V8 optimizes a function once
// it has run enough of its own bytecode: one long warm-up loop only got that loop replaced on the
// stack (OSR), and the counted calls, a later invocation, ran `calls` unoptimized until its regular
// compile, which then landed in the counted window (~1.2k Ir per counted call, compiler).
for (let i = 0; i < warmup; i++) calls(1);
const devNull = openSync('/dev/null', 'r');
readCount(devNull);
closeSync(devNull);
writeSync(1, '{"ready":true}\n');
for (let n = readCount(0); n >= 0; n = readCount(0)) {
  calls(n);
  writeSync(1, `{"done":${n}}\n`);
}
void closeReactor().finally(() => process.exit(0));

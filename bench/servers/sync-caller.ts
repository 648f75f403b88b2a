// A runSync workload for bench:instructions: one library per process (SYNC_LIB=albany|synckit),
// calling the same trivial async echo with a SYNC_BYTES-byte Uint8Array. It warms up, prints
// `{"ready":true}`, then for each stdin line `N` makes N calls and prints `{"done":N}`, so the
// parent can switch callgrind's instrumentation on for exactly those calls. Bundled by
// bench/lib/build-servers.ts; the reactor thread's entry is bundled beside it (buildWorkers).
import { createInterface } from 'node:readline';
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

calls(warmup);
process.stdout.write('{"ready":true}\n');
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const n = Number(line);
  calls(n);
  process.stdout.write(`${JSON.stringify({ done: n })}\n`);
});
lines.once('close', () => void closeReactor().finally(() => process.exit(0)));

// runSync per-call cost against synckit's createSyncFn and a direct await, plus provided-service
// throughput from 2 worker threads. Run: npm run bench:sync  (env: ROUNDS=3 TIME_MS=700 SPIN_MICROS=50;
// SIZES='1 MB' runs only those payloads, SERVICE=0 skips the service part, ISOLATED=0 the per-process 1 MB part)
import { execFileSync } from 'node:child_process';
import { MessageChannel } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { cpus } from 'node:os';
import { Bench } from 'tinybench';
import { createSyncFn } from 'synckit';
import { postAndWake, createSignal } from '../src/sync/channel.js';
import { closeReactor, configureSync, provide, syncify } from '../src/sync/index.js';
import { handleServiceCall, isServiceMessage } from '../src/sync/services.js';
import { tsWorker } from '../test/fixtures/sync/ts-worker.js';
import { commitId } from './lib/machine.js';

const fixtures = new URL('../test/fixtures/sync/', import.meta.url);
const target = new URL('bench-target.mjs', fixtures);
const ROUNDS = Number(process.env['ROUNDS'] ?? 3);
const TIME_MS = Number(process.env['TIME_MS'] ?? 700);
const SPIN_MICROS = Number(process.env['SPIN_MICROS'] ?? 50);
configureSync({ spinMicros: SPIN_MICROS });
const allPayloads = {
  '10 B': new Uint8Array(10),
  '10 KB': new Uint8Array(10 * 1024),
  '1 MB': new Uint8Array(1024 * 1024),
} as const;
const sizes = process.env['SIZES']?.split(',').map((s) => s.trim());
const payloads = Object.fromEntries(
  Object.entries(allPayloads).filter(([size]) => sizes === undefined || sizes.includes(size)),
);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const direct = (await import(target.href)) as { echo: (v: unknown) => Promise<unknown> };
const makeAlbany = () => syncify<typeof direct.echo>(target, 'echo');
const makeSynckit = () =>
  createSyncFn(fileURLToPath(new URL('bench-synckit-worker.mjs', fixtures))) as (v: unknown) => unknown;

// SOLO=albany|synckit: a child of the isolated section below. One library per process, because at
// 1 MB the cost is mostly page faults on fresh buffers, and in one process each library's
// allocations change how often the other's fault (malloc reuses or returns freed memory).
const SOLO = process.env['SOLO'];
if (SOLO !== undefined) {
  const fn = SOLO === 'albany' ? makeAlbany() : makeSynckit();
  const payload = allPayloads['1 MB'];
  for (let i = 0; i < 200; i++) fn(payload);
  const batches: number[] = [];
  for (let k = 0; k < 200; k++) {
    const t = performance.now();
    for (let i = 0; i < 5; i++) fn(payload);
    batches.push((performance.now() - t) / 5);
  }
  console.log(JSON.stringify({ p50: median(batches) }));
  await closeReactor();
  process.exit(0);
}

const albany = makeAlbany();
const synckit = makeSynckit();

// Warm both threads (and their module loads) outside the measurements.
for (let i = 0; i < 200; i++) {
  albany(allPayloads['10 B']);
  synckit(allPayloads['10 B']);
}

const us = (ms: number): string => (ms * 1000).toFixed(1);
const ratios: Record<string, { mean: number[]; p50: number[] }> = {};

console.log(
  `commit ${commitId()}, node ${process.version}, ${cpus().length} CPUs, ${ROUNDS} rounds × ${TIME_MS} ms ` +
    `per task, spinMicros ${SPIN_MICROS}\n`,
);
for (let round = 1; round <= ROUNDS; round++) {
  const bench = new Bench({ time: TIME_MS, warmup: true });
  for (const [size, payload] of Object.entries(payloads)) {
    bench.add(`albany syncify ${size}`, () => void albany(payload));
    bench.add(`synckit createSyncFn ${size}`, () => void synckit(payload));
    bench.add(`direct await ${size}`, async () => void (await direct.echo(payload)));
  }
  await bench.run();
  const stat = (name: string) => {
    const r = bench.getTask(name)!.result as { latency: { mean: number; p50: number } };
    return r.latency;
  };
  console.log(`round ${round}`);
  console.log(
    '| payload | albany mean / p50 (µs) | synckit mean / p50 (µs) | direct await mean (µs) | albany ÷ ' +
      'synckit (mean / p50) |',
  );
  console.log('|---|---|---|---|---|');
  for (const size of Object.keys(payloads)) {
    const a = stat(`albany syncify ${size}`);
    const s = stat(`synckit createSyncFn ${size}`);
    const d = stat(`direct await ${size}`);
    (ratios[size] ??= { mean: [], p50: [] }).mean.push(a.mean / s.mean);
    ratios[size].p50.push(a.p50 / s.p50);
    console.log(
      `| ${size} | ${us(a.mean)} / ${us(a.p50)} | ${us(s.mean)} / ${us(s.p50)} | ${us(d.mean)} | ` +
        `${(a.mean / s.mean).toFixed(2)} / ${(a.p50 / s.p50).toFixed(2)} |`,
    );
  }
  console.log();
}
console.log('median over rounds, albany ÷ synckit (TARGETS.md: ≤ 0.25 at 10 B, ≤ 0.8 at 1 MB):');
for (const [size, r] of Object.entries(ratios))
  console.log(`  ${size}: mean ${median(r.mean).toFixed(2)}, p50 ${median(r.p50).toFixed(2)}`);

// ---- interleaved A/B: batches of albany and synckit alternate, so drift in machine load (other
// processes on these shared VMs) hits both sides alike; the ratio of medians is the robust figure.
console.log('\ninterleaved A/B (alternating batches, median per-call time):');
console.log('| payload | albany p50 (µs) | synckit p50 (µs) | albany ÷ synckit |');
console.log('|---|---|---|---|');
for (const [size, payload] of Object.entries(payloads)) {
  const batch = payload.byteLength > 100_000 ? 5 : 100;
  const a: number[] = [];
  const s: number[] = [];
  for (let k = 0; k < 40; k++) {
    let t = performance.now();
    for (let i = 0; i < batch; i++) albany(payload);
    a.push((performance.now() - t) / batch);
    t = performance.now();
    for (let i = 0; i < batch; i++) synckit(payload);
    s.push((performance.now() - t) / batch);
  }
  console.log(`| ${size} | ${us(median(a))} | ${us(median(s))} | ${(median(a) / median(s)).toFixed(2)} |`);
}

// ---- 1 MB with one library per process (see SOLO above), alternating, 3 processes each ----------
if (process.env['ISOLATED'] !== '0') {
  const solo = (lib: string): number => {
    const out = execFileSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
      env: { ...process.env, SOLO: lib },
    });
    return (JSON.parse(out.toString().trim().split('\n').pop()!) as { p50: number }).p50;
  };
  const a: number[] = [];
  const s: number[] = [];
  for (let k = 0; k < 3; k++) {
    a.push(solo('albany'));
    s.push(solo('synckit'));
  }
  console.log('\n1 MB, one library per process (median per-call time of each process, 200 batches of 5):');
  console.log(
    `  albany ${a.map(us).join(', ')} µs; synckit ${s.map(us).join(', ')} µs; albany ÷ synckit (medians) ` +
      `${(median(a) / median(s)).toFixed(2)}`,
  );
}

// ---- provided service, 2 workers calling it concurrently through the bridge -------------------
if (process.env['SERVICE'] === '0') {
  await closeReactor();
  process.exit(0);
}
provide('bench.echo', async (v: unknown) => v);
const CALLS = 2000;
async function serviceRun(workers: number): Promise<number> {
  const threads = Array.from({ length: workers }, () =>
    tsWorker(new URL('service-caller.ts', fixtures), { workerData: { mode: 'count' } }),
  );
  const t0 = performance.now();
  await Promise.all(
    threads.map(
      (w) =>
        new Promise<void>((resolve, reject) => {
          const { port1, port2 } = new MessageChannel();
          const signal = createSignal();
          port1.on('message', (m) => {
            if (isServiceMessage(m))
              void handleServiceCall(m, (reply, transfer) => postAndWake(port1, signal, reply, transfer));
          });
          w.once('message', (r: { ok: boolean; message?: string }) => {
            port1.close();
            if (r.ok) resolve();
            else reject(new Error(r.message));
          });
          w.once('error', reject);
          w.postMessage(
            {
              port: port2,
              signal: signal.buffer,
              service: 'bench.echo',
              calls: Array.from({ length: CALLS }, () => ['0123456789']),
            },
            [port2],
          );
        }),
    ),
  );
  const elapsed = performance.now() - t0; // includes worker start-up: a conservative figure
  await Promise.all(threads.map((w) => w.terminate()));
  return ((workers * CALLS) / elapsed) * 1000;
}
await serviceRun(1); // warm-up (tsx transform cache, JIT)
const one = await serviceRun(1);
const two = await serviceRun(2);
console.log(
  `\nprovided service (runSync('bench.echo') from workers, run on the main loop), ${CALLS} calls per worker, ` +
    `start-up included:`,
);
console.log(
  `  1 worker: ${Math.round(one)} calls/s; 2 workers concurrently: ${Math.round(two)} calls/s ` +
    `(${(two / one).toFixed(2)} × 1 worker)`,
);
await closeReactor();

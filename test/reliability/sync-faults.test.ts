// runSync under faults: the reactor killed mid-call, hung targets, deadlock attempts, misbehaving
// services called from legacy workers. Every call raises its code; none hangs. The blocking
// scenarios run in a worker thread each, so a hang is cut by a timer (terminate) and fails the test.
import test from 'ava';
import type { Worker } from 'node:worker_threads';
import { legacy } from '../../legacy-adapter/index.js';
import { serve } from '../../src/server/http.js';
import { provide } from '../../src/sync/index.js';
import { tsWorker } from '../fixtures/sync/ts-worker.js';
import { captureLogger } from '../helpers/server.js';
import { bounded, osThreads, settle } from './helpers.js';

const scenarios = new URL('../fixtures/reliability/sync-scenarios.ts', import.meta.url);

/** Runs one scenario in a fresh thread; fails if it has not reported within `limitMs` (then terminates it). */
async function scenario<T>(name: string, limitMs: number): Promise<T> {
  const worker: Worker = tsWorker(scenarios, { workerData: { scenario: name } });
  try {
    const report = await bounded(
      new Promise<{ ok: boolean; result?: T; error?: string }>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
        worker.once('exit', (code) => reject(new Error(`scenario thread exited with ${code} before reporting`)));
      }),
      limitMs,
      `scenario ${name}`,
    );
    if (!report.ok) throw new Error(report.error);
    return report.result as T;
  } finally {
    await worker.terminate();
  }
}

interface Outcome {
  code: string;
  ms: number;
}

test('the reactor killed by process.exit mid-call, 5 times in a row: each blocked call raises ERR_ALBANY_REACTOR_CRASHED at once and the next call runs on a new reactor', async (t) => {
  const out = await scenario<Array<Outcome & { after: string }>>('exit-mid-call', 30_000);
  t.is(out.length, 5);
  for (const [i, o] of out.entries()) {
    t.is(o.code, 'ERR_ALBANY_REACTOR_CRASHED');
    t.true(o.ms < 10_000, `raised after ${Math.round(o.ms)} ms, not at the 20 s timeout`);
    t.is(o.after, `alive ${i}`);
  }
});

test('an uncaught exception in the reactor mid-call raises ERR_ALBANY_REACTOR_CRASHED', async (t) => {
  const o = await scenario<Outcome & { after: string }>('throw-mid-call', 20_000);
  t.is(o.code, 'ERR_ALBANY_REACTOR_CRASHED');
  t.true(o.ms < 10_000);
  t.is(o.after, 'alive');
});

test('20 awaited calls in flight when the reactor dies: all 21 fail with ERR_ALBANY_REACTOR_CRASHED, none left pending', async (t) => {
  const r = await scenario<{ codes: string[]; ms: number; after: string }>('exit-with-calls-in-flight', 20_000);
  t.is(r.codes.length, 21);
  t.deepEqual([...new Set(r.codes)], ['ERR_ALBANY_REACTOR_CRASHED']);
  t.true(r.ms < 10_000);
  t.is(r.after, 'alive');
});

test('20 hung calls with 50 ms timeouts each raise ERR_ALBANY_TIMEOUT near their timeout; the reactor still answers after', async (t) => {
  const r = await scenario<{ out: Outcome[]; after: string }>('timeouts', 20_000);
  t.is(r.out.length, 20);
  for (const o of r.out) {
    t.is(o.code, 'ERR_ALBANY_TIMEOUT');
    t.true(o.ms < 2000, `returned after ${Math.round(o.ms)} ms`);
  }
  t.is(r.after, 'alive');
});

test('deadlock attempts raise ERR_ALBANY_DEADLOCK instead of waiting: runSync inside the reactor, and a service provided by the calling thread', async (t) => {
  t.is(await scenario<string>('deadlock-reactor', 20_000), 'ERR_ALBANY_DEADLOCK');
  const o = await scenario<Outcome>('deadlock-service', 20_000);
  t.is(o.code, 'ERR_ALBANY_DEADLOCK');
  t.true(o.ms < 1000);
});

test('blocking legacy handlers calling misbehaving services on the gateway loop: hang → ERR_ALBANY_TIMEOUT, throw → its code, missing → ERR_ALBANY_UNKNOWN_SERVICE; a worker killed by taskTimeout while blocked in runSync is replaced', async (t) => {
  const threadsBefore = osThreads();
  const withdraw = [
    provide('rel.hang', () => new Promise(() => {})),
    provide('rel.throw', async () => {
      throw Object.assign(new Error('service failed'), { code: 'E_SERVICE' });
    }),
    provide('rel.ok', async () => 42),
    provide('rel.slow', () => new Promise((resolve) => setTimeout(() => resolve('late'), 3000).unref())),
  ];
  t.teardown(() => {
    for (const w of withdraw) w();
  });
  const app = legacy(new URL('../fixtures/reliability/sync-legacy.ts', import.meta.url), {
    pool: { minThreads: 1, maxThreads: 2, maxQueue: 16, taskTimeoutMs: 800 },
    log: () => {},
  });
  const server = await serve(app, { host: '127.0.0.1', port: 0, lifespan: 'off', logger: captureLogger() });
  t.teardown(async () => {
    await bounded(server.close(), 5000, 'server.close').catch(() => server.server.closeAllConnections());
    await app.pool.close({ force: true });
  });
  const get = async (path: string) => {
    // A hang detector, not a timing bound: a worker thread starting on a loaded machine took seconds.
    const res = await bounded(fetch(`${server.url}${path}`), 20_000, path);
    return `${res.status} ${await res.text()}`;
  };
  t.is(await get('/rel.ok'), '200 ok 42');
  t.is(await get('/rel.hang'), '200 ERR_ALBANY_TIMEOUT');
  t.is(await get('/rel.throw'), '200 E_SERVICE');
  t.is(await get('/nobody.provides.this'), '200 ERR_ALBANY_UNKNOWN_SERVICE');
  // Ten hung service calls at once from two workers: all time out, none pins a worker.
  const many = await Promise.all(Array.from({ length: 10 }, () => get('/rel.hang')));
  t.deepEqual([...new Set(many)], ['200 ERR_ALBANY_TIMEOUT']);
  // A handler blocked in runSync (allowed 5 s) past the pool's taskTimeoutMs (800 ms): 504, the worker
  // is replaced, and the late service answer lands nowhere harmful.
  const timedOutBefore = app.pool.stats().rejected.timeout;
  t.is(await get('/rel.slow/5000'), '504 Gateway Timeout');
  t.is(app.pool.stats().rejected.timeout, timedOutBefore + 1);
  t.is(await get('/rel.ok'), '200 ok 42');
  await new Promise((r) => setTimeout(r, 2500)); // the slow service answers into a closed port
  t.is(await get('/rel.ok'), '200 ok 42');
  await app.pool.close();
  t.true(await settle(() => osThreads() <= threadsBefore + 4, 5000), `threads ${threadsBefore} → ${osThreads()}`);
});

// Starvation is detected, not waited out: a runSync service that calls back into the pool whose every
// thread is blocked on such services fails at once with ERR_ALBANY_STARVATION, naming the pool and the
// service, instead of waiting for taskTimeoutMs.
import test from 'ava';
import { inspect } from 'node:util';
import { AlbanyError } from '../../src/errors.js';
import { legacy } from '../../legacy-adapter/index.js';
import { offload } from '../../src/pool/offload.js';
import { createPool } from '../../src/pool/pool.js';
import { serve } from '../../src/server/http.js';
import { provide } from '../../src/sync/services.js';
import type * as Fns from '../fixtures/offload/starving.js';

const fns = new URL('../fixtures/offload/starving.ts', import.meta.url);
// Far above what any assertion below allows: a starved call that waited it out would fail the test.
const TASK_TIMEOUT_MS = 30_000;

function pool(name: string, maxThreads: number) {
  return createPool(
    { maxThreads, minThreads: maxThreads, taskTimeoutMs: TASK_TIMEOUT_MS },
    { name, configSources: false },
  );
}

async function rejection(promise: Promise<unknown>): Promise<AlbanyError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!AlbanyError.is(err)) throw new Error(`expected an AlbanyError, got ${String(err)}`);
  return err;
}

test('pool of 1: its thread waits in runSync on a service that offloads into the same pool -> ERR_ALBANY_STARVATION at once', async (t) => {
  const p = pool('starve-one', 1);
  t.teardown(() => p.close());
  const leaf = offload<typeof Fns.leaf>(fns, 'leaf', { pool: p });
  const withdraw = provide('starve.one', async (x: number) => leaf(x));
  t.teardown(withdraw);
  const viaService = offload<typeof Fns.viaService>(fns, 'viaService', { pool: p });
  await viaService('starve.none', 0).catch(() => undefined); // the thread is up and has loaded the module
  const started = Date.now();
  const err = await rejection(viaService('starve.one', 21));
  t.is(err.code, 'ERR_ALBANY_STARVATION');
  t.regex(
    err.message,
    /pool 'starve-one' is starved: all 1 of its thread\(s\) wait in runSync on service 'starve\.one'/,
  );
  t.true(Date.now() - started < 5_000, `failed after ${Date.now() - started} ms, not at once`);
  // The pool is not stuck afterwards: the same thread serves the next call.
  t.is(await leaf(4), 8);
});

test('pool of 2: one thread waiting on the pool is fine; the call that leaves both waiting fails, and the other then finishes', async (t) => {
  const p = pool('starve-two', 2);
  t.teardown(() => p.close());
  const leaf = offload<typeof Fns.leaf>(fns, 'leaf', { pool: p });
  // The service holds each call until both threads are inside it; then (past the warm-up round, which
  // only starts both threads and loads the module) it calls back into the pool.
  let round = 0;
  let arrived = 0;
  let bothIn!: () => void;
  let barrier = new Promise<void>((resolve) => (bothIn = resolve));
  const withdraw = provide('starve.two', async (x: number) => {
    const mine = barrier;
    if (++arrived === 2) bothIn();
    await mine;
    return round === 0 ? x : leaf(x);
  });
  t.teardown(withdraw);
  const viaService = offload<typeof Fns.viaService>(fns, 'viaService', { pool: p });
  const warm = await Promise.all([viaService('starve.two', 1), viaService('starve.two', 2)]);
  t.not(warm[0]!.threadId, warm[1]!.threadId, 'both threads are up');
  round = 1;
  arrived = 0;
  barrier = new Promise<void>((resolve) => (bothIn = resolve));
  const started = Date.now();
  const outcomes = await Promise.allSettled([viaService('starve.two', 1), viaService('starve.two', 2)]);
  const elapsed = Date.now() - started;
  const failed = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
  const done = outcomes.filter(
    (o): o is PromiseFulfilledResult<{ answer: unknown; threadId: number }> => o.status === 'fulfilled',
  );
  t.is(failed.length, 1, JSON.stringify(outcomes.map((o) => o.status)));
  t.is(done.length, 1);
  t.is((failed[0]!.reason as AlbanyError).code, 'ERR_ALBANY_STARVATION');
  t.regex(
    (failed[0]!.reason as AlbanyError).message,
    /pool 'starve-two' is starved: all 2 of its thread\(s\) wait in runSync on service 'starve\.two'/,
  );
  // The survivor's leaf ran on the thread the failed call gave back.
  t.true([2, 4].includes(done[0]!.value.answer as number));
  t.true(elapsed < 5_000, `took ${elapsed} ms`);
});

test('pool of 2: both threads waiting on services that do not call the pool are left alone', async (t) => {
  const p = pool('starve-none', 2);
  t.teardown(() => p.close());
  const withdraw = provide('starve.slow', async (x: number) => {
    await new Promise((resolve) => setTimeout(resolve, 200));
    return x + 1;
  });
  t.teardown(withdraw);
  const viaService = offload<typeof Fns.viaService>(fns, 'viaService', { pool: p });
  const results = await Promise.all([viaService('starve.slow', 1), viaService('starve.slow', 2)]);
  t.deepEqual(results.map((r) => r.answer).sort(), [2, 3]);
});

test('a legacy route blocked in runSync on a service that offloads into its own pool of 1 answers at once, not with a 504 after taskTimeoutMs', async (t) => {
  const p = pool('starve-route', 1);
  t.teardown(() => p.close());
  const logged: string[] = [];
  const route = legacy(new URL('../fixtures/legacy/starving.ts', import.meta.url), {
    pool: p,
    log: (message: string, error?: unknown) => void logged.push(`${message} ${inspect(error)}`),
  });
  const leaf = offload<typeof Fns.leaf>(fns, 'leaf', { pool: p });
  // The first request (the warm-up: thread, handler module and leaf loaded) is answered here.
  let calls = 0;
  const withdraw = provide('starve.route', async (x: number) => (++calls === 1 ? x : leaf(x)));
  t.teardown(withdraw);
  t.is(await leaf(1), 2);
  const server = await serve(route, { port: 0, lifespan: 'off', logLevel: 'silent' });
  t.teardown(() => server.close());
  t.is(await (await fetch(`${server.url}/`)).text(), '21');
  const started = Date.now();
  const res = await fetch(`${server.url}/`);
  const elapsed = Date.now() - started;
  t.is(res.status, 500);
  t.true(elapsed < 5_000, `answered after ${elapsed} ms`);
  t.true(
    logged.some((m) => m.includes("pool 'starve-route' is starved") && m.includes("'starve.route'")),
    logged.join('\n'),
  );
});

import test from 'ava';
import type { AlbanyError } from '../../src/errors.js';
import { provide, runSync } from '../../src/sync/index.js';

const typed = new URL('../fixtures/sync/typed-fns.ts', import.meta.url);

test('a provided service called on the thread that provides it throws ERR_ALBANY_DEADLOCK at once', (t) => {
  const withdraw = provide('deadlock.svc', async () => 1);
  try {
    const started = performance.now();
    const err = t.throws(() => runSync('deadlock.svc')) as AlbanyError;
    t.is(err.code, 'ERR_ALBANY_DEADLOCK');
    t.true(performance.now() - started < 1000);
  } finally {
    withdraw();
  }
});

test('an unknown service on the main thread is ERR_ALBANY_UNKNOWN_SERVICE', (t) => {
  const err = t.throws(() => runSync('nobody.provides.this')) as AlbanyError;
  t.is(err.code, 'ERR_ALBANY_UNKNOWN_SERVICE');
});

test('a blocking call onto the reactor from inside the reactor throws ERR_ALBANY_DEADLOCK', (t) => {
  // Bounded: if the guard failed, the inner call would hang until this timeout.
  t.is(runSync({ module: typed, export: 'nestedSyncify', timeoutMs: 10_000 }), 'ERR_ALBANY_DEADLOCK');
});

test('a second copy of the registry module in this thread sees services provided through the first', async (t) => {
  // A query string makes the loader evaluate a fresh copy, as a CJS entry + ESM handler would.
  const first = await import('../../src/sync/service-registry.js');
  const copy = (await import(`../../src/sync/service-registry.js?copy=${Date.now()}`)) as typeof first;
  t.not(copy.provide, first.provide, 'really a second copy');
  const withdraw = provide('shared.svc', async () => 1);
  try {
    t.true(copy.registry.has('shared.svc'));
  } finally {
    withdraw();
  }
});

import test from 'ava';
import { AlbanyError } from '../../src/errors.js';
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

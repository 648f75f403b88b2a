import test from 'ava';
import type { AlbanyError } from '../../src/errors.js';
import { closeReactor, configureSync, runInReactor, runSync, syncify } from '../../src/sync/index.js';

const fns = new URL('../fixtures/sync/async-fns.js', import.meta.url);

test.serial('a call past its per-call timeout fails with ERR_ALBANY_TIMEOUT, and later calls still run', (t) => {
  const hang = syncify(fns, 'hang', { timeoutMs: 200 });
  const started = performance.now();
  const err = t.throws(() => hang()) as AlbanyError;
  t.is(err.code, 'ERR_ALBANY_TIMEOUT');
  t.true(performance.now() - started < 10_000, 'returned near its timeout, not hung');
  // The hung call is still pending in the reactor; it must not hold up the next ones.
  t.is(runSync({ module: fns, export: 'add', timeoutMs: 5000 }, 1, 2), 3);
  t.is(syncify(fns, 'echo')('after'), 'after');
});

test.serial('configureSync sets the default wait of every call on this thread', (t) => {
  const before = configureSync({ timeoutMs: 150 });
  try {
    t.is(before.timeoutMs, 150);
    const err = t.throws(() => runSync({ module: fns, export: 'hang' })) as AlbanyError;
    t.is(err.code, 'ERR_ALBANY_TIMEOUT');
    t.is(err.details?.['timeoutMs'], 150);
  } finally {
    configureSync({ timeoutMs: 30_000 });
  }
});

test.serial('a timed-out call is cancelled in the reactor: its AbortSignal fires', (t) => {
  const err = t.throws(() => runSync({ module: fns, export: 'waitForAbort', timeoutMs: 100 })) as AlbanyError;
  t.is(err.code, 'ERR_ALBANY_TIMEOUT');
  // The abort is delivered asynchronously in the reactor; poll briefly.
  let seen: unknown = null;
  for (let i = 0; i < 50 && seen === null; i++) {
    seen = runSync({ module: fns, export: 'lastAbort' });
    if (seen === null) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
  t.is(seen, 'ERR_ALBANY_ABORTED');
});

test.serial('EventualResult.wait times out without cancelling, so it can be waited on again', (t) => {
  const r = runInReactor<number>(fns, 'add', [1, 1]);
  const slow = runInReactor(fns, 'hang', [], { timeoutMs: 60_000 });
  const err = t.throws(() => slow.wait(50)) as AlbanyError;
  t.is(err.code, 'ERR_ALBANY_TIMEOUT');
  t.is(r.wait(5000), 2);
  slow.cancel();
  t.is((t.throws(() => slow.wait(50)) as AlbanyError).code, 'ERR_ALBANY_ABORTED');
});

test.serial('a timeout is never early, and not stretched by replies to other calls waking the waiter', (t) => {
  // Replies to these land while the blocking call below waits (each wakes it without its outcome).
  const others = Array.from({ length: 40 }, (_, i) => runInReactor<number>(fns, 'add', [i, 1]));
  for (const timeoutMs of [30, 120]) {
    const started = performance.now();
    const err = t.throws(() => runSync({ module: fns, export: 'hang', timeoutMs })) as AlbanyError;
    const took = performance.now() - started;
    t.is(err.code, 'ERR_ALBANY_TIMEOUT');
    t.true(took >= timeoutMs, `not before its ${timeoutMs} ms (took ${took.toFixed(1)} ms)`);
    t.true(took < timeoutMs + 2000, `near its ${timeoutMs} ms (took ${took.toFixed(1)} ms)`);
  }
  t.deepEqual(
    others.map((r) => r.wait(5000)),
    others.map((_, i) => i + 1),
  );
});

test.serial('timeouts are validated and name the option', (t) => {
  const err = t.throws(() => configureSync({ timeoutMs: -1 })) as AlbanyError;
  t.is(err.code, 'ERR_ALBANY_INVALID_CONFIG');
  t.regex(err.message, /options\.timeoutMs/);
  t.throws(() => syncify(fns, 'echo', { timeoutMs: 0 }), { message: /options\.timeoutMs/ });
});

test.serial('spinMicros is validated, and spinning or not changes no results', async (t) => {
  t.throws(() => configureSync({ spinMicros: -5 }), { message: /options\.spinMicros/ });
  const { spinMicros } = configureSync({});
  configureSync({ spinMicros: spinMicros === 0 ? 50 : 0 }); // whichever the default is not
  try {
    await closeReactor(); // the reactor reads spinMicros when it starts
    const echo = syncify(fns, 'echo');
    for (let i = 0; i < 50; i++) t.is(echo(i), i);
    t.is(runSync({ module: fns, export: 'add' }, 1, 2), 3, 'a slower call (its spin misses) still answers');
  } finally {
    configureSync({ spinMicros });
    await closeReactor();
  }
});

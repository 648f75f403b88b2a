import test from 'ava';
import type { AlbanyError } from '../../src/errors.js';
import { runInReactor, runSync } from '../../src/sync/index.js';

const fns = new URL('../fixtures/sync/async-fns.js', import.meta.url);

test.serial(
  'cancel() aborts this.signal in the async export and fails the result with ERR_ALBANY_ABORTED',
  async (t) => {
    runSync({ module: fns, export: 'echo' }, 'load the module first, so the export is running when cancelled');
    const r = runInReactor(fns, 'waitForAbort', [], { timeoutMs: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    r.cancel();
    const err = (await t.throwsAsync(Promise.resolve(r))) as AlbanyError;
    t.is(err.code, 'ERR_ALBANY_ABORTED');
    t.is(r.originalError, err);
    let seen: unknown = null;
    for (let i = 0; i < 50 && seen === null; i++) {
      seen = runSync({ module: fns, export: 'lastAbort' });
      if (seen === null) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    t.is(seen, 'ERR_ALBANY_ABORTED', 'the export saw the abort, with an albany reason');
  },
);

test.serial('cancel() after the call settled changes nothing', async (t) => {
  const r = runInReactor<string>(fns, 'echo', ['done']);
  t.is(await r, 'done');
  r.cancel();
  t.is(r.wait(1000), 'done');
});

test.serial('calls in flight run concurrently in the reactor: 20 × 500 ms sleeps finish well under 10 s', async (t) => {
  const fns2 = new URL('../fixtures/sync/async-fns.js', import.meta.url);
  runSync({ module: fns2, export: 'echo' }, 'warm up');
  const started = performance.now();
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) => runInReactor<number>(fns2, 'sleepThenEcho', [500, i])),
  );
  t.deepEqual(
    results,
    Array.from({ length: 20 }, (_, i) => i),
  );
  t.true(performance.now() - started < 5000, `took ${Math.round(performance.now() - started)} ms`);
});

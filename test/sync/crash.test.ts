import test from 'ava';
import type { AlbanyError } from '../../src/errors.js';
import { closeReactor, runInReactor, runSync, syncify } from '../../src/sync/index.js';

const fns = new URL('../fixtures/sync/async-fns.js', import.meta.url);
const threadId = syncify<() => Promise<number>>(fns, 'threadId', { timeoutMs: 20_000 });

test.serial(
  'process.exit in the reactor fails the call in flight with ERR_ALBANY_REACTOR_CRASHED; the next call gets a new reactor',
  (t) => {
    const before = threadId();
    const started = performance.now();
    const err = t.throws(() => runSync({ module: fns, export: 'crashByExit', timeoutMs: 20_000 })) as AlbanyError;
    t.is(err.code, 'ERR_ALBANY_REACTOR_CRASHED');
    t.true(performance.now() - started < 15_000, 'reported at once, not at the timeout');
    const after = threadId();
    t.not(after, before);
    t.is(syncify(fns, 'echo')('alive'), 'alive');
  },
);

test.serial('an uncaught exception in the reactor is a crash too, and its message is reported', (t) => {
  const err = t.throws(() => runSync({ module: fns, export: 'crashByThrow', timeoutMs: 20_000 })) as AlbanyError;
  t.is(err.code, 'ERR_ALBANY_REACTOR_CRASHED');
  t.regex(err.message, /reactor boom/);
  t.is(runSync({ module: fns, export: 'add' }, 2, 2), 4);
});

test.serial(
  'a reactor that dies while idle is replaced on the next call, even if this thread never ran its event loop',
  (t) => {
    const before = threadId();
    t.is(runSync({ module: fns, export: 'crashLater' }, 20), 'scheduled');
    // Block this thread (no event loop, so no 'exit' event here) while the idle reactor's timer fires.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
    const after = threadId();
    t.not(after, before);
  },
);

test.serial('a crash fails awaited calls as well', async (t) => {
  const pending = runInReactor(fns, 'hang', [], { timeoutMs: 20_000 });
  const crash = runInReactor(fns, 'crashByExit', [], { timeoutMs: 20_000 });
  const errs = await Promise.all([t.throwsAsync(Promise.resolve(pending)), t.throwsAsync(Promise.resolve(crash))]);
  for (const e of errs) t.is((e as AlbanyError).code, 'ERR_ALBANY_REACTOR_CRASHED');
});

test.serial('closeReactor stops the thread, fails calls in flight, and a later call starts a new one', async (t) => {
  const before = threadId();
  const pending = runInReactor(fns, 'hang', [], { timeoutMs: 20_000 });
  await closeReactor();
  t.is(((await t.throwsAsync(Promise.resolve(pending))) as AlbanyError).code, 'ERR_ALBANY_ABORTED');
  t.not(threadId(), before);
  await closeReactor();
});

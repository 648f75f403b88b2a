import test from 'ava';
import { completeConfig, createPool } from '../../src/pool/pool.js';
import { hasCode } from '../../src/errors.js';
import { run } from './helpers.js';

test.serial('a pool runs a task and reports it in stats()', async (t) => {
  const pool = createPool({ maxThreads: 1 }, { name: 'one' });
  try {
    const result = await run(pool, '/ok');
    t.is(Buffer.from(result.body!).toString(), 'ok /ok');
    t.is(result.start?.status, 200);
    const stats = pool.stats();
    t.like(stats, { name: 'one', completed: 1, queued: 0, running: 0, maxQueue: 256 });
  } finally {
    await pool.close();
  }
});

test.serial('several pools live side by side with their own config', async (t) => {
  const a = createPool({ maxThreads: 1, maxQueue: 0 });
  const b = createPool({ maxThreads: 2, maxQueue: 5 });
  try {
    t.is(a.maxQueue, 0);
    t.is(b.maxQueue, 5);
    const [ra, rb] = await Promise.all([run(a, '/tid'), run(b, '/tid')]);
    t.not(Buffer.from(ra.body!).toString(), Buffer.from(rb.body!).toString());
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test.serial(
  'dispatch past the queue bound rejects with ERR_ALBANY_QUEUE_FULL; an aborted queued task never runs',
  async (t) => {
    const pool = createPool({ maxThreads: 1, maxQueue: 1 });
    try {
      const busy = run(pool, '/spin?ms=400');
      const controller = new AbortController();
      const queued = run(pool, '/ok', controller.signal);
      const refused = await run(pool, '/ok').catch((e: unknown) => e);
      t.true(hasCode(refused, 'ERR_ALBANY_QUEUE_FULL'));
      controller.abort();
      t.true(hasCode(await queued.catch((e: unknown) => e), 'ERR_ALBANY_ABORTED'));
      await busy;
      t.like(pool.stats(), { completed: 1, rejected: { 'queue-full': 1, aborted: 1, timeout: 0, crash: 0 } });
    } finally {
      await pool.close();
    }
  },
);

test('a partial config is completed from the defaults and checked', (t) => {
  const config = completeConfig({ maxThreads: 3, onDisconnect: 'abort' });
  t.is(config.maxThreads, 3);
  t.is(config.onDisconnect, 'abort');
  t.is(config.taskTimeoutMs, 30_000);
  const err = t.throws(() => completeConfig({ maxThreads: 0, bogus: 1 } as never));
  t.true(hasCode(err, 'ERR_ALBANY_INVALID_CONFIG'));
  t.regex(err!.message, /maxThreads[\s\S]*bogus/);
});

test('close() refuses further tasks', async (t) => {
  const pool = createPool({ maxThreads: 1, minThreads: 0 });
  await pool.close();
  t.true(hasCode(await run(pool, '/ok').catch((e: unknown) => e), 'ERR_ALBANY_ABORTED'));
});

test.serial('fifty concurrent requests on two threads all complete and the counts add up', async (t) => {
  const pool = createPool({ maxThreads: 2, minThreads: 2, maxQueue: 100 });
  try {
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => run(pool, `/ok?${i}`)));
    t.true(results.every((r) => r.start?.status === 200 && Buffer.from(r.body!).toString() === 'ok /ok'));
    t.like(pool.stats(), {
      completed: 50,
      queued: 0,
      running: 0,
      rejected: { 'queue-full': 0, aborted: 0, timeout: 0, crash: 0 },
    });
  } finally {
    await pool.close();
  }
});

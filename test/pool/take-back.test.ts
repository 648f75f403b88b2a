// Proves the edges of taking requests back from a busy thread's batch (src/pool/take-back.ts): a
// request taken back runs once, on the free thread, and keeps its own timeout, client abort and
// crash handling there; the thread it left is not blamed for it, nor killed with it.
import test from 'ava';
import { hasCode } from '../../src/errors.js';
import { createPool, type LegacyPool } from '../../src/pool/pool.js';
import type { LegacyTask, TaskResult } from '../../src/pool/protocol.js';
import { fixtureMount, until } from './helpers.js';

const mount = fixtureMount('pool/sleep.ts');

/** A request to test/fixtures/pool/sleep.ts with this query. */
function sleep(query: string): LegacyTask {
  return {
    mount,
    request: {
      method: 'GET',
      url: `/?${query}`,
      path: '/',
      rootPath: '',
      queryString: query,
      scheme: 'http',
      httpVersion: '1.1',
      server: null,
      client: null,
      headers: [],
    },
    body: new Uint8Array(0),
    more: false,
  };
}

const quietLog = (): void => {};
const answer = (r: TaskResult): { tag: string; threadId: number } =>
  JSON.parse(Buffer.from(r.body!).toString()) as { tag: string; threadId: number };
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Two threads, both started with the module loaded; returns their thread ids. */
async function warmPair(pool: LegacyPool): Promise<void> {
  for (let round = 0; round < 10; round++) {
    const both = await Promise.all([pool.run(sleep('ms=150')), pool.run(sleep('ms=150'))]);
    if (new Set(both.map((r) => answer(r).threadId)).size === 2) return;
  }
  throw new Error('the two threads never ran two requests at once');
}

/**
 * Keeps one thread busy for `firstMs`, then hands `rest` to the other in one batch (one free slot
 * is left when they are flushed, so they all go in one hand-off).
 */
async function busyThenBatch(pool: LegacyPool, firstMs: number, rest: string[]) {
  const first = pool.run(sleep(`ms=${firstMs}&tag=first`));
  await nextTurn();
  const controllers = rest.map(() => new AbortController());
  const results = rest.map((query, i) => pool.run(sleep(query), { signal: controllers[i]!.signal }));
  await nextTurn();
  return { first, results, controllers };
}

test.serial(
  'requests taken back from a thread that then crashes ran once on the other thread; only the crashing one fails',
  async (t) => {
    const pool = createPool({ maxThreads: 2, minThreads: 2, taskTimeoutMs: 0 }, { log: quietLog });
    try {
      await warmPair(pool);
      const warm = pool.stats().completed;
      const { first, results } = await busyThenBatch(pool, 100, [
        'ms=400&exit=1&tag=crash',
        'ms=5&tag=a',
        'ms=5&tag=b',
        'ms=5&tag=c',
      ]);
      const [crash, ...rest] = await Promise.allSettled(results);
      const firstThread = answer(await first).threadId;
      t.is(crash!.status, 'rejected');
      if (crash?.status === 'rejected')
        t.true(hasCode(crash.reason, 'ERR_ALBANY_WORKER_CRASHED'), String(crash.reason));
      for (const r of rest) {
        t.is(r.status, 'fulfilled');
        if (r.status === 'fulfilled')
          t.is(answer(r.value).threadId, firstThread, `${answer(r.value).tag} ran on the thread that came free`);
      }
      const stats = pool.stats();
      t.like(stats, { completed: warm + 4, rejected: { crash: 1, timeout: 0, aborted: 0 }, queued: 0, running: 0 });
      t.true(stats.takenBack >= 3, `takenBack ${stats.takenBack}`);
    } finally {
      await pool.close();
    }
  },
);

test.serial('a taken-back request keeps its timeout on its new thread: only that thread is replaced', async (t) => {
  const pool = createPool({ maxThreads: 2, minThreads: 2, taskTimeoutMs: 800 }, { log: quietLog });
  try {
    await warmPair(pool);
    const { first, results } = await busyThenBatch(pool, 100, ['ms=600&tag=stuck', 'ms=3000&tag=hung']);
    const [stuck, hung] = await Promise.allSettled(results);
    await first;
    t.is(stuck!.status, 'fulfilled', 'the thread it was taken from was not killed for it');
    t.is(hung!.status, 'rejected');
    if (hung?.status === 'rejected') t.true(hasCode(hung.reason, 'ERR_ALBANY_TIMEOUT'), String(hung.reason));
    t.like(pool.stats(), { rejected: { timeout: 1, crash: 0 }, queued: 0, running: 0 });
    t.true(pool.stats().takenBack >= 1);
  } finally {
    await pool.close();
  }
});

test.serial('a taken-back request whose caller aborts before its new thread reaches it never runs', async (t) => {
  const pool = createPool({ maxThreads: 2, minThreads: 2, taskTimeoutMs: 0 }, { log: quietLog });
  try {
    await warmPair(pool);
    // The free thread takes back [a, b] from behind `held`, runs a for 400 ms; b waits in its batch.
    const { first, results, controllers } = await busyThenBatch(pool, 100, [
      'ms=800&tag=held',
      'ms=400&tag=a',
      'ms=5&tag=b',
      'ms=5&tag=c',
    ]);
    await first;
    await until(() => pool.stats().takenBack >= 2 && pool.stats().running === 2);
    const before = pool.stats();
    controllers[2]!.abort();
    const [held, a, b, c] = await Promise.allSettled(results);
    t.is(b!.status, 'rejected');
    if (b?.status === 'rejected') {
      t.true(hasCode(b.reason, 'ERR_ALBANY_ABORTED'), String(b.reason));
      t.like((b.reason as { details?: unknown }).details, { started: false });
    }
    for (const r of [held, a, c]) t.is(r!.status, 'fulfilled');
    t.like(pool.stats(), {
      completed: before.completed + 3,
      rejected: { aborted: 1, crash: 0 },
      queued: 0,
      running: 0,
    });
  } finally {
    await pool.close();
  }
});

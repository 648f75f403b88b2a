import test from 'ava';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { hasCode } from '../../src/errors.js';
import { createPool, type LegacyPool } from '../../src/pool/pool.js';
import { run, task, until } from './helpers.js';

// A full collection on demand, to prove what the pool no longer holds.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const quietLog = (): void => {};
const text = (body: Uint8Array | undefined): string => Buffer.from(body!).toString();

test.serial(
  "cancelling with 'abort' a request its thread already finished is a no-op: the rest of its batch runs on",
  async (t) => {
    const pool = createPool({ maxThreads: 1, minThreads: 1 }, { log: quietLog });
    try {
      // The handler is loaded, so the batch below runs straight through without yielding.
      await run(pool, '/ok');
      const done = pool.dispatch(task('/ok'));
      const slow = pool.dispatch(task('/spin?ms=400'));
      // Both leave in one batch at the flush, which runs in this check phase just before us.
      await new Promise((resolve) => setImmediate(resolve));
      // Spinning keeps the main loop from taking port messages: `done` has finished on its thread
      // but its result has not reached the pool yet when it is cancelled.
      const deadline = Date.now() + 5000;
      while (slow.stage !== 'running' && Date.now() < deadline) {
        /* wait for the thread to reach it */
      }
      t.is(slow.stage, 'running');
      t.is(done.stage, 'finished');
      done.cancel('abort');
      const [first, second] = await Promise.allSettled([done.result, slow.result]);
      t.is(first.status, 'fulfilled');
      t.is(second.status, 'fulfilled', 'the request running beside it was not killed');
      if (second.status === 'fulfilled') t.is(text(second.value.body), 'ok /spin');
      t.like(pool.stats(), { completed: 3, rejected: { aborted: 0, crash: 0 } });
    } finally {
      await pool.close();
    }
  },
);

test.serial('a response finished in a batch reaches its caller while a later request of its batch runs', async (t) => {
  const pool = createPool({ maxThreads: 1, minThreads: 1 }, { log: quietLog });
  try {
    await run(pool, '/ok');
    const done = pool.dispatch(task('/ok'));
    const slow = pool.dispatch(task('/spin?ms=3000'));
    // One batch: `done` runs first, then the thread spins in `slow`; the worker posts nothing between
    // them, and the pool takes `done` from the batch's shared records while `slow` runs.
    const result = await done.result;
    t.is(text(result.body), 'ok /ok');
    t.is(slow.stage, 'running', 'answered before the rest of its batch finished');
    t.is(text((await slow.result).body), 'ok /spin');
  } finally {
    await pool.close();
  }
});

// Queues a request with a 64 KiB body and cancels it at once; returns a weak handle on the body.
async function cancelWhileQueued(pool: LegacyPool): Promise<WeakRef<Uint8Array>> {
  const body = new Uint8Array(64 * 1024);
  const controller = new AbortController();
  const result = pool.run(task('/ok', body), { signal: controller.signal });
  controller.abort();
  const err = await result.catch((e: unknown) => e);
  if (!hasCode(err, 'ERR_ALBANY_ABORTED')) throw new Error(`expected ERR_ALBANY_ABORTED, got ${String(err)}`);
  return new WeakRef(body);
}

test.serial(
  'a cancelled queued request leaves the queue at once: its slot and its memory are freed while every thread is stuck',
  async (t) => {
    const pool = createPool({ maxThreads: 1, minThreads: 1, maxQueue: 2 }, { log: quietLog });
    try {
      const stuck = run(pool, '/spin?ms=1500');
      await until(() => pool.stats().running === 1);
      const bodies: Array<WeakRef<Uint8Array>> = [];
      for (let i = 0; i < 300; i++) bodies.push(await cancelWhileQueued(pool));
      // The bound counts live requests only: two fit, the third is refused.
      const queued = [run(pool, '/ok'), run(pool, '/ok')];
      t.true(hasCode(await run(pool, '/ok').catch((e: unknown) => e), 'ERR_ALBANY_QUEUE_FULL'));
      t.is(pool.stats().queued, 2);
      await new Promise((resolve) => setImmediate(resolve));
      gc();
      t.is(bodies.filter((ref) => ref.deref() !== undefined).length, 0, 'no cancelled request is still held');
      t.is((await stuck).start?.status, 200);
      t.true((await Promise.all(queued)).every((r) => text(r.body) === 'ok /ok'));
      t.like(pool.stats(), { completed: 3, rejected: { aborted: 300, 'queue-full': 1, crash: 0 } });
    } finally {
      await pool.close();
    }
  },
);

// Two one-request batches on one thread (concurrentTasksPerWorker: 2): the thread dies of the
// first; the second waited on the thread's port and never started.
for (const [how, path, code] of [
  ['killed past its timeout', '/spin?ms=10000', 'ERR_ALBANY_TIMEOUT'],
  ['crashed', '/exit', 'ERR_ALBANY_WORKER_CRASHED'],
] as const) {
  test.serial(`a batch its thread never started is run again when the thread is ${how} by another batch`, async (t) => {
    const pool = createPool(
      { maxThreads: 1, minThreads: 1, concurrentTasksPerWorker: 2, taskTimeoutMs: 500 },
      { maxBatch: 1, log: quietLog },
    );
    try {
      const before = text((await run(pool, '/tid')).body);
      const culprit = run(pool, path);
      const innocent = run(pool, '/tid');
      t.true(hasCode(await culprit.catch((e: unknown) => e), code));
      const [result] = await Promise.allSettled([innocent]);
      t.is(result.status, 'fulfilled', 'the request the thread never started was requeued');
      if (result.status === 'fulfilled') t.not(text(result.value.body), before, 'on a fresh thread');
      t.like(pool.stats(), {
        completed: 2,
        rejected: {
          crash: code === 'ERR_ALBANY_WORKER_CRASHED' ? 1 : 0,
          timeout: code === 'ERR_ALBANY_TIMEOUT' ? 1 : 0,
        },
      });
    } finally {
      await pool.close();
    }
  });
}

test.serial(
  'close({ force: true }) fails the requests it stops with the pool-closed error, not as crashes',
  async (t) => {
    const pool = createPool({ maxThreads: 1, minThreads: 1, maxQueue: 4 }, { log: quietLog });
    await run(pool, '/ok');
    // One batch: a request running and one its thread has not reached; a third waits in our queue.
    const running = run(pool, '/spin?ms=10000');
    const handedOver = run(pool, '/ok');
    await until(() => pool.stats().running === 1);
    const waiting = run(pool, '/ok');
    await pool.close({ force: true });
    for (const [name, result] of [
      ['running', running],
      ['handed over', handedOver],
      ['waiting', waiting],
    ] as const) {
      const err = await result.catch((e: unknown) => e);
      t.true(hasCode(err, 'ERR_ALBANY_ABORTED'), `${name}: ${String(err)}`);
      t.regex((err as Error).message, /pool .*closed/, name);
    }
    t.like(pool.stats(), { completed: 1, rejected: { crash: 0, aborted: 3 } });
  },
);

test.serial(
  'close() past its close timeout fails the requests it stops with the pool-closed error, not as crashes',
  async (t) => {
    t.timeout(60_000);
    const logged: string[] = [];
    const pool = createPool(
      { maxThreads: 1, minThreads: 1, maxQueue: 4 },
      { closeTimeoutMs: 300, log: (message) => logged.push(message) },
    );
    await run(pool, '/ok');
    // One batch: a request that outlives the close timeout and one its thread has not reached.
    const running = run(pool, '/spin?ms=60000');
    const handedOver = run(pool, '/ok');
    await until(() => pool.stats().running === 1);
    const stopped = Promise.all([running, handedOver].map((result) => result.catch((e: unknown) => e)));
    await pool.close();
    const errors = await stopped;
    for (const [i, name] of ['running', 'handed over'].entries()) {
      const err = errors[i];
      t.true(hasCode(err, 'ERR_ALBANY_ABORTED'), `${name}: ${String(err)}`);
      t.regex((err as Error).message, /pool .*closed/, name);
    }
    t.like(pool.stats(), { completed: 1, rejected: { crash: 0, aborted: 2 } });
    t.false(
      logged.some((m) => m.includes('crashed')),
      logged.join('\n'),
    );
    t.true(
      logged.some((m) => m.includes('closeTimeoutMs')),
      'the timed-out close is logged as such',
    );
  },
);

test.serial(
  'a batch result whose worker never registers its port fails after a deadline instead of holding its thread forever',
  async (t) => {
    const pool = createPool(
      { maxThreads: 1, minThreads: 1, taskTimeoutMs: 300 },
      {
        filename: new URL('./unregistered-worker.ts', import.meta.url),
        log: quietLog,
      },
    );
    try {
      const outcome = (path: string) =>
        Promise.race([
          run(pool, path).catch((e: unknown) => e),
          new Promise((resolve) => setTimeout(resolve, 5000, 'still waiting after 5 s')),
        ]);
      const first = await outcome('/ok');
      t.true(hasCode(first, 'ERR_ALBANY_WORKER_CRASHED'), String(first));
      t.regex((first as Error).message, /regist/);
      // The thread's slot is free again: the next request is handed out (and fails the same way).
      t.true(hasCode(await outcome('/ok'), 'ERR_ALBANY_WORKER_CRASHED'));
      t.like(pool.stats(), { queued: 0, running: 0, rejected: { crash: 2 } });
    } finally {
      await pool.close({ force: true });
    }
  },
);

test('closeTimeoutMs is checked when the pool is made, naming the option', (t) => {
  for (const closeTimeoutMs of [-1, Number.NaN, 2 ** 31]) {
    const err = t.throws(() => createPool({}, { closeTimeoutMs }));
    t.true(hasCode(err, 'ERR_ALBANY_INVALID_CONFIG'));
    t.regex(err!.message, /options\.closeTimeoutMs must be/);
  }
});

test.serial('refuses() is true and counted only while every thread is busy and the queue full', async (t) => {
  const pool = createPool({ maxThreads: 1, minThreads: 1, maxQueue: 1 }, { log: quietLog });
  try {
    await run(pool, '/ok');
    t.false(pool.refuses());
    const busy = run(pool, '/spin?ms=300');
    const queued = run(pool, '/ok');
    t.true(pool.refuses());
    t.true(pool.refuses());
    t.is(pool.stats().rejected['queue-full'], 2);
    // Nothing was queued for a refusal: the two admitted requests finish, then the pool admits again.
    t.is((await busy).start?.status, 200);
    t.is(text((await queued).body), 'ok /ok');
    t.false(pool.refuses());
    t.like(pool.stats(), { completed: 3, rejected: { 'queue-full': 2 } });
  } finally {
    await pool.close();
  }
});

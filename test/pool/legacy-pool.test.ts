import test from 'ava';
import { createPool } from '../../src/pool/pool.js';
import { run, task } from './helpers.js';

const quietLog = (): void => {};
const text = (body: Uint8Array | undefined): string => Buffer.from(body!).toString();

test.serial("cancelling with 'abort' a request its thread already finished is a no-op: the rest of its batch runs on", async (t) => {
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
    while (slow.stage !== 'running' && Date.now() < deadline) { /* wait for the thread to reach it */ }
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
});

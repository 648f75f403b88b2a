import test from 'ava';
import { MessageChannel } from 'node:worker_threads';
import { LegacyPool, completeConfig, createPool } from '../../src/pool/pool.js';
import { SHARED_BYTES, type LegacyTask } from '../../src/pool/protocol.js';
import { hasCode } from '../../src/errors.js';

function task(path: string): { task: LegacyTask; transfer: [import('node:worker_threads').MessagePort]; close: () => void } {
  const { port1, port2 } = new MessageChannel();
  return {
    task: {
      moduleUrl: new URL('../fixtures/legacy/faults.ts', import.meta.url).href,
      exportName: undefined,
      style: undefined,
      request: { method: 'GET', url: path, headers: [], environ: { REQUEST_METHOD: 'GET', PATH_INFO: path, QUERY_STRING: path.split('?')[1] ?? '' } },
      body: new Uint8Array(0),
      more: false,
      port: port2,
      shared: new SharedArrayBuffer(SHARED_BYTES),
      ackBytes: 1 << 20,
      ackMessages: 64,
    },
    transfer: [port2],
    close: () => port1.close(),
  };
}

async function run(pool: LegacyPool, path: string, signal?: AbortSignal) {
  const t = task(path);
  try {
    return await pool.run(t.task, { transferList: t.transfer, signal });
  } finally {
    t.close();
  }
}

test.serial('a pool runs a task and reports it in stats()', async (t) => {
  const pool = createPool({ maxThreads: 1 }, { name: 'one' });
  try {
    const result = await run(pool, '/ok');
    t.is(Buffer.from(result.body!).toString(), 'ok /ok');
    t.is(result.start?.status, 200);
    const stats = pool.stats();
    t.like(stats, { name: 'one', completed: 1, queued: 0, running: 0, maxQueue: 1 });
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

test.serial('dispatch past the queue bound rejects with ERR_ALBANY_QUEUE_FULL; an aborted queued task never runs', async (t) => {
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
});

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

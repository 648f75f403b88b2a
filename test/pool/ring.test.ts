// The request ring (protocol.ts RingState): a worker that ran a batch waits in its thread's ring and
// takes the next batches from shared memory, without a piscina task. Each test checks both that the
// ring carried what it should (pool.ringBatches) and that every request got its own answer.
import test from 'ava';
import { hasCode } from '../../src/errors.js';
import { createPool, type LegacyPool } from '../../src/pool/pool.js';
import type { LegacyRequest, LegacyTask, TaskResult } from '../../src/pool/protocol.js';
import { fixtureMount, run } from './helpers.js';

const quietLog = (): void => {};
const text = (body: Uint8Array | undefined): string => Buffer.from(body!).toString();

const echo = fixtureMount('legacy/wsgi-echo.ts');

/** A request for the echo fixture whose every field (and body) depends on `i`, some repeating. */
function echoTask(i: number, body = `body ${i} ${'é'.repeat(i % 5)}`): LegacyTask {
  const request: LegacyRequest = {
    method: i % 3 === 0 ? 'POST' : 'GET',
    url: `/r/${i % 4}?q=${i}`,
    path: `/r/${i % 4}`,
    rootPath: i % 7 === 0 ? '/mount' : '',
    queryString: `q=${i}`,
    scheme: 'http',
    httpVersion: i % 5 === 0 ? '1.0' : '1.1',
    server: i % 11 === 0 ? null : ['127.0.0.1', 8080],
    client: i % 13 === 0 ? null : ['127.0.0.1', 40_000 + (i % 9)],
    headers: [
      ['host', 'localhost:8080'],
      ['x-request', String(i)],
      ...(i % 2 === 0 ? ([['x-even', `yes ${i % 6}`]] as Array<[string, string]>) : []),
      ['accept', '*/*'],
    ],
  };
  return { mount: echo, request, body: Buffer.from(body), more: false };
}

// What test/fixtures/legacy/wsgi-echo.ts answers with, every time.
const ECHO_HEADERS = [
  ['content-type', 'application/json'],
  ['x-multi', 'a'],
  ['x-multi', 'b'],
];

interface Echo {
  environ: Record<string, string>;
  body: string;
}

function checkEcho(t: { is: (a: unknown, b: unknown, m?: string) => void }, i: number, r: TaskResult, body?: string) {
  t.is(JSON.stringify(r.start?.headers), JSON.stringify(ECHO_HEADERS), `response headers of ${i}`);
  const got = JSON.parse(text(r.body)) as Echo;
  const e = got.environ;
  const want = echoTask(i, body);
  t.is(got.body, body ?? `body ${i} ${'é'.repeat(i % 5)}`, `body of ${i}`);
  t.is(e.REQUEST_METHOD, want.request.method, `method of ${i}`);
  t.is(e.PATH_INFO, want.request.path, `path of ${i}`);
  t.is(e.SCRIPT_NAME, want.request.rootPath, `root path of ${i}`);
  t.is(e.QUERY_STRING, `q=${i}`, `query of ${i}`);
  t.is(e.SERVER_PROTOCOL, `HTTP/${want.request.httpVersion}`, `version of ${i}`);
  t.is(e.HTTP_X_REQUEST, String(i), `header of ${i}`);
  t.is(e.HTTP_X_EVEN, i % 2 === 0 ? `yes ${i % 6}` : undefined, `optional header of ${i}`);
  t.is(e.HTTP_ACCEPT, '*/*', `repeated header of ${i}`);
  t.is(e.REMOTE_PORT, want.request.client === null ? undefined : String(want.request.client[1]), `client of ${i}`);
}

/** Runs one request, so that a worker waits in its ring afterwards. */
async function warm(pool: LegacyPool): Promise<void> {
  await pool.run(echoTask(1));
}

test.serial(
  'hundreds of concurrent requests through the ring each get their own answer, round after round',
  async (t) => {
    const pool = createPool({ maxThreads: 2, minThreads: 2 }, { maxBatch: 8, log: quietLog });
    try {
      await warm(pool);
      for (let round = 0; round < 5; round++) {
        const ids = Array.from({ length: 120 }, (_, k) => round * 120 + k);
        const results = await Promise.all(ids.map((i) => pool.run(echoTask(i))));
        for (let k = 0; k < ids.length; k++) checkEcho(t, ids[k]!, results[k]!);
      }
      t.true(pool.ringBatches >= 20, `only ${pool.ringBatches} batches went through a ring`);
    } finally {
      await pool.close();
    }
  },
);

test.serial(
  'a request bigger than the ring goes as a piscina task and is answered whole; the ring is used again after',
  async (t) => {
    const pool = createPool({ maxThreads: 1, minThreads: 1 }, { log: quietLog });
    try {
      await warm(pool);
      const before = pool.ringBatches;
      await pool.run(echoTask(2));
      t.is(pool.ringBatches, before + 1, 'a small request after the first goes through the ring');
      const big = `${'x'.repeat(100_000)}!`;
      const results = await Promise.all([pool.run(echoTask(3)), pool.run(echoTask(4, big)), pool.run(echoTask(5))]);
      checkEcho(t, 3, results[0]!);
      // Its answer (over 100 kB) is too big for a result record: it comes on the worker's port.
      checkEcho(t, 4, results[1]!, big);
      checkEcho(t, 5, results[2]!);
      t.is(pool.ringBatches, before + 1, 'the batch with the big request did not go through the ring');
      await pool.run(echoTask(6));
      await pool.run(echoTask(7));
      t.true(pool.ringBatches >= before + 2, 'the ring is used again');
    } finally {
      await pool.close();
    }
  },
);

test.serial(
  'a worker whose wait in the ring ran out is back in piscina, and the next request starts it again',
  async (t) => {
    const pool = createPool({ maxThreads: 1, minThreads: 1 }, { ringLingerMs: 30, log: quietLog });
    try {
      await warm(pool);
      const before = pool.ringBatches;
      // A blocking sleep: the wait runs out whatever the load.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
      await new Promise((resolve) => setTimeout(resolve, 50));
      checkEcho(t, 8, await pool.run(echoTask(8)));
      t.is(pool.ringBatches, before, 'the worker had left its ring: the request went as a piscina task');
      checkEcho(t, 9, await pool.run(echoTask(9)));
      t.is(pool.ringBatches, before + 1, 'right after, its worker waits in its ring again');
    } finally {
      await pool.close();
    }
  },
);

test.serial('a thread that crashes while running ring batches fails only the request it died of', async (t) => {
  const pool = createPool({ maxThreads: 1, minThreads: 1 }, { log: quietLog });
  try {
    const first = text((await run(pool, '/tid')).body);
    await run(pool, '/tid');
    const before = pool.ringBatches;
    t.true(before >= 1, 'the second request went through the ring');
    // One batch of three: the thread dies of the second.
    const outcomes = await Promise.allSettled([run(pool, '/tid'), run(pool, '/exit'), run(pool, '/tid')]);
    t.true(pool.ringBatches > before, 'the batch went through the ring');
    const [ok, culprit, after] = outcomes;
    t.is(ok.status, 'fulfilled');
    if (ok.status === 'fulfilled') t.is(text(ok.value.body), first, 'the request before ran on the old thread');
    t.is(culprit.status, 'rejected');
    if (culprit.status === 'rejected')
      t.true(hasCode(culprit.reason, 'ERR_ALBANY_WORKER_CRASHED'), String(culprit.reason));
    t.is(after.status, 'fulfilled', 'the request the thread never started was run again');
    if (after.status === 'fulfilled') t.not(text(after.value.body), first, 'on a fresh thread');
    t.like(pool.stats(), { rejected: { crash: 1 } });
    // The fresh thread serves on, through its own ring.
    t.is(text((await run(pool, '/ok')).body), 'ok /ok');
    t.is(text((await run(pool, '/ok')).body), 'ok /ok');
  } finally {
    await pool.close();
  }
});

test.serial('a handler running past its timeout in a ring batch is stopped and the thread replaced', async (t) => {
  const pool = createPool({ maxThreads: 1, minThreads: 1, taskTimeoutMs: 300 }, { log: quietLog });
  try {
    await run(pool, '/ok');
    await run(pool, '/ok');
    const before = pool.ringBatches;
    const err = await run(pool, '/spin?ms=20000').catch((e: unknown) => e);
    t.true(pool.ringBatches > before, 'it went through the ring');
    t.true(hasCode(err, 'ERR_ALBANY_TIMEOUT'), String(err));
    t.is(text((await run(pool, '/ok')).body), 'ok /ok');
  } finally {
    await pool.close();
  }
});

test.serial('close() sends workers waiting in their rings back at once', async (t) => {
  const pool = createPool({ maxThreads: 2, minThreads: 2 }, { ringLingerMs: 60_000, log: quietLog });
  await Promise.all([run(pool, '/ok'), run(pool, '/ok'), run(pool, '/ok')]);
  await run(pool, '/ok');
  const started = Date.now();
  await pool.close();
  t.true(Date.now() - started < 5_000, `close took ${Date.now() - started} ms`);
});

test.serial('ringLingerMs 0 turns the ring off', async (t) => {
  const pool = createPool({ maxThreads: 1, minThreads: 1 }, { ringLingerMs: 0, log: quietLog });
  try {
    for (let i = 0; i < 5; i++) checkEcho(t, i, await pool.run(echoTask(i)));
    t.is(pool.ringBatches, 0);
  } finally {
    await pool.close();
  }
});

test.serial(
  'workers leaving their rings and starting again all the time never get a batch meant for another session',
  async (t) => {
    // A wait of 1 ms runs out between many requests, so workers leave their ring and piscina starts
    // new sessions on the same threads while the main thread may still count on the old ones.
    const pool = createPool({ maxThreads: 2, minThreads: 2 }, { ringLingerMs: 1, log: quietLog });
    try {
      let next = 0;
      const client = async (c: number): Promise<void> => {
        for (let k = 0; k < 150; k++) {
          const i = next++;
          checkEcho(t, i, await pool.run(echoTask(i)));
          await new Promise((resolve) => setTimeout(resolve, (k + c) % 3));
        }
      };
      await Promise.all([0, 1, 2, 3, 4].map(client));
      t.true(pool.ringBatches > 0, 'some batches went through a ring');
      t.log(`${pool.ringBatches} batches went through a ring`);
    } finally {
      await pool.close();
    }
  },
);

test.serial(
  'a batch that cannot go through a ring does not wait for a worker waiting in its ring to give up',
  async (t) => {
    // One thread, its worker waiting up to 10 s in its ring: a batch of 40 (over the ring's 32) must go
    // as a piscina task at once, so the worker is sent back to piscina for it.
    const pool = createPool({ maxThreads: 1, minThreads: 1 }, { maxBatch: 64, ringLingerMs: 10_000, log: quietLog });
    try {
      await warm(pool);
      const before = pool.ringBatches;
      const started = Date.now();
      const ids = Array.from({ length: 40 }, (_, k) => 100 + k);
      const results = await Promise.all(ids.map((i) => pool.run(echoTask(i))));
      const took = Date.now() - started;
      for (let k = 0; k < ids.length; k++) checkEcho(t, ids[k]!, results[k]!);
      t.is(pool.ringBatches, before, 'the batch of 40 went as a piscina task');
      t.true(took < 5_000, `the batch took ${took} ms`);
      // The worker it went to waits in its ring afterwards.
      await pool.run(echoTask(1));
      t.is(pool.ringBatches, before + 1);
    } finally {
      await pool.close();
    }
  },
);

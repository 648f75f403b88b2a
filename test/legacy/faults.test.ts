import test from 'ava';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import http from 'node:http';
import { join } from 'node:path';
import { legacy } from '../../legacy-adapter/index.js';
import { delay, fixture, withServer } from './helpers.js';

const quietLog = (): void => {};

test.serial(
  'a task past taskTimeoutMs answers 504, its worker is replaced, and the next request gets 200',
  async (t) => {
    const app = legacy(fixture('faults.ts'), {
      pool: { maxThreads: 1, minThreads: 1, taskTimeoutMs: 800 },
      log: quietLog,
    });
    await withServer(app, async (url) => {
      const before = await (await fetch(`${url}/tid`)).text();
      const started = Date.now();
      const res = await fetch(`${url}/spin?ms=30000`);
      t.is(res.status, 504);
      t.true(Date.now() - started < 10_000);
      const next = await fetch(`${url}/tid`);
      t.is(next.status, 200);
      t.not(await next.text(), before, 'a fresh worker thread answered');
      t.is(app.pool.stats().rejected.timeout, 1);
    });
  },
);

test.serial('a handler calling process.exit answers 500 and the next request gets 200', async (t) => {
  const app = legacy(fixture('faults.ts'), { pool: { maxThreads: 1 }, log: quietLog });
  await withServer(app, async (url) => {
    t.is((await fetch(`${url}/exit`)).status, 500);
    const next = await fetch(`${url}/ok`);
    t.is(next.status, 200);
    t.is(await next.text(), 'ok /ok');
    t.is(app.pool.stats().rejected.crash, 1);
  });
});

test.serial('a handler that throws answers 500 with the error and stack in the main log', async (t) => {
  const logged: unknown[] = [];
  const app = legacy(fixture('faults.ts'), {
    pool: { maxThreads: 1 },
    log: (message, error) => logged.push({ message, error }),
  });
  await withServer(app, async (url) => {
    const res = await fetch(`${url}/throw`);
    t.is(res.status, 500);
    t.is(await res.text(), 'Internal Server Error');
    const entry = logged[0] as { error: Error };
    t.is(entry.error.name, 'TypeError');
    t.regex(entry.error.stack ?? '', /handler exploded on purpose[\s\S]*faults\.ts/);
    t.is((await fetch(`${url}/ok`)).status, 200);
  });
});

test.serial(
  'a handler running out of memory under resourceLimits answers 500 and the next request gets 200',
  async (t) => {
    const app = legacy(fixture('faults.ts'), {
      pool: { maxThreads: 1, resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 8 } },
      log: quietLog,
    });
    await withServer(app, async (url) => {
      t.is((await fetch(`${url}/oom`)).status, 500);
      t.is((await fetch(`${url}/ok`)).status, 200);
    });
  },
);

test.serial('a timer that throws after the handler returned fails that request only', async (t) => {
  const app = legacy(fixture('faults.ts'), { pool: { maxThreads: 1 }, log: quietLog });
  await withServer(app, async (url) => {
    t.is((await fetch(`${url}/timer-throw`)).status, 500);
    t.is((await fetch(`${url}/ok`)).status, 200);
  });
});

test.serial('a full queue answers 503 with Retry-After', async (t) => {
  const app = legacy(fixture('faults.ts'), { pool: { maxThreads: 1, maxQueue: 1 }, log: quietLog });
  await withServer(app, async (url) => {
    const busy = fetch(`${url}/spin?ms=600`);
    await delay(150);
    const queued = fetch(`${url}/ok`);
    await delay(50);
    // Twice without a body (refused on node:http's direct path), then with one (the gateway path,
    // after the first chunk): the response is built once and shared, and both paths send the same
    // head, in the same order, and body.
    const heads: string[][] = [];
    for (const body of [undefined, undefined, 'x']) {
      const refused = await rawRequest(`${url}/ok`, body);
      t.is(refused.status, 503);
      t.is(refused.body, 'Service Unavailable');
      heads.push(refused.head.filter((_, i, all) => all[i - (i % 2)]!.toLowerCase() !== 'date'));
    }
    t.deepEqual(heads[0], [
      'content-type',
      'text/plain; charset=utf-8',
      'content-length',
      '19',
      'retry-after',
      '1',
      'Connection',
      'keep-alive',
      'Keep-Alive',
      'timeout=5',
    ]);
    t.deepEqual(heads[1], heads[0]);
    t.deepEqual(heads[2], heads[0]);
    t.is((await busy).status, 200);
    t.is((await queued).status, 200);
    t.is(app.pool.stats().rejected['queue-full'], 3);
  });
});

test.serial('a client that disconnects while its request is queued never gets it run', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'albany-legacy-'));
  const marker = join(dir, 'ran');
  const app = legacy(fixture('faults.ts'), { pool: { maxThreads: 1 }, log: quietLog });
  await withServer(app, async (url) => {
    const busy = fetch(`${url}/spin?ms=600`);
    await delay(150);
    const controller = new AbortController();
    const queued = fetch(`${url}/mark?file=${encodeURIComponent(marker)}`, { signal: controller.signal });
    await delay(100);
    controller.abort();
    t.is(((await queued.catch((e: Error) => e)) as Error).name, 'AbortError');
    t.is((await busy).status, 200);
    t.is((await fetch(`${url}/ok`)).status, 200, 'the worker is free again');
    await delay(50);
    t.false(existsSync(marker), 'the queued handler never ran');
  });
});

test.serial("onDisconnect 'abort' replaces the worker running a request whose client left", async (t) => {
  const app = legacy(fixture('faults.ts'), { pool: { maxThreads: 1 }, onDisconnect: 'abort', log: quietLog });
  await withServer(app, async (url) => {
    const before = await (await fetch(`${url}/tid`)).text();
    const controller = new AbortController();
    const running = fetch(`${url}/spin?ms=30000`, { signal: controller.signal });
    await delay(200);
    controller.abort();
    t.is(((await running.catch((e: Error) => e)) as Error).name, 'AbortError');
    const started = Date.now();
    const next = await fetch(`${url}/tid`);
    // A fresh worker thread has to start (seconds on a loaded machine); waiting for the spin would
    // take about 30 s.
    t.true(Date.now() - started < 10_000, 'did not wait for the spinning handler');
    t.not(await next.text(), before);
  });
});

test.serial('requests handed over in one batch with a crashing one are run again, not failed', async (t) => {
  const app = legacy(fixture('faults.ts'), { pool: { maxThreads: 1, minThreads: 1, maxQueue: 16 }, log: quietLog });
  await withServer(app, async (url) => {
    await fetch(`${url}/ok`); // warm: the module is loaded
    const busy = fetch(`${url}/spin?ms=400`);
    await delay(150);
    // These queue behind the spinning request and leave together in the next hand-off.
    const exit = fetch(`${url}/exit`);
    await delay(20);
    const others = Array.from({ length: 4 }, (_, i) => fetch(`${url}/ok?${i}`));
    t.is((await busy).status, 200);
    t.is((await exit).status, 500);
    t.deepEqual(
      (await Promise.all(others)).map((r) => r.status),
      [200, 200, 200, 200],
    );
    t.is(app.pool.stats().rejected.crash, 1);
  });
});

test.serial('a request still running when its pool is force-closed answers 503 (client still connected)', async (t) => {
  const app = legacy(fixture('faults.ts'), { pool: { maxThreads: 1 }, log: quietLog });
  await withServer(app, async (url) => {
    const pending = fetch(`${url}/spin?ms=10000`);
    await delay(300);
    await app.pool.close({ force: true });
    const res = await pending;
    t.is(res.status, 503);
    t.is(await res.text(), 'Service Unavailable');
  });
});

/** One request over node:http: the status, the raw head (names as sent, in order) and the body text. */
function rawRequest(url: string, body?: string): Promise<{ status: number; head: string[]; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: body === undefined ? 'GET' : 'POST' }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.once('end', () => resolve({ status: res.statusCode!, head: res.rawHeaders, body: text }));
    });
    req.once('error', reject);
    req.end(body);
  });
}

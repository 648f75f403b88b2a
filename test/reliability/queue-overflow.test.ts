// Queue overflow: a flood far past the legacy pool's bound is refused cheaply (503 + Retry-After),
// memory stays flat, and every request that was admitted completes.
import test from 'ava';
import { Pool } from 'undici';
import { legacy } from '../../legacy-adapter/index.js';
import { serve } from '../../src/server/http.js';
import { captureLogger } from '../helpers/server.js';
import { bounded } from './helpers.js';

// Sizes: 1,500 requests at once over 150 connections against 2 threads + maxQueue 4 (capacity 6,
// 250× oversubscribed); each admitted task blocks its worker 100 ms. Runs in ~3-8 s.
const REQUESTS = 1500;
const CONNECTIONS = 150;
const THREADS = 2;
const MAX_QUEUE = 4;
// RSS bound for the flood (client and server share this process): 1,500 requests in flight cost
// sockets, parser state and promises, not queued tasks — well under 96 MiB over the warm baseline.
const RSS_BOUND = 96 * 1024 * 1024;

test('1,500 requests flooding a pool of 2 threads + maxQueue 4: refused ones get 503 + Retry-After, RSS stays within 96 MiB, every admitted one gets 200', async (t) => {
  t.timeout(60_000);
  const app = legacy(new URL('../fixtures/reliability/slow-legacy.ts', import.meta.url), {
    pool: { minThreads: THREADS, maxThreads: THREADS, maxQueue: MAX_QUEUE, taskTimeoutMs: 10_000 },
    log: () => {},
  });
  const server = await serve(app, {
    host: '127.0.0.1',
    port: 0,
    lifespan: 'off',
    logger: captureLogger(),
    gracefulTimeoutMs: 2000,
  });
  t.teardown(async () => {
    await bounded(server.close(), 5000, 'server.close').catch(() => server.server.closeAllConnections());
    await app.pool.close({ force: true });
  });
  const client = new Pool(server.url, { connections: CONNECTIONS, headersTimeout: 30_000, bodyTimeout: 30_000 });
  t.teardown(() => client.destroy());

  // Warm: the workers have loaded the handler and the client's connections exist.
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () =>
      (await client.request({ path: '/?ms=0', method: 'GET' })).body.text(),
    ),
  );
  global.gc?.();
  const rssBefore = process.memoryUsage.rss();
  let rssPeak = rssBefore;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage.rss())), 10);
  t.teardown(() => clearInterval(sampler));
  const rejectedBefore = app.pool.stats().rejected['queue-full'];

  const results = await bounded(
    Promise.all(
      Array.from({ length: REQUESTS }, async (_, i) => {
        const res = await client.request({ path: `/?ms=100&i=${i}`, method: 'GET' });
        return { status: res.statusCode, retryAfter: res.headers['retry-after'], body: await res.body.text(), i };
      }),
    ),
    50_000,
    'the flood',
  );
  clearInterval(sampler);

  const ok = results.filter((r) => r.status === 200);
  const refused = results.filter((r) => r.status === 503);
  const other = results.filter((r) => r.status !== 200 && r.status !== 503);
  t.deepEqual(
    other.map((r) => `${r.i}: ${r.status}`),
    [],
    'only 200 and 503',
  );
  t.true(refused.length > REQUESTS / 2, `most of the flood was refused (${refused.length})`);
  t.true(ok.length >= THREADS + MAX_QUEUE, `at least a full pool's worth was admitted (${ok.length})`);
  for (const r of refused) t.is(r.retryAfter, '1');
  for (const r of ok) t.is(r.body, 'slept 100');
  t.is(
    app.pool.stats().rejected['queue-full'] - rejectedBefore,
    refused.length,
    'every 503 is a counted rejection, not a fault',
  );
  const grew = rssPeak - rssBefore;
  t.log(
    `${ok.length} admitted (200), ${refused.length} refused (503); RSS ${(rssBefore / 2 ** 20).toFixed(1)} MiB, peak +${(grew / 2 ** 20).toFixed(1)} MiB`,
  );
  t.true(grew < RSS_BOUND, `RSS grew ${(grew / 2 ** 20).toFixed(1)} MiB during the flood`);
  const s = app.pool.stats();
  t.is(s.queued + s.running, 0, 'nothing left behind in the pool');
});

// Proves the pool's gauges tell the truth while requests run: running, queued and utilization as
// pool.stats() and a real /metrics scrape show them, series present before the first request, and
// a default queue that absorbs a burst instead of answering 503.
import test from 'ava';
import { legacy } from '../../legacy-adapter/index.js';
import { toPrometheus } from '../../src/pool/metrics-prometheus.js';
import { serveMetrics, type MetricsServer } from '../../src/pool/metrics-server.js';
import { livePoolSources } from '../../src/pool/registry.js';
import type { LegacyPool } from '../../src/pool/pool.js';
import { withServer } from '../legacy/helpers.js';
import { until } from './helpers.js';

const sleepModule = new URL('../fixtures/pool/sleep.ts', import.meta.url);

/** The `/metrics` endpoint the CLI's `--metrics` serves: every live pool. */
async function metricsEndpoint(t: import('ava').ExecutionContext): Promise<MetricsServer> {
  const server = await serveMetrics({ port: 0 }, () => toPrometheus(livePoolSources()));
  t.teardown(() => server.close());
  return server;
}

/** Scrapes `/metrics` and returns the samples of one pool, by name plus labels other than `pool`. */
async function scrape(url: string, pool: string): Promise<Map<string, number>> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  const samples = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    const m = /^(\w+)\{([^}]*)\} (\S+)$/.exec(line);
    if (m === null) continue;
    const labels = m[2]!.split(',').filter((l) => !l.startsWith('pool='));
    if (!m[2]!.split(',').includes(`pool="${pool}"`)) continue;
    samples.set(labels.length === 0 ? m[1]! : `${m[1]}{${labels.join(',')}}`, Number(m[3]));
  }
  return samples;
}

function gauges(samples: Map<string, number>): {
  queued: number | undefined;
  running: number | undefined;
  utilization: number | undefined;
} {
  return {
    queued: samples.get('albany_pool_queued'),
    running: samples.get('albany_pool_running'),
    utilization: samples.get('albany_pool_utilization'),
  };
}

test.serial(
  '3 slow requests on a 1-thread pool: running 1, queued 2, utilization 1 while they run, in stats() and /metrics',
  async (t) => {
    const metrics = await metricsEndpoint(t);
    const app = legacy(sleepModule, { pool: { maxThreads: 1, taskTimeoutMs: 0 } });
    const pool: LegacyPool = app.pool;
    await withServer(app, async (base) => {
      const name = livePoolSources().find((s) => s.metrics === pool.metrics)!.name;
      await fetch(`${base}/?ms=1`).then((r) => r.text()); // the thread has loaded the module
      const requests = [1, 2, 3].map(() => fetch(`${base}/?ms=900`).then((r) => r.status));
      await until(() => pool.stats().running === 1 && pool.stats().queued === 2);
      t.like(pool.stats(), { running: 1, queued: 2, utilization: 1, capacity: 1 });
      t.deepEqual(gauges(await scrape(metrics.url, name)), { queued: 2, running: 1, utilization: 1 });
      // The first ends; the second runs, the third still waits.
      await until(() => pool.stats().completed === 2 && pool.stats().running === 1, 3000);
      t.like(pool.stats(), { running: 1, queued: 1, utilization: 1 });
      t.deepEqual(gauges(await scrape(metrics.url, name)), { queued: 1, running: 1, utilization: 1 });
      t.deepEqual(await Promise.all(requests), [200, 200, 200]);
      const after = await scrape(metrics.url, name);
      t.deepEqual(gauges(after), { queued: 0, running: 0, utilization: 0 });
      t.is(after.get('albany_pool_tasks_completed_total'), 4);
      t.is(after.get('albany_pool_run_seconds_count'), 4);
      t.true(
        after.get('albany_pool_wait_seconds_sum')! >= 0.9 + 1.8 - 0.1,
        'the second and third waited ~0.9 s and ~1.8 s',
      );
    });
  },
);

test.serial(
  'a legacy mount served with lifespan has its pool series on /metrics before the first request',
  async (t) => {
    const metrics = await metricsEndpoint(t);
    const app = legacy(sleepModule, { pool: { maxThreads: 2 } });
    await withServer(app, async () => {
      const sources = livePoolSources();
      t.is(sources.length, 1, 'the pool started with the server');
      const samples = await scrape(metrics.url, sources[0]!.name);
      t.deepEqual(gauges(samples), { queued: 0, running: 0, utilization: 0 });
      t.is(samples.get('albany_pool_tasks_completed_total'), 0);
      t.is(samples.get('albany_pool_tasks_rejected_total{reason="queue-full"}'), 0);
      t.is(samples.get('albany_pool_wait_seconds_count'), 0);
      t.is(samples.get('albany_pool_max_threads'), 2);
      t.true(samples.has('albany_pool_threads'));
    });
    t.is(livePoolSources().length, 0, 'lifespan shutdown closed the pool and its series left');
  },
);

test.serial("the default maxQueue ('auto') absorbs 10 concurrent requests on 2 threads: no 503", async (t) => {
  const app = legacy(sleepModule, { pool: { maxThreads: 2, taskTimeoutMs: 0 } });
  t.is(app.pool.maxQueue, 256);
  await withServer(app, async (base) => {
    const statuses = await Promise.all(
      Array.from({ length: 10 }, () =>
        fetch(`${base}/?ms=200`).then(async (r) => {
          await r.arrayBuffer();
          return r.status;
        }),
      ),
    );
    t.deepEqual(
      statuses,
      Array.from({ length: 10 }, () => 200),
    );
  });
});

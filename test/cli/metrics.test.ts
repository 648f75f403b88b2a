// `--metrics PORT`: one /metrics for the whole service. With --workers the primary asks every
// worker and serves the sum; a single process serves its own HTTP figures beside the pool's.
import test from 'ava';
import http from 'node:http';
import { albany, fixture, listening } from './helpers.js';
import { freePort } from '../helpers/nginx.js';

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      })
      .on('error', reject);
  });
}

/** Waits for the "metrics at URL" log line (the metrics server starts after the app listens). */
async function metricsUp(run: ReturnType<typeof albany>): Promise<void> {
  for (let i = 0; i < 300 && !/metrics at http/.test(run.stderr()); i++) await new Promise((r) => setTimeout(r, 50));
}

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test("--workers 2 --metrics: the primary serves one /metrics with every worker's requests summed", async (t) => {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const run = albany(
    ['serve', fixture('hello.ts'), '--port', String(port), '--workers', '2', '--metrics', String(metricsPort)],
    { timeoutMs: 90_000 },
  );
  t.teardown(() => run.child.kill('SIGKILL'));
  const url = await listening(run, 2);
  await metricsUp(run);
  // Each request on a new connection, so round-robin spreads them over both workers.
  const pids = new Set<string>();
  for (let i = 0; i < 10; i++) {
    const res = await get(`${url}/n${i}`);
    t.is(res.status, 200);
    pids.add(res.body);
  }
  await get(`${url}/x`).catch(() => undefined);
  const scrape = await get(`http://127.0.0.1:${metricsPort}/metrics`);
  t.is(scrape.status, 200);
  const text = scrape.body;
  t.is(sample(text, 'albany_cluster_workers_reporting'), 2, text);
  t.is(sample(text, 'albany_http_requests_total{method="GET",status="200"}'), 11, text);
  t.is(sample(text, 'albany_http_request_duration_seconds_count'), 11);
  t.is(sample(text, 'albany_http_requests_in_flight'), 0);
  // Event-loop figures stay per process.
  const elu = [...text.matchAll(/^albany_event_loop_utilization\{pid="(\d+)"\} [\d.e-]+$/gm)].map((m) => m[1]);
  t.is(new Set(elu).size, 2, text);
  t.is(text.match(/^# TYPE albany_http_requests_total counter$/gm)?.length, 1);
  run.child.kill('SIGTERM');
  t.is((await run.exit).code, 0);
});

test('a single process serves its HTTP figures on --metrics', async (t) => {
  const metricsPort = await freePort();
  const run = albany(['serve', fixture('hello.ts'), '--port', '0', '--metrics', String(metricsPort)]);
  t.teardown(() => run.child.kill('SIGKILL'));
  const url = await listening(run);
  await metricsUp(run);
  for (let i = 0; i < 3; i++) await get(url);
  const text = (await get(`http://127.0.0.1:${metricsPort}/metrics`)).body;
  t.is(sample(text, 'albany_http_requests_total{method="GET",status="200"}'), 3, text);
  t.regex(text, /^albany_event_loop_utilization [\d.e-]+$/m);
  run.child.kill('SIGTERM');
  t.is((await run.exit).code, 0);
});

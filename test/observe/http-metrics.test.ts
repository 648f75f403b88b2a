// The HTTP collector on a real server: counts, in-flight, durations and the client-closed status,
// over HTTP/1.1 and HTTP/2; and the merge of several processes' expositions.
import test from 'ava';
import http from 'node:http';
import http2 from 'node:http2';
import { HttpMetrics } from '../../src/observe/http-metrics.js';
import { mergeExpositions } from '../../src/observe/merge-metrics.js';
import { deferred, delay, httpApp, sendText, startServer, waitFor } from '../helpers/server.js';
import { testCert } from '../helpers/tls.js';

/** The value of the sample whose name and labels are exactly `series`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('requests by method and status, in flight, and the duration histogram', async (t) => {
  const metrics = new HttpMetrics();
  t.teardown(() => metrics.close());
  const entered = deferred();
  const release = deferred();
  const server = await startServer(
    t,
    httpApp(async (scope, receive, send) => {
      if (scope.path === '/hold') {
        entered.resolve();
        await release.promise;
      }
      if (scope.path === '/slow') await delay(120);
      if (scope.path === '/gone') {
        entered.resolve();
        for (;;) if ((await receive()).type === 'http.disconnect') return;
      }
      await sendText(send, 'x', scope.path === '/missing' ? 404 : 200);
    }),
    { metrics },
  );
  for (let i = 0; i < 3; i++) await fetch(server.url);
  await fetch(`${server.url}/missing`, { method: 'POST', body: 'b' });
  await fetch(`${server.url}/slow`);
  const held = fetch(`${server.url}/hold`);
  await entered.promise;
  let text = metrics.toPrometheus();
  t.is(sample(text, 'albany_http_requests_in_flight'), 1);
  release.resolve();
  await held;
  // A client that leaves before any response is counted as 499.
  const gone = http.get(`${server.url}/gone`);
  gone.on('error', () => {});
  await waitFor(() => metrics.inFlight === 1);
  gone.destroy();
  t.true(await waitFor(() => metrics.inFlight === 0));
  text = metrics.toPrometheus();
  t.is(sample(text, 'albany_http_requests_total{method="GET",status="200"}'), 5);
  t.is(sample(text, 'albany_http_requests_total{method="POST",status="404"}'), 1);
  t.is(sample(text, 'albany_http_requests_total{method="GET",status="499"}'), 1);
  t.is(sample(text, 'albany_http_requests_in_flight'), 0);
  t.is(sample(text, 'albany_http_request_duration_seconds_count'), 7);
  t.is(sample(text, 'albany_http_request_duration_seconds_bucket{le="+Inf"}'), 7);
  // /slow (≥ 120 ms) is above the 0.1 s bound; the quick ones are below it.
  t.true(sample(text, 'albany_http_request_duration_seconds_bucket{le="0.1"}')! <= 6);
  t.true(sample(text, 'albany_http_request_duration_seconds_sum')! >= 0.12);
  t.regex(text, /# TYPE albany_http_request_duration_seconds histogram/);
  t.regex(text, /^albany_event_loop_lag_seconds\{stat="p99"\} [\d.e-]+$/m);
  const elu = sample(text, 'albany_event_loop_utilization')!;
  t.true(elu >= 0 && elu <= 1);
});

test('HTTP/2 requests are counted the same way', async (t) => {
  const metrics = new HttpMetrics();
  t.teardown(() => metrics.close());
  const cert = testCert();
  const server = await startServer(
    t,
    httpApp(async (_s, _r, send) => sendText(send, 'ok')),
    { metrics, tls: { key: cert.key, cert: cert.cert } },
  );
  const session = http2.connect(server.url, { ca: cert.cert });
  t.teardown(() => session.destroy());
  for (let i = 0; i < 2; i++) {
    const stream = session.request({ ':path': '/' });
    stream.end();
    stream.resume();
    await new Promise((resolve) => stream.on('end', resolve));
  }
  t.true(await waitFor(() => metrics.inFlight === 0));
  t.is(sample(metrics.toPrometheus(), 'albany_http_requests_total{method="GET",status="200"}'), 2);
});

test('merging processes: counters and histograms add up, pool utilization is averaged, event-loop figures keep a pid', (t) => {
  const one = [
    '# HELP albany_http_requests_total Requests.',
    '# TYPE albany_http_requests_total counter',
    'albany_http_requests_total{method="GET",status="200"} 3',
    '# TYPE albany_http_request_duration_seconds histogram',
    'albany_http_request_duration_seconds_bucket{le="0.1"} 2',
    'albany_http_request_duration_seconds_bucket{le="+Inf"} 3',
    'albany_http_request_duration_seconds_sum 0.5',
    'albany_http_request_duration_seconds_count 3',
    '# TYPE albany_pool_utilization gauge',
    'albany_pool_utilization{pool="pool-1"} 1',
    '# TYPE albany_event_loop_utilization gauge',
    'albany_event_loop_utilization 0.25',
    '',
  ].join('\n');
  const two = [
    '# HELP albany_http_requests_total Requests.',
    '# TYPE albany_http_requests_total counter',
    'albany_http_requests_total{method="GET",status="200"} 4',
    'albany_http_requests_total{method="POST",status="500"} 1',
    '# TYPE albany_http_request_duration_seconds histogram',
    'albany_http_request_duration_seconds_bucket{le="0.1"} 5',
    'albany_http_request_duration_seconds_bucket{le="+Inf"} 5',
    'albany_http_request_duration_seconds_sum 0.25',
    'albany_http_request_duration_seconds_count 5',
    '# TYPE albany_pool_utilization gauge',
    'albany_pool_utilization{pool="pool-1"} 0.5',
    '# TYPE albany_event_loop_utilization gauge',
    'albany_event_loop_utilization 0.75',
    '',
  ].join('\n');
  t.is(
    mergeExpositions([
      { pid: 11, text: one },
      { pid: 22, text: two },
    ]),
    [
      '# HELP albany_http_requests_total Requests.',
      '# TYPE albany_http_requests_total counter',
      'albany_http_requests_total{method="GET",status="200"} 7',
      'albany_http_requests_total{method="POST",status="500"} 1',
      '# TYPE albany_http_request_duration_seconds histogram',
      'albany_http_request_duration_seconds_bucket{le="0.1"} 7',
      'albany_http_request_duration_seconds_bucket{le="+Inf"} 8',
      'albany_http_request_duration_seconds_sum 0.75',
      'albany_http_request_duration_seconds_count 8',
      '# TYPE albany_pool_utilization gauge',
      'albany_pool_utilization{pool="pool-1"} 0.75',
      '# TYPE albany_event_loop_utilization gauge',
      'albany_event_loop_utilization{pid="11"} 0.25',
      'albany_event_loop_utilization{pid="22"} 0.75',
      '',
    ].join('\n'),
  );
  t.is(mergeExpositions([]), '');
});

// The sizing rule and the /metrics reader, table-driven: figures in, advice (and its rule) out.
import test from 'ava';
import { bucketQuantile, figuresBetween, readPoolFigures, type PoolFigures } from '../../src/pool/advice-figures.js';
import { advise } from '../../src/pool/advice.js';
import { metricsUrl } from '../../src/pool/advice-suggest.js';
import { PoolMetrics } from '../../src/pool/metrics.js';
import { toPrometheus } from '../../src/pool/metrics-prometheus.js';

function figures(over: Partial<PoolFigures>): PoolFigures {
  return {
    name: 'p',
    maxThreads: 2,
    maxQueue: 256,
    seconds: 10,
    cores: 4,
    processes: 1,
    tasks: 100,
    runSeconds: 19,
    cpuSeconds: 0.2,
    cpuWaitSeconds: 0,
    waitBuckets: [
      [0.1, 10],
      [0.5, 80],
      [Infinity, 100],
    ],
    queueFull: 0,
    ...over,
  };
}

test('I/O-bound and saturated: grows ×4 (or to 2 × cores) within what the cores can carry', (t) => {
  const a = advise(figures({}));
  t.like(a, { kind: 'io-bound', currentMaxThreads: 2, maxThreads: 8, change: true });
  t.regex(a.line, /^pool p: 2 threads, busy 95 %, CPU 1.1 % of run time, waiting for a core 0 %, 100 tasks, /);
  t.regex(a.line, /, mean run 190 ms, queue wait p50 \d+ ms → I\/O-bound: try maxThreads 8, maxQueue 42 \(rule: /);
  t.regex(a.line, /; saturated; the cores left carry 3 ÷ 1.1 % = 256 \(the cap\) threads/);
  // Many cores: 2 × cores beats ×4.
  t.is(advise(figures({ cores: 16 })).maxThreads, 32);
  // Half the run time on a CPU leaves no room: the cores left carry 3 ÷ 0.45 = 6.
  t.is(advise(figures({ cpuSeconds: 19 * 0.45 })).maxThreads, 6);
});

test('I/O-bound but not saturated: keeps its threads', (t) => {
  const a = advise(
    figures({
      runSeconds: 5,
      waitBuckets: [
        [0.001, 100],
        [Infinity, 100],
      ],
    }),
  );
  t.like(a, { kind: 'io-bound', maxThreads: 2, change: false });
  t.regex(a.line, /I\/O-bound: keep maxThreads 2, .*not saturated/);
});

test('CPU-bound: the cores left beside the event loop, at least 1; per process under a cluster', (t) => {
  t.like(advise(figures({ cpuSeconds: 15 })), { kind: 'cpu-bound', maxThreads: 3, change: true });
  // Time waiting for a core counts as wanting one.
  t.like(advise(figures({ cpuSeconds: 5, cpuWaitSeconds: 10 })), { kind: 'cpu-bound', maxThreads: 3 });
  t.like(advise(figures({ cpuSeconds: 15, cores: 1 })), { kind: 'cpu-bound', maxThreads: 1 });
  const cluster = advise(figures({ cpuSeconds: 15, cores: 8, processes: 2, maxThreads: 8 }));
  t.like(cluster, { kind: 'cpu-bound', currentMaxThreads: 4, maxThreads: 3 });
  t.regex(cluster.line, /^pool p: 4 threads per process \(2 processes\), .*max\(1, ⌊\(8 cores − 2\) \/ 2⌋\)/);
  // A cluster worker advising from its own figures: its threads, the cores shared with the others.
  const worker = advise(figures({ cpuSeconds: 15, cores: 8, maxThreads: 4 }), { processesOnHost: 2 });
  t.like(worker, { kind: 'cpu-bound', currentMaxThreads: 4, maxThreads: 3 });
  t.regex(worker.line, /^pool p: 4 threads per process \(2 processes\), /);
});

test('no tasks, or no CPU figure: no change, and the line says why', (t) => {
  t.like(advise(figures({ tasks: 0, runSeconds: 0 })), { kind: 'idle', maxThreads: 2, change: false });
  const unmeasured = advise(figures({ cpuSeconds: undefined, cpuWaitSeconds: undefined }));
  t.like(unmeasured, { kind: 'unmeasured', maxThreads: 2, change: false });
  t.regex(
    unmeasured.line,
    /CPU not measured, .*cannot tell I\/O-bound from CPU-bound without CPU time \(needs Linux \/proc or Node ≥ 23/,
  );
});

test('readPoolFigures reads what toPrometheus writes; figuresBetween gives a window', (t) => {
  const now = { t: 0 };
  const metrics = new PoolMetrics({ capacity: 2, now: () => now.t });
  const source = { name: 'a"b', metrics, piscina: { threads: { length: 2 }, maxThreads: 2 }, maxQueue: 300 };
  now.t = 1000;
  metrics.taskQueued();
  metrics.taskStarted(3);
  metrics.taskFinished(40, true);
  const first = readPoolFigures(toPrometheus([source]));
  t.is(first.length, 1);
  t.like(first[0], {
    name: 'a"b',
    maxThreads: 2,
    maxQueue: 300,
    seconds: 1,
    tasks: 1,
    runSeconds: 0.04,
    cpuSeconds: undefined,
    processes: 1,
  });
  now.t = 3000;
  metrics.taskQueued();
  metrics.taskStarted(300);
  metrics.taskFinished(100, true);
  const window = figuresBetween(readPoolFigures(toPrometheus([source]))[0]!, first[0]!);
  t.like(window, { seconds: 2, tasks: 1, runSeconds: 0.1 });
  // The one wait of the window lies in (0.256, 0.512] s.
  const p50 = bucketQuantile(window.waitBuckets, 0.5);
  t.true(p50 > 0.256 && p50 <= 0.512, String(p50));
  t.deepEqual(readPoolFigures('albany_http_requests_total 3\n'), []);
  t.is(readPoolFigures('albany_cluster_workers_reporting 3\nalbany_pool_max_threads{pool="x"} 6\n')[0]!.processes, 3);
});

test('metricsUrl: PORT, HOST:PORT and URLs; anything else is a usage error naming what is allowed', (t) => {
  t.is(metricsUrl('9100').href, 'http://127.0.0.1:9100/metrics');
  t.is(metricsUrl('example.com:9100').href, 'http://example.com:9100/metrics');
  t.is(metricsUrl('[::1]:9100').href, 'http://[::1]:9100/metrics');
  t.is(metricsUrl('http://h:1/').href, 'http://h:1/metrics');
  t.is(metricsUrl('http://h:1/stats').href, 'http://h:1/stats');
  for (const bad of ['', 'nonsense', '99999', 'h:0', 'ftp://h/metrics', 'http://', 'http://h:99999/']) {
    t.throws(
      () => metricsUrl(bad),
      {
        code: 'ERR_ALBANY_USAGE',
        message: /give the --metrics port of a running albany, as PORT, HOST:PORT or http:\/\/HOST:PORT\/metrics$/,
      },
      bad,
    );
  }
});

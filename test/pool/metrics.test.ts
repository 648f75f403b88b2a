// Proves the pool figures: task counts, percentiles, Prometheus text that parses, and /metrics over a socket.
import test from 'ava';
import { LatencyHistogram } from '../../src/pool/metrics-histogram.js';
import { PoolMetrics } from '../../src/pool/metrics.js';
import { toPrometheus } from '../../src/pool/metrics-prometheus.js';
import { serveMetrics } from '../../src/pool/metrics-server.js';

test('counts follow each task from queued to running to done', (t) => {
  const m = new PoolMetrics({ capacity: 4 });
  for (let i = 0; i < 5; i++) m.taskQueued();
  m.taskStarted(1);
  m.taskStarted(2);
  m.taskStarted(3);
  t.like(m.stats(), { queued: 2, running: 3, utilization: 0.75, capacity: 4 });
  m.taskFinished(10, true);
  m.taskFinished(20, false);
  m.taskRejected('timeout', { runMs: 30_000 });
  m.taskRejected('aborted');
  m.taskRejected('queue-full');
  const s = m.stats();
  t.like(s, { queued: 1, running: 0, completed: 1, failed: 1, utilization: 0 });
  t.deepEqual(s.rejected, { 'queue-full': 1, timeout: 1, crash: 0, aborted: 1 });
  t.is(s.wait.count, 3);
  t.is(s.run.count, 3, 'the timed-out task counts in run time');
  t.is(s.run.maxMs, 30_000);
});

test('observe() makes queued, running and utilization live readings; takenBack counts requests moved', (t) => {
  const m = new PoolMetrics({ capacity: 2 });
  // Per-task counts as a batching pool reports them: every start is learnt only at the end.
  for (let i = 0; i < 3; i++) m.taskQueued();
  t.like(m.stats(), { queued: 3, running: 0, utilization: 0 });
  let live = { queued: 1, running: 2 };
  m.observe(() => live);
  m.tasksTakenBack(2);
  t.like(m.stats(), { queued: 1, running: 2, utilization: 1, takenBack: 2 });
  live = { queued: 0, running: 1 };
  t.like(m.stats(), { queued: 0, running: 1, utilization: 0.5 });
  const text = toPrometheus([{ name: 'p', metrics: m }]);
  t.regex(text, /^albany_pool_running\{pool="p"\} 1$/m);
  t.regex(text, /^albany_pool_utilization\{pool="p"\} 0\.5$/m);
  t.regex(text, /^albany_pool_tasks_taken_back_total\{pool="p"\} 2$/m);
});

test('gauges never go negative when a rejection is reported for a task already gone', (t) => {
  const m = new PoolMetrics();
  m.taskRejected('crash');
  m.taskRejected('aborted', { stage: 'queued' });
  t.like(m.stats(), { queued: 0, running: 0, utilization: 0 });
});

test('track() times a task and ignores calls after it ended', (t) => {
  let now = 100;
  const m = new PoolMetrics({ now: () => now, capacity: 1 });
  const a = m.track();
  t.like(m.stats(), { queued: 1 });
  now = 105;
  a.started();
  t.like(m.stats(), { queued: 0, running: 1, utilization: 1 });
  now = 125;
  a.finished(true);
  a.rejected('aborted');
  a.finished(false);
  const b = m.track();
  b.rejected('aborted');
  const c = m.track();
  c.started();
  now = 200;
  c.rejected('crash');
  const s = m.stats();
  t.like(s, { queued: 0, running: 0, completed: 1, failed: 0 });
  t.deepEqual(s.rejected, { 'queue-full': 0, timeout: 0, crash: 1, aborted: 1 });
  t.is(s.wait.minMs, 0);
  t.is(s.wait.maxMs, 5);
  t.deepEqual([s.run.count, s.run.minMs, s.run.maxMs], [2, 20, 75]);
});

test('percentiles of 1..10000 ms land within 10% of the true values', (t) => {
  const h = new LatencyHistogram();
  for (let i = 1; i <= 10_000; i++) h.record(i);
  const s = h.summary();
  t.is(s.count, 10_000);
  t.is(s.meanMs, 5000.5);
  for (const [got, want] of [
    [s.p50, 5000],
    [s.p90, 9000],
    [s.p99, 9900],
  ] as const) {
    t.true(Math.abs(got - want) / want < 0.1, `${got} vs ${want}`);
  }
});

test('percentiles of a skewed load pick out the slow tail', (t) => {
  const h = new LatencyHistogram();
  for (let i = 0; i < 980; i++) h.record(2);
  for (let i = 0; i < 20; i++) h.record(800);
  t.true(Math.abs(h.quantile(0.5) - 2) < 0.2);
  t.true(Math.abs(h.quantile(0.9) - 2) < 0.2);
  t.true(Math.abs(h.quantile(0.99) - 800) / 800 < 0.1);
});

test('a histogram with one value reports it exactly; an empty one reports zeros', (t) => {
  const h = new LatencyHistogram();
  t.deepEqual(h.summary(), { count: 0, sumMs: 0, meanMs: 0, minMs: 0, maxMs: 0, p50: 0, p90: 0, p99: 0 });
  h.record(7.3);
  h.record(Number.NaN);
  t.like(h.summary(), { count: 1, p50: 7.3, p99: 7.3 });
});

test('the histogram counts overflow values and puts values on power-of-two bounds in the lower bucket', (t) => {
  const h = new LatencyHistogram();
  for (let i = 0; i < 200_000; i++) h.record((i % 5000) / 3);
  h.record(1);
  h.record(2 ** 25); // beyond the top bound: overflow bucket
  t.is(h.count, 200_002);
  t.is(h.countAtOrBelow(2 ** 20), 200_001);
  const only = new LatencyHistogram();
  only.record(1);
  t.is(only.countAtOrBelow(0.5), 0);
  t.is(only.countAtOrBelow(1), 1, 'le is inclusive');
  t.throws(() => only.countAtOrBelow(3), { code: 'ERR_ALBANY_INVALID_ARGUMENT', message: /powers of two/ });
});

// --- a small parser for the text exposition format 0.0.4 ---
interface Parsed {
  help: Map<string, string>;
  type: Map<string, string>;
  samples: Array<{ name: string; labels: Record<string, string>; value: number }>;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
const VALUE = '(?:[+-]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][+-]?\\d+)?|[+-]Inf|NaN)';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{((?:${LABEL})(?:,${LABEL})*)?\\})? (${VALUE})(?: -?\\d+)?$`);
const COMMENT = new RegExp(`^# (HELP|TYPE) (${NAME}) (.*)$`);

function familyOf(name: string, types: Map<string, string>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    const base = name.slice(0, -suffix.length);
    if (name.endsWith(suffix) && types.get(base) === 'histogram') return base;
  }
  return name;
}

function parseExposition(text: string): Parsed {
  if (!text.endsWith('\n')) throw new Error('exposition must end with a newline');
  const parsed: Parsed = { help: new Map(), type: new Map(), samples: [] };
  const finished = new Set<string>();
  let current: string | undefined;
  for (const line of text.slice(0, -1).split('\n')) {
    const comment = COMMENT.exec(line);
    if (comment) {
      const [, kind, name, rest] = comment as unknown as [string, string, string, string];
      const map = kind === 'HELP' ? parsed.help : parsed.type;
      if (map.has(name)) throw new Error(`second ${kind} for ${name}`);
      if (kind === 'TYPE' && !/^(counter|gauge|histogram|summary|untyped)$/.test(rest))
        throw new Error(`bad type: ${line}`);
      if (parsed.samples.some((s) => familyOf(s.name, parsed.type) === name))
        throw new Error(`${kind} after samples: ${line}`);
      map.set(name, rest);
      continue;
    }
    const sample = SAMPLE.exec(line);
    if (!sample) throw new Error(`line does not parse: ${JSON.stringify(line)}`);
    const [, name, labelText, valueText] = sample as unknown as [string, string, string | undefined, string];
    const labels: Record<string, string> = {};
    for (const m of (labelText ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      if (m[1]! in labels) throw new Error(`duplicate label ${m[1]} in ${line}`);
      labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    const family = familyOf(name, parsed.type);
    if (!parsed.help.has(family) || !parsed.type.has(family)) throw new Error(`sample before HELP/TYPE: ${line}`);
    if (family !== current) {
      if (finished.has(family)) throw new Error(`samples of ${family} are not contiguous`);
      if (current !== undefined) finished.add(current);
      current = family;
    }
    const value = valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : Number(valueText);
    parsed.samples.push({ name, labels, value });
  }
  for (const name of parsed.type.keys()) if (!parsed.help.has(name)) throw new Error(`TYPE without HELP: ${name}`);
  return parsed;
}

function checkHistograms(parsed: Parsed): void {
  for (const [family, type] of parsed.type) {
    if (type !== 'histogram') continue;
    const byPool = new Map<string, Parsed['samples']>();
    for (const s of parsed.samples.filter((x) => familyOf(x.name, parsed.type) === family)) {
      const pool = s.labels['pool']!;
      byPool.set(pool, [...(byPool.get(pool) ?? []), s]);
    }
    for (const [pool, samples] of byPool) {
      const buckets = samples.filter((s) => s.name === `${family}_bucket`);
      const les = buckets.map((b) => (b.labels['le'] === '+Inf' ? Infinity : Number(b.labels['le'])));
      if (les.some((le, i) => i > 0 && le <= les[i - 1]!)) throw new Error(`${family}{${pool}} le not increasing`);
      if (buckets.some((b, i) => i > 0 && b.value < buckets[i - 1]!.value))
        throw new Error(`${family}{${pool}} buckets not cumulative`);
      const count = samples.find((s) => s.name === `${family}_count`)!.value;
      if (les.at(-1) !== Infinity || buckets.at(-1)!.value !== count)
        throw new Error(`${family}{${pool}} +Inf bucket must equal _count`);
      if (!samples.some((s) => s.name === `${family}_sum`)) throw new Error(`${family}{${pool}} lacks _sum`);
    }
  }
}

test('the exposition parser used here rejects what Prometheus would', (t) => {
  const head = '# HELP a_total x\n# TYPE a_total counter\n';
  t.notThrows(() => parseExposition(`${head}a_total{pool="p"} 1\n`));
  for (const bad of [
    'a_total 1\n',
    `${head}a_total{pool="p"} 1`,
    `${head}a_total{pool="p"} one\n`,
    `${head}a_total{pool=p} 1\n`,
    `${head}a_total{pool="p",pool="q"} 1\n`,
    `${head}# HELP b x\n# TYPE b gauge\nb 1\na_total 2\n`.replace(head, `${head}a_total 1\n`),
    '# TYPE a_total counter\na_total 1\n',
    '# HELP a x\n# TYPE a countr\na 1\n',
  ]) {
    t.throws(() => parseExposition(bad), undefined, JSON.stringify(bad));
  }
});

function busyPool(): PoolMetrics {
  const m = new PoolMetrics({ capacity: 2 });
  for (const [wait, run] of [
    [0.2, 3],
    [1.5, 40],
    [700, 2500],
  ] as const) {
    m.taskQueued();
    m.taskStarted(wait);
    m.taskFinished(run, run < 1000);
  }
  m.taskQueued();
  m.taskStarted(0);
  m.taskQueued();
  m.taskRejected('queue-full');
  return m;
}

test('toPrometheus writes valid exposition with HELP/TYPE per family and a pool label', (t) => {
  const text = toPrometheus([
    { name: 'default', metrics: busyPool(), piscina: { threads: { length: 2 }, maxThreads: 2 } },
    { name: 'odd "name"\\\n', metrics: new PoolMetrics() },
  ]);
  const parsed = parseExposition(text);
  checkHistograms(parsed);
  for (const s of parsed.samples) {
    t.true(s.name.startsWith('albany_pool_'), s.name);
    t.true('pool' in s.labels, s.name);
  }
  const get = (name: string, labels: Record<string, string>) =>
    parsed.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
  t.is(get('albany_pool_queued', { pool: 'default' }), 1);
  t.is(get('albany_pool_running', { pool: 'default' }), 1);
  t.is(get('albany_pool_utilization', { pool: 'default' }), 0.5);
  t.is(get('albany_pool_tasks_completed_total', { pool: 'default' }), 2);
  t.is(get('albany_pool_tasks_failed_total', { pool: 'default' }), 1);
  t.is(get('albany_pool_tasks_rejected_total', { pool: 'default', reason: 'queue-full' }), 1);
  t.is(get('albany_pool_tasks_rejected_total', { pool: 'default', reason: 'crash' }), 0);
  t.is(get('albany_pool_run_seconds_count', { pool: 'default' }), 3);
  t.is(get('albany_pool_run_seconds_sum', { pool: 'default' }), 2.543);
  t.is(get('albany_pool_run_seconds_bucket', { pool: 'default', le: '0.004' }), 1);
  t.is(get('albany_pool_run_seconds_bucket', { pool: 'default', le: '0.064' }), 2);
  t.is(get('albany_pool_wait_seconds_bucket', { pool: 'default', le: '0.0005' }), 2);
  t.is(get('albany_pool_threads', { pool: 'default' }), 2);
  t.is(get('albany_pool_threads', { pool: 'odd "name"\\\n' }), undefined, 'no piscina, no thread gauge');
  t.is(get('albany_pool_queued', { pool: 'odd "name"\\\n' }), 0, 'label values are escaped and read back');
  t.is(parsed.type.get('albany_pool_tasks_completed_total'), 'counter');
  t.is(parsed.type.get('albany_pool_wait_seconds'), 'histogram');
});

test('toPrometheus with no pools is empty, and refuses two pools with one name', (t) => {
  t.is(toPrometheus([]), '');
  const err = t.throws(() =>
    toPrometheus([
      { name: 'a', metrics: new PoolMetrics() },
      { name: 'a', metrics: new PoolMetrics() },
    ]),
  );
  t.is((err as { code?: string }).code, 'ERR_ALBANY_INVALID_CONFIG');
});

test('serveMetrics answers GET /metrics over a real socket and 404 elsewhere', async (t) => {
  const metrics = busyPool();
  let fail = false;
  const server = await serveMetrics({ host: '127.0.0.1', port: 0 }, async () => {
    if (fail) throw new Error('boom');
    return toPrometheus([{ name: 'default', metrics }]);
  });
  t.teardown(() => server.close());
  t.true(server.port > 0);
  t.is(server.url, `http://127.0.0.1:${server.port}/metrics`);

  const ok = await fetch(`${server.url}?x=1`);
  t.is(ok.status, 200);
  t.is(ok.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  const parsed = parseExposition(await ok.text());
  t.true(parsed.samples.length > 0);

  const head = await fetch(server.url, { method: 'HEAD' });
  t.is(head.status, 200);
  t.is((await fetch(`http://127.0.0.1:${server.port}/`)).status, 404);
  t.is((await fetch(`http://127.0.0.1:${server.port}/metrics/x`)).status, 404);
  const post = await fetch(server.url, { method: 'POST' });
  t.is(post.status, 405);
  t.is(post.headers.get('allow'), 'GET, HEAD');
  fail = true;
  const broken = await fetch(server.url);
  t.is(broken.status, 500);
  t.regex(await broken.text(), /boom/);
});

test('serveMetrics rejects when the port is taken', async (t) => {
  const first = await serveMetrics({ port: 0 }, () => '');
  t.teardown(() => first.close());
  const err = await t.throwsAsync(serveMetrics({ port: first.port }, () => ''));
  t.is((err as NodeJS.ErrnoException).code, 'EADDRINUSE');
});

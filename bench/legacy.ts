// `npm run bench:legacy`: the legacy adapter's cost and benefit as ratios against peers measured in the same run.
// The server under test runs in a child process (this file, forked with `serve <scenario>`) so the
// load generator (autocannon) never shares the event loop it measures.
import { fork } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import { Piscina } from 'piscina';
import type { App } from '../src/gateway/types.js';
import { serve } from '../src/server/http.js';
import { legacy } from '../legacy-adapter/index.js';

const DURATION = Number(process.env.BENCH_DURATION ?? 4);
const CONNECTIONS = 50;

type Scenario = 'async' | 'legacy' | 'naive' | 'cpu-legacy' | 'cpu-inline' | 'mixed-legacy' | 'mixed-inline' | 'reject';

// --- handler modules, written to a temp dir so they load as plain .mjs in any thread ----------------

function writeModules(dir: string): Record<string, string> {
  const files = {
    trivial: `export default function app(environ, startResponse) {
  startResponse('200 OK', [['content-type', 'text/plain']]);
  return ['hello'];
}`,
    cpu: `export default function app(environ, startResponse) {
  const until = performance.now() + 5;
  while (performance.now() < until) {}
  startResponse('200 OK', [['content-type', 'text/plain']]);
  return ['done'];
}`,
    long: `export default function app(environ, startResponse) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 600000);
  startResponse('200 OK', []);
  return [''];
}`,
    naive: `export default function task(path) { return 'hello'; }`,
  };
  const urls: Record<string, string> = {};
  for (const [name, source] of Object.entries(files)) {
    const path = join(dir, `${name}.mjs`);
    writeFileSync(path, source);
    urls[name] = pathToFileURL(path).href;
  }
  return urls;
}

// --- server side --------------------------------------------------------------------------------------

const text = (body: string): App => async (_scope, _receive, send) => {
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
  await send({ type: 'http.response.body', body: Buffer.from(body) });
};

function spin5(): void {
  const until = performance.now() + 5;
  while (performance.now() < until) { /* the same 5 ms the legacy handler burns */ }
}

// The plain peers ignore lifespan quietly, as the legacy App does, so the server logs nothing.
const withLifespan = (app: App): App => async (scope, receive, send) => {
  if (scope.type !== 'lifespan') return app(scope, receive, send);
  for (;;) {
    const m = await receive();
    if (m.type === 'lifespan.startup') await send({ type: 'lifespan.startup.complete' });
    else { await send({ type: 'lifespan.shutdown.complete' }); return; }
  }
};

const withHealth = (work: App): App => async (scope, receive, send) => {
  if (scope.type === 'http' && scope.path === '/health') return text('ok')(scope, receive, send);
  return work(scope, receive, send);
};

function buildApp(scenario: Scenario, modules: Record<string, string>): App & { close?: () => Promise<void> } {
  const pool2 = { maxThreads: 2, minThreads: 2, maxQueue: 100_000, taskTimeoutMs: 0 };
  switch (scenario) {
    case 'async': return withLifespan(text('hello'));
    case 'legacy': return legacy(modules.trivial!, { pool: pool2 });
    case 'naive': {
      const piscina = new Piscina({ filename: modules.naive!, maxThreads: 2, minThreads: 2 });
      return Object.assign(withLifespan(async (scope, receive, send) => {
        const body = (await piscina.run(scope.type === 'http' ? scope.path : '')) as string;
        await text(body)(scope, receive, send);
      }), { close: () => piscina.destroy() });
    }
    case 'cpu-legacy': return legacy(modules.cpu!, { pool: pool2 });
    case 'cpu-inline': return withLifespan(async (scope, receive, send) => { spin5(); await text('done')(scope, receive, send); });
    case 'mixed-legacy': return withHealth(legacy(modules.cpu!, { pool: pool2 }));
    case 'mixed-inline': return withLifespan(withHealth(async (scope, receive, send) => { spin5(); await text('done')(scope, receive, send); }));
    case 'reject': return legacy(modules.long!, { pool: { maxThreads: 1, minThreads: 1, maxQueue: 1, taskTimeoutMs: 0 }, log: () => {} });
  }
}

async function serveScenario(scenario: Scenario, modulesJson: string): Promise<void> {
  const app = buildApp(scenario, JSON.parse(modulesJson) as Record<string, string>);
  const server = await serve(app, { host: '127.0.0.1', port: 0 });
  process.on('message', (msg: { type: string }) => {
    if (msg.type === 'rss') {
      (globalThis as { gc?: () => void }).gc?.();
      process.send!({ type: 'rss', rss: process.memoryUsage().rss });
    }
  });
  process.send!({ type: 'ready', url: server.url });
}

// --- client side --------------------------------------------------------------------------------------

interface Child { url: string; rss(): Promise<number>; stop(): void }

async function start(scenario: Scenario, modules: Record<string, string>): Promise<Child> {
  const child = fork(fileURLToPath(import.meta.url), ['serve', scenario, JSON.stringify(modules)], {
    execArgv: [...process.execArgv, '--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.on('message', (m: { type: string; url?: string }) => { if (m.type === 'ready') resolve(m.url!); });
  });
  const rss = () => new Promise<number>((resolve) => {
    const onMessage = (m: { type: string; rss?: number }) => {
      if (m.type !== 'rss') return;
      child.off('message', onMessage);
      resolve(m.rss!);
    };
    child.on('message', onMessage);
    child.send({ type: 'rss' });
  });
  return { url, rss, stop: () => child.kill() };
}

function load(url: string, options: Partial<autocannon.Options> = {}): Promise<autocannon.Result> {
  // A run bounded by `amount` must not carry a duration too.
  const base = options.amount === undefined ? { duration: DURATION } : {};
  return new Promise((resolve, reject) => {
    autocannon({ url, connections: CONNECTIONS, ...base, ...options }, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

async function throughput(scenario: Scenario, modules: Record<string, string>, path = '/'): Promise<number> {
  const child = await start(scenario, modules);
  try {
    await load(child.url + path, { duration: 1 }); // warm-up: threads started, modules compiled, JIT warm
    const result = await load(child.url + path);
    if (result.non2xx > 0 || result.errors > 0) console.log(`  (${scenario}: ${result.non2xx} non-2xx, ${result.errors} errors)`);
    return result.requests.average;
  } finally {
    child.stop();
  }
}

async function healthUnderLoad(scenario: Scenario, modules: Record<string, string>): Promise<{ p99: number; p50: number; work: number }> {
  const child = await start(scenario, modules);
  try {
    await load(`${child.url}/work`, { duration: 1, connections: 10 });
    const [health, work] = await Promise.all([
      load(`${child.url}/health`, { connections: 1 }),
      load(`${child.url}/work`, { connections: 20 }),
    ]);
    return { p99: health.latency.p99, p50: health.latency.p50, work: work.requests.average };
  } finally {
    child.stop();
  }
}

async function rejectedFlood(modules: Record<string, string>): Promise<{ before: number; after: number; rejected: number }> {
  const child = await start('reject', modules);
  try {
    // Two long requests: one runs, one fills the queue of 1; everything after is refused with 503.
    for (let i = 0; i < 2; i++) void fetch(`${child.url}/`).catch(() => {});
    await new Promise((r) => setTimeout(r, 300));
    await load(`${child.url}/`, { amount: 1000, connections: 10 });
    const before = await child.rss();
    const flood = await load(`${child.url}/`, { amount: 10_000, connections: 50 });
    const after = await child.rss();
    return { before, after, rejected: flood.non2xx };
  } finally {
    child.stop();
  }
}

async function main(): Promise<void> {
  const modules = writeModules(mkdtempSync(join(tmpdir(), 'albany-bench-legacy-')));
  const f = (n: number, d = 0) => n.toFixed(d);
  console.log(`albany bench:legacy — autocannon -c ${CONNECTIONS} -d ${DURATION}, keep-alive, server in a child process, Node ${process.version}\n`);

  const asyncRps = await throughput('async', modules);
  const legacyRps = await throughput('legacy', modules);
  const naiveRps = await throughput('naive', modules);
  console.log(`trivial handler   async gateway app        ${f(asyncRps)} req/s`);
  console.log(`                  legacy pool (2 threads)  ${f(legacyRps)} req/s`);
  console.log(`                  naive piscina.run (2)    ${f(naiveRps)} req/s`);
  console.log(`  ratio legacy ÷ async  ${f(legacyRps / asyncRps, 2)}   (target ≥ 0.4)`);
  console.log(`  ratio legacy ÷ naive  ${f(legacyRps / naiveRps, 2)}   (target ≥ 1.5)\n`);

  const cpuPool = await throughput('cpu-legacy', modules);
  const cpuInline = await throughput('cpu-inline', modules);
  console.log(`5 ms CPU handler  legacy pool of 2         ${f(cpuPool)} req/s`);
  console.log(`                  inline on the loop       ${f(cpuInline)} req/s`);
  console.log(`  ratio pool ÷ inline   ${f(cpuPool / cpuInline, 2)}   (target ≥ 1.8)\n`);

  const mixedPool = await healthUnderLoad('mixed-legacy', modules);
  const mixedInline = await healthUnderLoad('mixed-inline', modules);
  console.log(`async /health while 5 ms routes saturate (20 connections on /work, 1 on /health)`);
  console.log(`  legacy pool: /health p50 ${f(mixedPool.p50, 1)} ms, p99 ${f(mixedPool.p99, 1)} ms   (target p99 ≤ 5 ms; /work ${f(mixedPool.work)} req/s)`);
  console.log(`  inline:      /health p50 ${f(mixedInline.p50, 1)} ms, p99 ${f(mixedInline.p99, 1)} ms   (/work ${f(mixedInline.work)} req/s)\n`);

  const flood = await rejectedFlood(modules);
  const growth = (flood.after - flood.before) / 2 ** 20;
  console.log(`10k requests refused by a full queue (maxThreads 1, maxQueue 1): ${flood.rejected} × 503`);
  console.log(`  RSS ${f(flood.before / 2 ** 20, 1)} MB → ${f(flood.after / 2 ** 20, 1)} MB, growth ${f(growth, 1)} MB   (target ≤ 20 MB)`);
}

if (process.argv[2] === 'serve') await serveScenario(process.argv[3] as Scenario, process.argv[4]!);
else await main();

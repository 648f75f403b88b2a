// `npm run bench:scale`: what scaling out buys on this machine. (1) hello world with --workers 1 vs
// --workers 2 (node:cluster) under the same autocannon load, in alternating rounds; (2) nginx in
// front of one albany process, over FastCGI vs over HTTP proxy_pass, both on Unix sockets.
// Servers run in child processes (this same file with --role); autocannon runs in this process.
//
// Flags (or BENCH_<NAME> env): --duration 5  --warmup 1  --rounds 2  --connections 50
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { App } from '../src/gateway/types.js';
import { numberOption, stringOption } from './lib/args.js';
import { startServer, type ChildServer } from './lib/children.js';
import { runLoad, type LoadFigures, type LoadOptions } from './lib/load.js';

const HELLO = Buffer.from('Hello World!');
const hello: App = async (scope, _receive, send) => {
  if (scope.type !== 'http') return;
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain; charset=UTF-8']] });
  await send({ type: 'http.response.body', body: HELLO });
};
const quiet = { debug() {}, info() {}, warn() {}, error: (m: string) => process.stderr.write(`${m}\n`) };

async function role(name: string): Promise<void> {
  const stopOn = (close: () => Promise<void>) => {
    const stop = () => void close().finally(() => process.exit(0));
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  };
  if (name === 'cluster') {
    const { runCluster } = await import('../src/server/cluster.js');
    const { serve } = await import('../src/server/http.js');
    const port = Number(stringOption('port', '0'));
    const handle = await runCluster({ workers: Number(stringOption('workers', '1')), start: () => serve(hello, { port, lifespan: 'off', logger: quiet }) }, quiet);
    if (handle) process.stdout.write(`${JSON.stringify({ port })}\n`);
    return;
  }
  const path = stringOption('path', '');
  if (name === 'fastcgi') {
    const { serveFastCGI } = await import('../src/server/fastcgi.js');
    const server = await serveFastCGI(hello, { path, lifespan: 'off', logger: quiet });
    stopOn(server.close);
  } else {
    const { serve } = await import('../src/server/http.js');
    const server = await serve(hello, { uds: path, lifespan: 'off', logger: quiet });
    stopOn(server.close);
  }
  process.stdout.write(`${JSON.stringify({ port: 0 })}\n`);
}

const roleName = stringOption('role', '');
if (roleName) {
  await role(roleName);
} else {
  await main();
}

async function main(): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  const load: LoadOptions = { connections: numberOption('connections', 50), pipelining: 1, duration: numberOption('duration', 5) };
  const warmup = numberOption('warmup', 1);
  const rounds = Math.round(numberOption('rounds', 2));
  const { freePort, findNginx, startNginx } = await import('../test/helpers/nginx.js');
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const line = (label: string, f: LoadFigures) => `| ${label} | ${fmt(f.rps)} | ${f.p50.toFixed(2)} | ${f.p99.toFixed(2)} | ${f.errors + f.non2xx} |`;
  const measure = async (url: string): Promise<LoadFigures> => {
    if (warmup > 0) await runLoad(url, { ...load, duration: warmup });
    return runLoad(url, load);
  };
  const best = (xs: LoadFigures[]) => xs.reduce((a, b) => (b.rps > a.rps ? b : a));

  console.log(`# bench:scale — ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown cpu'}), Node ${process.version}`);
  console.log(`autocannon -c ${load.connections} -d ${load.duration} (keep-alive) in the bench process, warm-up ${warmup}s, ${rounds} rounds, best round per peer.`);
  console.log('The load generator runs on the same cores as the servers it measures.\n');

  // (1) --workers 1 vs --workers 2
  const byWorkers = new Map<number, LoadFigures[]>([[1, []], [2, []]]);
  for (let r = 0; r < rounds; r++) {
    for (const workers of r % 2 === 0 ? [1, 2] : [2, 1]) {
      const port = await freePort();
      const child: ChildServer = await startServer(`workers-${workers}`, self, { env: { BENCH_ROLE: 'cluster', BENCH_WORKERS: String(workers), BENCH_PORT: String(port) }, timeoutMs: 30_000 });
      try {
        byWorkers.get(workers)!.push(await measure(`http://127.0.0.1:${port}/`));
      } finally {
        await child.stop(20_000);
      }
    }
  }
  const w1 = best(byWorkers.get(1)!);
  const w2 = best(byWorkers.get(2)!);
  console.log('## --workers (node:cluster, round-robin), albany HTTP host\n');
  console.log('| peer | req/s | p50 ms | p99 ms | errors |\n|---|---|---|---|---|');
  console.log(line('--workers 1', w1));
  console.log(line('--workers 2', w2));
  console.log(`\nrounds req/s: workers 1 = ${byWorkers.get(1)!.map((f) => fmt(f.rps)).join(', ')}; workers 2 = ${byWorkers.get(2)!.map((f) => fmt(f.rps)).join(', ')}`);
  console.log(`**--workers 2 ÷ --workers 1 = ${(w2.rps / w1.rps).toFixed(2)}×** (target ≥ 1.7)\n`);

  // (2) nginx → FastCGI vs nginx → HTTP
  if (!findNginx()) {
    console.log('## nginx: skipped (nginx not installed)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'albany-scale-'));
  const fcgiSock = join(dir, 'fcgi.sock');
  const httpSock = join(dir, 'http.sock');
  const fcgi = await startServer('fastcgi', self, { env: { BENCH_ROLE: 'fastcgi', BENCH_PATH: fcgiSock }, timeoutMs: 30_000 });
  const http = await startServer('http-uds', self, { env: { BENCH_ROLE: 'http', BENCH_PATH: httpSock }, timeoutMs: 30_000 });
  const nginx = await startNginx((port) => `
    upstream fcgi { server unix:${fcgiSock}; keepalive 64; }
    upstream web { server unix:${httpSock}; keepalive 64; }
    server {
      listen 127.0.0.1:${port};
      location /fcgi/ { include /etc/nginx/fastcgi_params; fastcgi_pass fcgi; fastcgi_keep_conn on; }
      location /http/ { proxy_pass http://web; proxy_http_version 1.1; proxy_set_header Connection ""; }
    }`);
  const results = new Map<string, LoadFigures[]>([['fcgi', []], ['http', []]]);
  try {
    for (let r = 0; r < rounds; r++) {
      for (const key of r % 2 === 0 ? ['fcgi', 'http'] : ['http', 'fcgi']) results.get(key)!.push(await measure(`${nginx.url}/${key}/`));
    }
  } finally {
    await nginx.stop();
    await fcgi.stop();
    await http.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const f = best(results.get('fcgi')!);
  const h = best(results.get('http')!);
  console.log('## nginx (1 worker process) → one albany process over a Unix socket\n');
  console.log('| peer | req/s | p50 ms | p99 ms | errors |\n|---|---|---|---|---|');
  console.log(line('nginx → FastCGI (fastcgi_pass, keep_conn)', f));
  console.log(line('nginx → HTTP (proxy_pass, keepalive)', h));
  console.log(`\n**FastCGI ÷ HTTP proxy_pass = ${(f.rps / h.rps).toFixed(2)}×**`);
}

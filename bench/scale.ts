// `npm run bench:scale`: what scaling out buys on this machine. (1) hello world with --workers 1 vs
// --workers 2 (node:cluster) under the same load, in alternating rounds; (2) nginx in front of one
// albany process, over FastCGI vs over HTTP proxy_pass, both on Unix sockets.
// Servers run in child processes (this same file with --role). The load generator is wrk (a C
// program, its own process) when installed, else autocannon in this process: on a 2-core machine
// autocannon needs about a core itself, leaving no room for a second worker. Both parts use it.
//
// Part (1) sends a fixed number of requests (--amount) with autocannon and charges the server's CPU
// (every process, from /proc) to them: CPU per request with 2 workers ÷ with 1, the row's secondary
// figure (part (0) below judges it by instruction count; /proc rounds swing ±15–35 % on this machine).
// Part (1) also runs plain node:http under the same cluster code as a reference (--reference off: not).
// Flags (or BENCH_<NAME> env): --amount 40000  --duration 5  --warmup 1  --rounds 5  --connections 50
//   --loadgen auto|wrk|autocannon (part 2 only; auto = wrk when installed)  --reference on|off
//   --nginx on|off (part 2)  --rate N (part 1 at N req/s offered, not as fast as answered)
//   --tsx (server children from the TypeScript source, not a bundle)
//
// Part (0), first (needs valgrind; --instructions off: skipped, only: nothing else): the same row by
// instruction count, which is what judges it. `albany serve --workers 1` / `--workers 2` (the real CLI,
// bench/servers/albany-cli.ts bundled like the other servers) and plain node:http under runCluster
// with 1 / 2 workers, each under callgrind with --trace-children: every process counted (primary,
// workers, all their threads, compiler and GC), keep-alive connections (lib/cluster-ir.ts).
//   --ir-requests 4000 (per counted window)  --ir-windows 5 (back to back; the median one is reported)
//    --ir-warmup 10000 (per serving process)  --ir-idle 3 (s, quiet window)
//   --ir-settle 2 (s, uncounted pause before the quiet window)  --ir-rounds 1
//   --ir-clock-scale S (the blocking detector's clock stretch under callgrind; default: measured each round,
//   1 = the detector as in production, which then fires on emulation slowness alone)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { App } from '../src/gateway/types.js';
import { numberOption, stringOption } from './lib/args.js';
import { buildServers } from './lib/build-servers.js';
import { startServer, type ChildServer } from './lib/children.js';
import { runLoad, type LoadFigures, type LoadOptions } from './lib/load.js';
import { cpuSecondsOf, processTree } from './lib/proc.js';
import { missingTool } from './lib/callgrind.js';
import { measureWorkersIr, type WorkersIrResult } from './lib/workers-ir.js';
import { machineInfo, machineLine } from './lib/machine.js';
import { median } from './lib/result.js';
import { findWrk, runWrk } from './lib/wrk.js';

const HELLO = Buffer.from('Hello World!');
const hello: App = async (scope, _receive, send) => {
  if (scope.type !== 'http') return;
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain; charset=UTF-8']] });
  await send({ type: 'http.response.body', body: HELLO });
};
/**
 * The reference peer of part (1): the same hello world on plain node:http, under the same cluster
 * code (albany's runCluster: node:cluster, round-robin), so its 2 ÷ 1 ratio is what this machine
 * charges for a second process whatever the server is.
 */
async function serveRaw(port: number): Promise<{ close(): Promise<void> }> {
  const { createServer } = await import('node:http');
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; charset=UTF-8' });
    res.end(HELLO);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
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
    const handle = await runCluster(
      {
        workers: Number(stringOption('workers', '1')),
        start:
          stringOption('server', 'albany') === 'node'
            ? () => serveRaw(port)
            : () => serve(hello, { port, lifespan: 'off', logger: quiet }),
      },
      quiet,
    );
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

/** utime + stime (seconds) of `root` and every live descendant (the cluster primary and its workers). */
function treeCpuSeconds(root: number): number {
  let total = 0;
  for (const pid of processTree(root)) {
    const cpu = cpuSecondsOf(pid);
    if (!Number.isNaN(cpu)) total += cpu; // exited meanwhile
  }
  return total;
}

/** Prints part (0): per cluster, per process, and the judged ratio. */
function printWorkersIr(ir: WorkersIrResult, connections: number): void {
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const name = (x: WorkersIrResult['runs'][number]) =>
    `${x.server === 'node' ? 'node:http' : 'albany'} --workers ${x.workers}`;
  console.log(
    `\n## --workers by instruction count (callgrind --trace-children: every process of the cluster, all ` +
      `threads, compiler and GC included)\n`,
  );
  console.log(
    `albany = \`albany serve APP --workers N --no-access-log --log-level warn\` (src/cli.ts, esbuild bundle; ` +
      `--workers 1 is one process, --workers 2 a primary and 2 workers); node:http = plain createServer under ` +
      `albany's runCluster (a primary and N workers). ${connections} keep-alive connections; the ` +
      `counted windows follow a warm-up on the same connections, back to back; the median one (by total) is ` +
      `reported; a quiet window follows them.\n`,
  );
  console.log(
    '| round | peer | requests | **total Ir/req** | compiler | GC | rest | idle-rate Ir/req | window s | ' +
      'every window (Ir/req) | detector clock | split per worker |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const x of ir.runs) {
    const workers = x.processes.filter((p) => p.role !== 'primary');
    const splitText =
      workers.length > 1 ? workers.map((p) => `${((p.requests / x.ok) * 100).toFixed(0)} %`).join(' / ') : '—';
    console.log(
      `| ${x.round} | ${name(x)} | ${fmt(x.ok)} | **${fmt(x.perRequest.total)}** | ${fmt(x.perRequest.compiler)} | ` +
        `${fmt(x.perRequest.gc)} | ${fmt(x.perRequest.rest)} | ${fmt(x.idlePerRequest)} | ` +
        `${x.windowSeconds.toFixed(1)} | ${x.windowTotals.map(fmt).join(' / ')} | ` +
        `${x.clockScale === undefined ? '—' : `×${x.clockScale.toFixed(1)}`} | ` +
        `${splitText}${x.unassigned ? ` (${x.unassigned} connections unassigned)` : ''} |`,
    );
  }
  console.log(
    '\nper process (the reported window; idle = a quiet window after the counted ones: connections closed, 2 s pause, nothing sent):\n',
  );
  console.log(
    '| round | peer | pid | role | requests | Ir in window | Ir/req of all requests | idle Ir/s | ' +
      'of which compiler+GC | detector fired |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const x of ir.runs)
    for (const p of x.processes)
      console.log(
        `| ${x.round} | ${name(x)} | ${p.pid} | ${p.role} | ${fmt(p.requests)} | ${fmt(p.window.total)} | ` +
          `${fmt(p.window.total / x.ok)} | ${fmt(p.idleIrPerSecond)} | ${fmt(p.idleCompilerGcPerSecond)} | ` +
          `${p.inspectorIr > 0 ? `yes (${fmt(p.inspectorIr)} Ir in the inspector)` : 'no'} |`,
      );
  for (const s of ir.slowdowns)
    console.log(
      `\ndetector clock: node:http --workers 1 took ${fmt(s.callgrindWallMicros)} wall µs/req under callgrind, ` +
        `${s.nativeMicros.toFixed(1)} CPU µs/req natively: ×${s.slowdown.toFixed(1)}. albany's blocking detector ` +
        `ran with every period stretched as the "detector clock" column says (that slowdown times the serving ` +
        `processes, which share the cores under valgrind, unless --ir-clock-scale; ` +
        `bench/servers/block-clock-scale.ts), so it sees loop turns about as long against its threshold, and ` +
        `ticks about as often per request, as natively.`,
    );
  console.log(
    `idle-rate Ir/req = Σ idle Ir/s of the processes, compiler and GC left out, × window seconds ÷ requests: ` +
      `the share of the total that is per-second work (timers, the detector) stretched by valgrind's slowdown, ` +
      `not per-request work.`,
  );
  const rounds = (server: 'albany' | 'node') => {
    const w = (n: number) => ir.runs.filter((x) => x.server === server && x.workers === n);
    return w(2)
      .map((x, i) => (x.perRequest.total / w(1)[i]!.perRequest.total).toFixed(3))
      .join(', ');
  };
  console.log(
    `\n**total Ir per request, --workers 2 ÷ --workers 1 = ${ir.albanyRatio.toFixed(3)}** (albany CLI, every ` +
      `process; rounds ${rounds('albany')}; target ≤ 1.05)`,
  );
  console.log(
    `reference, plain node:http under runCluster: total Ir/req 2 ÷ 1 = ${ir.nodeRatio.toFixed(3)} (rounds ` +
      `${rounds('node')})\n`,
  );
}

/** One measured run: the figures, wall seconds, and the load generator's own CPU seconds. */
interface Run {
  figures: LoadFigures;
  wallSeconds: number;
  genCpuSeconds: number;
}

async function main(): Promise<void> {
  // The server children run this file compiled to plain JavaScript, as production runs albany from
  // dist/ (see lib/build-servers.ts: under tsx, albany alone pays a __name() call per closure and a
  // module-hooks thread per process, and the hooks thread is paid once per cluster process).
  // --tsx runs them from the TypeScript source instead.
  // Part (0) always runs bundles (the CLI as users run it is compiled JavaScript).
  const instructions = stringOption('instructions', 'on');
  if (!['on', 'off', 'only'].includes(instructions)) {
    console.error(`--instructions must be on, off or only, got ${JSON.stringify(instructions)}`);
    process.exit(2);
  }
  const [bundle, cliEntry] = await buildServers([
    fileURLToPath(import.meta.url),
    join(dirname(fileURLToPath(import.meta.url)), 'servers', 'albany-cli.ts'),
  ]);
  const self = process.argv.includes('--tsx') ? fileURLToPath(import.meta.url) : bundle!;
  const load: LoadOptions = {
    connections: numberOption('connections', 50),
    pipelining: 1,
    duration: numberOption('duration', 5),
  };
  const warmup = numberOption('warmup', 1);
  const amount = Math.round(numberOption('amount', 40_000));
  const rounds = Math.round(numberOption('rounds', 5));
  const reference = stringOption('reference', 'on') !== 'off';
  // A fixed offered rate for part (1) instead of as-fast-as-answered: a diagnosis aid (both peers then see the same
  // arrival pattern; per-request CPU rises at low rates, as fewer requests share each event-loop turn).
  const rate = stringOption('rate', '') === '' ? undefined : numberOption('rate', 1);
  const nginxPart = stringOption('nginx', 'on') !== 'off';
  const wanted = stringOption('loadgen', 'auto');
  if (!['auto', 'wrk', 'autocannon'].includes(wanted)) {
    console.error(`--loadgen must be auto, wrk or autocannon, got ${JSON.stringify(wanted)}`);
    process.exit(2);
  }
  const wrk = wanted === 'autocannon' ? undefined : findWrk();
  if (wanted === 'wrk' && !wrk?.ok) {
    console.error(`--loadgen wrk: ${wrk && !wrk.ok ? wrk.reason : 'unavailable'}`);
    process.exit(2);
  }
  const useWrk = wrk?.ok === true;
  const { freePort, findNginx, startNginx } = await import('../test/helpers/nginx.js');
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const line = (label: string, f: LoadFigures) =>
    `| ${label} | ${fmt(f.rps)} | ${f.p50.toFixed(2)} | ${f.p99.toFixed(2)} | ${f.errors + f.non2xx} |`;

  const generate = async (url: string, duration: number): Promise<Run> => {
    const t0 = performance.now();
    if (useWrk) {
      const w = await runWrk(url, { connections: load.connections, duration, threads: 1 });
      return { figures: w, wallSeconds: (performance.now() - t0) / 1000, genCpuSeconds: w.cpuSeconds };
    }
    // autocannon runs in this process, so its CPU is this process's CPU over the run.
    const c0 = process.cpuUsage();
    const figures = await runLoad(url, { ...load, duration });
    const c = process.cpuUsage(c0);
    return { figures, wallSeconds: (performance.now() - t0) / 1000, genCpuSeconds: (c.user + c.system) / 1e6 };
  };
  const measure = async (url: string): Promise<Run> => {
    if (warmup > 0) await generate(url, warmup);
    return generate(url, load.duration);
  };
  const best = (xs: Run[]) => xs.reduce((a, b) => (b.figures.rps > a.figures.rps ? b : a)).figures;

  console.log(`# bench:scale — ${machineLine(machineInfo())}`);
  const why =
    wanted === 'autocannon'
      ? 'asked for with --loadgen autocannon'
      : useWrk
        ? `wrk ${wrk.version} is installed; it needs far less CPU per request than autocannon`
        : `fallback: ${wrk && !wrk.ok ? wrk.reason : 'wrk unavailable'}`;
  console.log(
    useWrk
      ? `load generator for part (2): wrk -t1 -c${load.connections} -d${load.duration}s --latency (own ` +
          `process; ${why}); part (1): autocannon -c ${load.connections}, a fixed ${amount} requests`
      : `load generator: autocannon -c ${load.connections} in the bench process (${why}); part (1) a fixed ` +
          `${amount} requests, part (2) -d ${load.duration}`,
  );
  console.log(
    `Keep-alive, warm-up ${warmup}s, ${rounds} rounds alternating peer order; the load generator runs on the ` +
      `same cores as the servers.\n`,
  );

  if (instructions !== 'off') {
    const missing = missingTool();
    if (missing)
      console.log(`## --workers by instruction count: skipped (${missing} not found; apt-get install valgrind)\n`);
    else {
      const t0 = performance.now();
      const ir = await measureWorkersIr({
        scaleEntry: bundle!,
        cliEntry: cliEntry!,
        requests: Math.round(numberOption('ir-requests', 4000)),
        windows: Math.round(numberOption('ir-windows', 5)),
        warmup: Math.round(numberOption('ir-warmup', 10_000)),
        connections: load.connections,
        idleSeconds: numberOption('ir-idle', 3),
        settleSeconds: numberOption('ir-settle', 2),
        rounds: Math.round(numberOption('ir-rounds', 1)),
        ...(stringOption('ir-clock-scale', '') === '' ? {} : { clockScale: numberOption('ir-clock-scale', 1) }),
        freePort,
        log: (l) => console.log(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${l}`),
      });
      printWorkersIr(ir, load.connections);
    }
    if (instructions === 'only') return;
  }

  // (1) --workers 1 vs --workers 2: the same fixed number of requests against each, in rounds that
  // rotate the order; the server's CPU is utime + stime of the primary and every worker from /proc,
  // read right before and after. CPU per request is the judged figure (no contention tax); req/s is
  // informational, with the load generator's own CPU beside it (on 2 cores it takes the room a
  // second worker would use). autocannon runs the fixed count (wrk cannot stop at a count).
  // Plain node:http runs the same rounds under the same cluster code: its 2 ÷ 1 ratio is the share
  // of the judged one that this machine charges any server for a second process (fewer requests per
  // event-loop turn in each worker, three busy processes on two cores), printed as the reference.
  interface WorkersRun {
    server: ClusterServer;
    workers: number;
    round: number;
    figures: LoadFigures;
    wallSeconds: number;
    genCpuSeconds: number;
    serverCpuSeconds: number;
  }
  type ClusterServer = 'albany' | 'node';
  const peers: { server: ClusterServer; workers: number }[] = [
    { server: 'albany', workers: 1 },
    { server: 'albany', workers: 2 },
    ...(reference
      ? [
          { server: 'node' as const, workers: 1 },
          { server: 'node' as const, workers: 2 },
        ]
      : []),
  ];
  const runs: WorkersRun[] = [];
  for (let r = 0; r < rounds; r++) {
    // Rotate the order so no peer always runs first (right after a start-up) or last.
    const order = peers.map((_, i) => peers[(i + r) % peers.length]!);
    if (r % 2 === 1) order.reverse();
    for (const { server, workers } of order) {
      const port = await freePort();
      const child: ChildServer = await startServer(`${server}-workers-${workers}`, self, {
        env: {
          BENCH_ROLE: 'cluster',
          BENCH_SERVER: server,
          BENCH_WORKERS: String(workers),
          BENCH_PORT: String(port),
        },
        timeoutMs: 30_000,
      });
      try {
        const url = `http://127.0.0.1:${port}/`;
        // Warm every worker (the primary hands connections round-robin) before counting.
        await runLoad(url, { ...load, amount: Math.min(amount, 10_000) });
        const s0 = treeCpuSeconds(child.pid);
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const figures = await runLoad(url, { ...load, amount, ...(rate === undefined ? {} : { rate }) });
        const wallSeconds = (performance.now() - t0) / 1000;
        const c = process.cpuUsage(c0);
        const serverCpuSeconds = treeCpuSeconds(child.pid) - s0;
        if (figures.errors + figures.non2xx + figures.timeouts > 0)
          console.log(
            `  (${server} --workers ${workers}: ${figures.errors} errors, ${figures.non2xx} non-2xx, ` +
              `${figures.timeouts} timeouts)`,
          );
        runs.push({
          server,
          workers,
          round: r + 1,
          figures,
          wallSeconds,
          genCpuSeconds: (c.user + c.system) / 1e6,
          serverCpuSeconds,
        });
      } finally {
        await child.stop(20_000);
      }
    }
  }
  const perReqUs = (x: WorkersRun) => (x.serverCpuSeconds * 1e6) / Math.max(1, x.figures.requests);
  const genUs = (x: WorkersRun) => (x.genCpuSeconds * 1e6) / Math.max(1, x.figures.requests);
  const cores = (cpu: number, wall: number) => (cpu / wall).toFixed(2);
  console.log(`## --workers (node:cluster, round-robin), albany HTTP host: ${fmt(amount)} requests per run\n`);
  console.log(
    '| round | server | peer | requests | req/s | p50 ms | p99 ms | errors | **server CPU µs/req** | ' +
      'autocannon CPU µs/req | server cores | autocannon cores |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const x of runs) {
    const f = x.figures;
    console.log(
      `| ${x.round} | ${x.server === 'node' ? 'node:http' : 'albany'} | --workers ${x.workers} | ` +
        `${fmt(f.requests)} | ${fmt(f.rps)} | ${f.p50.toFixed(2)} | ${f.p99.toFixed(2)} | ` +
        `${f.errors + f.non2xx + f.timeouts} | ${perReqUs(x).toFixed(1)} | ${genUs(x).toFixed(1)} | ` +
        `${cores(x.serverCpuSeconds, x.wallSeconds)} | ${cores(x.genCpuSeconds, x.wallSeconds)} |`,
    );
  }
  const of = (server: ClusterServer, workers: number) =>
    runs.filter((x) => x.server === server && x.workers === workers).sort((a, b) => a.round - b.round);
  const ratiosOf = (server: ClusterServer, pick: (x: WorkersRun) => number) => {
    const w1s = of(server, 1);
    const w2s = of(server, 2);
    return w1s.map((w1, i) => pick(w2s[i]!) / pick(w1));
  };
  const cpuRatios = ratiosOf('albany', perReqUs);
  const rpsRatios = ratiosOf('albany', (x) => x.figures.rps);
  const ticks = Math.min(...runs.map((x) => x.serverCpuSeconds)) * 100;
  console.log(
    `\nserver CPU = utime + stime of the cluster primary and every worker (/proc/<pid>/stat, all threads), ` +
      `read before and after the counted requests;`,
  );
  console.log(
    `cores = CPU seconds ÷ wall seconds of the run. /proc counts in 10 ms ticks: the smallest run used ` +
      `${fmt(ticks)} ticks (resolution ${(100 / Math.max(1, ticks)).toFixed(1)} %).`,
  );
  console.log(`per-round CPU/req ratios (albany, 2 ÷ 1): ${cpuRatios.map((r) => r.toFixed(3)).join(', ')}`);
  console.log(
    `**server CPU per request, --workers 2 ÷ --workers 1 = ${median(cpuRatios).toFixed(3)}** (albany; median ` +
      `of per-round ratios; target ≤ 1.05; secondary: the row is judged on the instruction count of part (0) ` +
      `when it ran, single /proc rounds swing ±15–35 % here)`,
  );
  if (reference) {
    const nodeRatios = ratiosOf('node', perReqUs);
    const albanyOverNode = (workers: number) =>
      median(of('albany', workers).map((x, i) => perReqUs(x) / perReqUs(of('node', workers)[i]!)));
    console.log(
      `reference, plain node:http under the same cluster code: CPU/req 2 ÷ 1 = ${median(nodeRatios).toFixed(3)} ` +
        `(rounds ${nodeRatios.map((r) => r.toFixed(3)).join(', ')}); albany ÷ node:http CPU/req = ` +
        `${albanyOverNode(1).toFixed(3)} with 1 worker, ${albanyOverNode(2).toFixed(3)} with 2`,
    );
  }
  const w1s = of('albany', 1);
  const w2s = of('albany', 2);
  console.log(
    `req/s --workers 2 ÷ --workers 1 = ${median(rpsRatios).toFixed(2)} (informational: the load generator ` +
      `shares the 2 cores; autocannon used ` +
      `${median(w1s.map((x) => x.genCpuSeconds / x.wallSeconds)).toFixed(2)} / ` +
      `${median(w2s.map((x) => x.genCpuSeconds / x.wallSeconds)).toFixed(2)} cores with 1 / 2 workers)\n`,
  );

  // (2) nginx → FastCGI vs nginx → HTTP
  if (!nginxPart) return;
  if (!findNginx()) {
    console.log('## nginx: skipped (nginx not installed)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'albany-scale-'));
  const fcgiSock = join(dir, 'fcgi.sock');
  const httpSock = join(dir, 'http.sock');
  const fcgi = await startServer('fastcgi', self, {
    env: { BENCH_ROLE: 'fastcgi', BENCH_PATH: fcgiSock },
    timeoutMs: 30_000,
  });
  const http = await startServer('http-uds', self, {
    env: { BENCH_ROLE: 'http', BENCH_PATH: httpSock },
    timeoutMs: 30_000,
  });
  const nginx = await startNginx(
    (port) => `
    upstream fcgi { server unix:${fcgiSock}; keepalive 64; }
    upstream web { server unix:${httpSock}; keepalive 64; }
    server {
      listen 127.0.0.1:${port};
      location /fcgi/ { include /etc/nginx/fastcgi_params; fastcgi_pass fcgi; fastcgi_keep_conn on; }
      location /http/ { proxy_pass http://web; proxy_http_version 1.1; proxy_set_header Connection ""; }
    }`,
  );
  const results = new Map<string, Run[]>([
    ['fcgi', []],
    ['http', []],
  ]);
  try {
    for (let r = 0; r < rounds; r++) {
      for (const key of r % 2 === 0 ? ['fcgi', 'http'] : ['http', 'fcgi'])
        results.get(key)!.push(await measure(`${nginx.url}/${key}/`));
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

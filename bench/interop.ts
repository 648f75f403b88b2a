// Interop load runs: Express on node:http vs the same app through fromNodeHandler on albany, and
// Hono on @hono/node-server vs through fromFetch on albany. Every server runs alone in a child
// process (this file bundled to JS, like bench/http.ts does, so no peer pays for tsx) and
// autocannon runs in this otherwise idle process, the same way for every peer.
//
// npm run bench:interop                     (defaults: -c 50, 5 s per run, 3 rounds; BENCH_ROUNDS / BENCH_DURATION
// override)
//   node --import tsx bench/interop.ts --duration 5 --connections 50 --rounds 3 [--only hono] [--cpu-prof] [--tsx]
//   <bundle> --serve <peer>                   (internal: start one server, print its port)
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildServers } from './lib/build-servers.js';
import { runLoad } from './lib/load.js';
import { cpuSecondsOf } from './lib/proc.js';
import { median } from './lib/result.js';

type PeerName =
  | 'express-node'
  | 'express-albany'
  | 'hono-node-server'
  | 'hono-albany'
  | 'hono-albany-gateway'
  | 'gateway-albany';

/** Starts one server in this process and prints `PORT <n>` on stdout. */
async function serveOne(peer: PeerName): Promise<void> {
  const report = (port: number) => process.stdout.write(`PORT ${port}\n`);
  // BENCH_BLOCK_THRESHOLD=MS sets albany's blocking detector for the albany peers (0: off; unset: the default),
  // so the instruction bench can count them with the detector's ticks out of the way (see bench/instructions.ts).
  const threshold = process.env.BENCH_BLOCK_THRESHOLD;
  const blockThresholdMs = threshold === undefined || threshold === '' ? undefined : Number(threshold);
  if (peer === 'gateway-albany') {
    // No framework at all: the floor the interop layers sit on, shown beside the Hono pair.
    const { serve } = await import('../src/server/http.js');
    const body = Buffer.from('Hello Hono!');
    const s = await serve(
      async (scope, _receive, send) => {
        if (scope.type !== 'http') return;
        await send({
          type: 'http.response.start',
          status: 200,
          headers: [['content-type', 'text/plain; charset=UTF-8']],
        });
        await send({ type: 'http.response.body', body });
      },
      { host: '127.0.0.1', port: 0, logLevel: 'error', lifespan: 'off', blockThresholdMs },
    );
    report(s.port);
    return;
  }
  if (peer.startsWith('express')) {
    const { default: express } = await import('express');
    const app = express();
    app.get('/', (_req, res) => {
      res.send('Hello World!');
    });
    if (peer === 'express-node') {
      const http = await import('node:http');
      const server = http
        .createServer(app)
        .listen(0, '127.0.0.1', () => report((server.address() as { port: number }).port));
    } else {
      const { serve } = await import('../src/server/http.js');
      const { fromNodeHandler } = await import('../src/interop/node.js');
      const s = await serve(fromNodeHandler(app), {
        host: '127.0.0.1',
        port: 0,
        logLevel: 'error',
        lifespan: 'off',
        blockThresholdMs,
      });
      report(s.port);
    }
    return;
  }
  const { Hono } = await import('hono');
  const app = new Hono();
  app.get('/', (c) => c.text('Hello Hono!'));
  if (peer === 'hono-node-server') {
    const { serve } = await import('@hono/node-server');
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    server.once('listening', () => report((server.address() as { port: number }).port));
  } else {
    const { serve } = await import('../src/server/http.js');
    const { fromFetch } = await import('../src/interop/fetch.js');
    // hono-albany takes fromFetch's direct path (the default on albany's node:http host);
    // hono-albany-gateway sends every request through the gateway's messages instead.
    const s = await serve(fromFetch(app), {
      host: '127.0.0.1',
      port: 0,
      logLevel: 'error',
      lifespan: 'off',
      blockThresholdMs,
      directApps: peer === 'hono-albany',
    });
    report(s.port);
  }
}

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  cpuUs: number;
}

function startServer(
  entry: string,
  peer: PeerName,
  extraArgs: string[],
): Promise<{ child: ChildProcess; port: number }> {
  const loader = entry.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const child = spawn(process.execPath, [...extraArgs, ...loader, entry, '--serve', peer], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.once('exit', (code) => reject(new Error(`${peer} server exited early (code ${code})`)));
  });
}

// Server CPU time per request survives a busy machine far better than req/s: other processes
// steal wall time from every peer unevenly, but not CPU time charged to the server itself.
async function load(pid: number, port: number, connections: number, duration: number): Promise<Figures> {
  const cpu0 = cpuSecondsOf(pid);
  const f = await runLoad(`http://127.0.0.1:${port}/`, { connections, duration, pipelining: 1 });
  const cpuUs = ((cpuSecondsOf(pid) - cpu0) * 1e6) / Math.max(1, f.requests);
  return {
    rps: f.rps,
    p50: Number(f.p50.toFixed(2)),
    p99: Number(f.p99.toFixed(2)),
    errors: f.errors + f.non2xx + f.timeouts,
    cpuUs,
  };
}

async function measure(
  entry: string,
  peer: PeerName,
  opts: { connections: number; duration: number; cpuProf: boolean },
): Promise<Figures> {
  const args = opts.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', `bench/.out/interop-prof/${peer}`] : [];
  const { child, port } = await startServer(entry, peer, args);
  try {
    await load(child.pid!, port, opts.connections, 1); // warm-up: JIT, connection pools
    return await load(child.pid!, port, opts.connections, opts.duration);
  } finally {
    // SIGINT lets --cpu-prof write its file before exiting.
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGINT');
    await exited;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      serve: { type: 'string' },
      duration: { type: 'string', default: process.env.BENCH_DURATION ?? '5' },
      connections: { type: 'string', default: '50' },
      rounds: { type: 'string', default: process.env.BENCH_ROUNDS ?? '3' },
      'cpu-prof': { type: 'boolean', default: false },
      only: { type: 'string' },
      tsx: { type: 'boolean', default: false },
    },
  });
  if (values.serve) {
    process.on('SIGINT', () => process.exit(0));
    return serveOne(values.serve as PeerName);
  }
  const opts = {
    connections: Number(values.connections),
    duration: Number(values.duration),
    cpuProf: values['cpu-prof']!,
  };
  const rounds = Number(values.rounds);
  const self = fileURLToPath(import.meta.url);
  const entry = values.tsx ? self : (await buildServers([self]))[0]!;
  const pairs = (
    [
      ['express-node', 'express-albany', 0.9],
      ['hono-node-server', 'hono-albany', 1.0],
    ] as Array<[PeerName, PeerName, number]>
  ).filter(([base]) => values.only === undefined || base.startsWith(values.only));
  console.log(
    `interop bench: autocannon -c ${opts.connections} -d ${opts.duration} (after a 1 s warm-up), ${rounds} ` +
      `round(s), peers alternate; median of rounds`,
  );
  console.log(
    `commit ${(await import('./lib/machine.js')).commitId()}, node ${process.version}, ` +
      `${(await import('node:os')).cpus().length} cpus, ` +
      `load average ${(await import('node:os'))
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}; ` +
      `servers ${values.tsx ? 'through tsx' : 'bundled to JS (esbuild, no keepNames)'}, ` +
      `one child process each; autocannon in this process\n`,
  );
  const rows: string[] = [];
  for (const [base, ours, target] of pairs) {
    // Two riders with the Hono pair (not targets): the plain gateway app splits the cost of
    // albany's host from the cost of the fetch adapter, and the same Hono app with directApps off
    // shows what fromFetch costs through the gateway's messages.
    const extra: PeerName[] = base === 'hono-node-server' ? ['gateway-albany', 'hono-albany-gateway'] : [];
    const runs: Record<string, Figures[]> = { [base]: [], [ours]: [], 'gateway-albany': [], 'hono-albany-gateway': [] };
    for (let r = 0; r < rounds; r++) {
      // Alternate which goes first so drift in machine load hits both alike.
      const order = r % 2 === 0 ? [base, ours, ...extra] : [...extra, ours, base];
      for (const peer of order) {
        const f = await measure(entry, peer, opts);
        runs[peer]!.push(f);
        console.log(
          `  round ${r + 1} ${peer.padEnd(19)} ${f.rps.toFixed(0).padStart(7)} req/s  p50 ${f.p50} ms  p99 ` +
            `${f.p99} ms  server CPU ${f.cpuUs.toFixed(1)} µs/req${f.errors ? `  errors ${f.errors}` : ''}`,
        );
      }
    }
    const b = median(runs[base]!.map((f) => f.rps));
    const o = median(runs[ours]!.map((f) => f.rps));
    const ratio = o / b;
    const lat = (p: PeerName) =>
      `p50 ${median(runs[p]!.map((f) => f.p50))} ms, p99 ${median(runs[p]!.map((f) => f.p99))} ms, CPU ` +
      `${median(runs[p]!.map((f) => f.cpuUs)).toFixed(1)} µs/req`;
    const cpu = (p: PeerName) => median(runs[p]!.map((f) => f.cpuUs));
    rows.push(`${base.padEnd(17)} ${b.toFixed(0).padStart(7)} req/s  (${lat(base)})`);
    rows.push(`${ours.padEnd(17)} ${o.toFixed(0).padStart(7)} req/s  (${lat(ours)})`);
    rows.push(
      `  ratio ${ours} / ${base} = ${ratio.toFixed(3)}  (target ≥ ${target})  ${ratio >= target ? 'MET' : 'NOT MET'}`,
    );
    const cpuRatio = cpu(base) / cpu(ours);
    rows.push(
      `  CPU-per-request ratio ${base} / ${ours} = ${cpuRatio.toFixed(3)}  (throughput ratio a saturated ` +
        `server would show; ${cpuRatio >= target ? 'MET' : 'NOT MET'})`,
    );
    // Per-round ratios show how much of the result is noise.
    const perRound = runs[ours]!.map((f, i) => (f.rps / runs[base]![i]!.rps).toFixed(3)).join(', ');
    rows.push(`  per-round ratios: ${perRound}`);
    if (extra.length) {
      const g = median(runs['gateway-albany']!.map((f) => f.rps));
      rows.push(
        `gateway-albany    ${g.toFixed(0).padStart(7)} req/s  (${lat('gateway-albany')})  — plain gateway ` +
          `app, no framework`,
      );
      rows.push(
        `  ratio gateway-albany / ${base} = ${(g / b).toFixed(3)}; ${ours} / gateway-albany = ` +
          `${(o / g).toFixed(3)} (cost of fromFetch + Hono)`,
      );
      const gw = median(runs['hono-albany-gateway']!.map((f) => f.rps));
      rows.push(
        `hono-albany-gateway ${gw.toFixed(0).padStart(5)} req/s  (${lat('hono-albany-gateway')})  — the same ` +
          `app with directApps: false`,
      );
      rows.push(
        `  ratio hono-albany-gateway / ${base} = ${(gw / b).toFixed(3)}  (not a target: fromFetch through ` +
          `the gateway's messages)`,
      );
    }
  }
  console.log('\nresults (median of rounds):');
  for (const row of rows) console.log(row);
}

await main();

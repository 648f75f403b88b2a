// `npm run bench:http`: hello world on raw node:http, through albany's gateway host, and on
// @hono/node-server, under the same autocannon load in one run. Each server runs in its own child
// process (the load generator keeps this process's core); peers take turns in rotated rounds and
// each peer's median is compared. Writes bench/.out/http.json for `npm run bench`.
//
// Flags (or BENCH_<NAME> env): --duration 5  --warmup 1  --rounds 3  --connections 50
//   --profile  run only the albany peer under --cpu-prof and print where its time goes.
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flagOption, numberOption } from './lib/args.js';
import { startServer, type ChildServer } from './lib/children.js';
import { runLoad, type LoadFigures, type LoadOptions } from './lib/load.js';
import { machineInfo, machineLine } from './lib/machine.js';
import { peek } from './lib/peek.js';
import { summariseProfile } from './lib/cpu-profile.js';
import { median, meetsTarget, OUT_DIR, textTable, writeResult, type Ratio, type Scenario } from './lib/result.js';

const here = dirname(fileURLToPath(import.meta.url));
const PEERS = [
  { key: 'raw', name: 'raw node:http', entry: join(here, 'servers/raw.ts') },
  { key: 'albany', name: 'albany serve()', entry: join(here, 'servers/albany.ts') },
  { key: 'hono', name: '@hono/node-server', entry: join(here, 'servers/hono.ts') },
] as const;
type PeerKey = (typeof PEERS)[number]['key'];

const load: LoadOptions = {
  connections: numberOption('connections', 50),
  pipelining: 1,
  duration: numberOption('duration', 5),
};
const warmup = numberOption('warmup', 1);
const rounds = Math.round(numberOption('rounds', 3));
const elapsed = (() => {
  const t0 = performance.now();
  return () => `${((performance.now() - t0) / 1000).toFixed(1)}s`;
})();

const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
const fmtMs = (n: number) => n.toFixed(2);
const fmtRatio = (n: number) => n.toFixed(3);

async function measure(server: ChildServer): Promise<LoadFigures> {
  if (warmup > 0) await runLoad(server.url, { ...load, duration: warmup });
  return runLoad(server.url, load);
}

async function profile(): Promise<void> {
  const dir = join(OUT_DIR, 'prof');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const peer = PEERS[1];
  const server = await startServer(peer.key, peer.entry, { execArgv: ['--cpu-prof', '--cpu-prof-dir', dir] });
  try {
    console.log(`profiling ${peer.name} (pid ${server.pid}) for ${warmup + load.duration}s under -c ${load.connections}`);
    const figures = await measure(server);
    console.log(`${fmtInt(figures.rps)} req/s while profiled (the profiler slows it; compare nothing to this)`);
  } finally {
    await server.stop(10_000);
  }
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile written to ${dir}`);
  console.log(`\n${join(dir, file)}\n`);
  console.log(summariseProfile(join(dir, file), { top: 25 }));
}

async function compare(): Promise<void> {
  const machine = machineInfo();
  console.log(`bench:http — ${machineLine(machine)}`);
  console.log(`autocannon -c ${load.connections} -p ${load.pipelining} -d ${load.duration} (keep-alive), warm-up ${warmup}s, ${rounds} rounds\n`);

  const servers = new Map<PeerKey, ChildServer>();
  try {
    const started = await Promise.all(PEERS.map((p) => startServer(p.key, p.entry)));
    for (const s of started) servers.set(s.name as PeerKey, s);

    // Same status, headers and body from every peer, or the comparison means nothing.
    const answers = new Map<PeerKey, Awaited<ReturnType<typeof peek>>>();
    for (const p of PEERS) answers.set(p.key, await peek(servers.get(p.key)!.url));
    const shapes = new Set(PEERS.map((p) => {
      const a = answers.get(p.key)!;
      return `${a.status} ${a.body} ${a.contentType} ${[...a.headerNames].sort().join(',')}`;
    }));
    const notes: string[] = [];
    if (shapes.size !== 1) {
      notes.push('peers do not send identical responses: ' + PEERS.map((p) => `${p.key}: ${JSON.stringify(answers.get(p.key))}`).join('; '));
      console.warn(`warning: ${notes[0]}`);
    }

    const figures = new Map<PeerKey, LoadFigures[]>(PEERS.map((p) => [p.key, []]));
    for (let r = 0; r < rounds; r++) {
      // Rotate the order each round so no peer always runs first (or right after the busiest).
      const order = PEERS.map((_, i) => PEERS[(i + r) % PEERS.length]!);
      for (const p of order) {
        const f = await measure(servers.get(p.key)!);
        figures.get(p.key)!.push(f);
        const bad = f.errors + f.timeouts + f.non2xx;
        console.log(`[${elapsed().padStart(6)}] round ${r + 1}/${rounds} ${p.name.padEnd(18)} ${fmtInt(f.rps).padStart(8)} req/s  p50 ${fmtMs(f.p50)} ms  p99 ${fmtMs(f.p99)} ms${bad ? `  (${f.errors} errors, ${f.timeouts} timeouts, ${f.non2xx} non-2xx)` : ''}`);
        if (bad) notes.push(`${p.name} round ${r + 1}: ${f.errors} errors, ${f.timeouts} timeouts, ${f.non2xx} non-2xx`);
      }
    }

    const med = (k: PeerKey, field: 'rps' | 'p50' | 'p99') => median(figures.get(k)!.map((f) => f[field]));
    const scenarios: Scenario[] = PEERS.map((p) => ({
      name: p.name,
      rps: med(p.key, 'rps'),
      p50: med(p.key, 'p50'),
      p99: med(p.key, 'p99'),
      rounds: figures.get(p.key)!.map((f) => ({ rps: f.rps, p50: f.p50, p99: f.p99 })),
    }));
    const paired = (a: PeerKey, b: PeerKey) => figures.get(a)!.map((f, i) => f.rps / figures.get(b)![i]!.rps);
    const ratio = (name: string, a: PeerKey, b: PeerKey, measure: string, target: string): Ratio & { rounds: number[] } => {
      const value = med(a, 'rps') / med(b, 'rps');
      return { name, value, measure, target, pass: meetsTarget(value, target), rounds: paired(a, b) };
    };
    const ratios = [
      ratio('albany / raw node:http', 'albany', 'raw', 'gateway hello-world req/s ÷ raw node:http', '≥ 0.97'),
      ratio('albany / @hono/node-server', 'albany', 'hono', 'gateway hello-world req/s ÷ @hono/node-server', '≥ 1.02'),
      ratio('@hono/node-server / raw node:http', 'hono', 'raw', '', '(reference 0.93–0.96)'),
    ];

    const table = [
      textTable(
        ['peer', 'req/s (median)', 'p50 ms', 'p99 ms', 'req/s per round'],
        scenarios.map((s) => [s.name, fmtInt(s.rps!), fmtMs(s.p50!), fmtMs(s.p99!), s.rounds!.map((x) => fmtInt(x.rps!)).join(' / ')]),
      ),
      '',
      textTable(
        ['ratio (req/s)', 'median', 'target', '', 'per round'],
        ratios.map((r) => [r.name, fmtRatio(r.value), r.target, r.measure ? (r.pass ? 'PASS' : 'FAIL') : '', r.rounds.map(fmtRatio).join(' / ')]),
      ),
    ].join('\n');
    console.log(`\n${table}`);
    for (const n of notes) console.log(`note: ${n}`);

    const argv = process.argv.slice(2).join(' ');
    const path = writeResult({
      name: 'http',
      title: 'Gateway hello world vs raw node:http and @hono/node-server',
      command: `npm run bench:http${argv ? ` -- ${argv}` : ''}`,
      machine,
      params: { ...load, warmup, rounds, keepAlive: true, processes: 'one child process per server; autocannon in the bench process', response: answers.get('raw') },
      scenarios,
      ratios,
      table,
      notes,
    });
    console.log(`\nwrote ${path} (${elapsed()})`);
  } finally {
    await Promise.all([...servers.values()].map((s) => s.stop()));
  }
}

await (flagOption('profile') ? profile() : compare());

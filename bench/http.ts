// `npm run bench:http`: hello world on raw node:http, through albany's gateway host, and on
// @hono/node-server, under the same autocannon load in one run. Each server runs in its own child
// process (the load generator keeps this process's core); peers take turns in rotated rounds and
// each peer's median is compared. Writes bench/.out/http.json for `npm run bench`.
//
// Flags (or BENCH_<NAME> env): --duration 5  --warmup 1  --rounds 3  --connections 50
//   --profile  run only one peer (--peer albany|raw|hono, default albany) under --cpu-prof and
//              print where its time goes, with CPU time per request.
//   --tsx      run the server entries through tsx instead of bundling them first (see
//              lib/build-servers.ts for why the default is compiled JavaScript).
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flagOption, numberOption, stringOption } from './lib/args.js';
import { buildServers } from './lib/build-servers.js';
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
const viaTsx = flagOption('tsx');
const rounds = Math.round(numberOption('rounds', 3));
const elapsed = (() => {
  const t0 = performance.now();
  return () => `${((performance.now() - t0) / 1000).toFixed(1)}s`;
})();

const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
const fmtMs = (n: number) => n.toFixed(2);
const fmtRatio = (n: number) => n.toFixed(3);

/** One measurement, plus the server's CPU time per answered request (µs) when /proc tells it. */
async function measure(server: ChildServer): Promise<LoadFigures & { cpuUs?: number; busy?: number }> {
  if (warmup > 0) await runLoad(server.url, { ...load, duration: warmup });
  const cpu0 = server.cpuSeconds();
  const f = await runLoad(server.url, load);
  const cpu1 = server.cpuSeconds();
  if (cpu0 === undefined || cpu1 === undefined || f.requests === 0) return f;
  return { ...f, cpuUs: ((cpu1 - cpu0) * 1e6) / f.requests, busy: (cpu1 - cpu0) / load.duration };
}

/** The entry each peer's child runs: bundled JS by default, the .ts source with --tsx. */
async function entries(): Promise<Map<PeerKey, string>> {
  const sources = PEERS.map((p) => p.entry);
  const built = viaTsx ? sources : await buildServers(sources);
  return new Map(PEERS.map((p, i) => [p.key, built[i]!]));
}

async function profile(): Promise<void> {
  const dir = join(OUT_DIR, 'prof');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const key = stringOption('peer', 'albany');
  const peer = PEERS.find((p) => p.key === key);
  if (!peer) throw new Error(`--peer must be one of ${PEERS.map((p) => p.key).join(', ')}, got ${key}`);
  const entry = (await entries()).get(peer.key)!;
  const server = await startServer(peer.key, entry, { execArgv: ['--cpu-prof', '--cpu-prof-dir', dir] });
  let requests = 0;
  try {
    console.log(
      `profiling ${peer.name} (pid ${server.pid}) for ${warmup + load.duration}s under -c ${load.connections}`,
    );
    if (warmup > 0) requests += (await runLoad(server.url, { ...load, duration: warmup })).requests;
    const figures = await runLoad(server.url, load);
    requests += figures.requests;
    console.log(`${fmtInt(figures.rps)} req/s while profiled (the profiler slows it; compare nothing to this)`);
  } finally {
    await server.stop(10_000);
  }
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile written to ${dir}`);
  console.log(`\n${join(dir, file)}\n`);
  console.log(summariseProfile(join(dir, file), { top: 25, from: 'parserOnIncoming', requests }));
}

async function compare(): Promise<void> {
  const machine = machineInfo();
  console.log(`bench:http — ${machineLine(machine)}`);
  console.log(
    `autocannon -c ${load.connections} -p ${load.pipelining} -d ${load.duration} (keep-alive), warm-up ` +
      `${warmup}s, ${rounds} rounds; servers ${viaTsx ? 'run through tsx' : 'bundled to JS (esbuild)'}, one ` +
      `child process each\n`,
  );

  const servers = new Map<PeerKey, ChildServer>();
  try {
    const built = await entries();
    const started = await Promise.all(PEERS.map((p) => startServer(p.key, built.get(p.key)!)));
    for (const s of started) servers.set(s.name as PeerKey, s);

    // Same status, headers and body from every peer, or the comparison means nothing.
    const answers = new Map<PeerKey, Awaited<ReturnType<typeof peek>>>();
    for (const p of PEERS) answers.set(p.key, await peek(servers.get(p.key)!.url));
    const shapes = new Set(
      PEERS.map((p) => {
        const a = answers.get(p.key)!;
        return `${a.status} ${a.body} ${a.contentType} ${[...a.headerNames].sort().join(',')}`;
      }),
    );
    const notes: string[] = [];
    if (shapes.size !== 1) {
      notes.push(
        `peers do not send identical responses: ` +
          `${PEERS.map((p) => `${p.key}: ${JSON.stringify(answers.get(p.key))}`).join('; ')}`,
      );
      console.warn(`warning: ${notes[0]}`);
    }

    const figures = new Map<PeerKey, Array<LoadFigures & { cpuUs?: number; busy?: number }>>(
      PEERS.map((p) => [p.key, []]),
    );
    for (let r = 0; r < rounds; r++) {
      // Rotate the order each round so no peer always runs first (or right after the busiest).
      const order = PEERS.map((_, i) => PEERS[(i + r) % PEERS.length]!);
      for (const p of order) {
        const f = await measure(servers.get(p.key)!);
        figures.get(p.key)!.push(f);
        const bad = f.errors + f.timeouts + f.non2xx;
        console.log(
          `[${elapsed().padStart(6)}] round ${r + 1}/${rounds} ${p.name.padEnd(18)} ` +
            `${fmtInt(f.rps).padStart(8)} req/s  p50 ${fmtMs(f.p50)} ms  p99 ${fmtMs(f.p99)} ms` +
            `${
              f.cpuUs !== undefined
                ? `  server CPU ${f.cpuUs.toFixed(1)} µs/req, ${Math.round(f.busy! * 100)}% busy`
                : ''
            }` +
            `${bad ? `  (${f.errors} errors, ${f.timeouts} timeouts, ${f.non2xx} non-2xx)` : ''}`,
        );
        if (bad)
          notes.push(`${p.name} round ${r + 1}: ${f.errors} errors, ${f.timeouts} timeouts, ${f.non2xx} non-2xx`);
      }
    }

    const med = (k: PeerKey, field: 'rps' | 'p50' | 'p99' | 'cpuUs') =>
      median(figures.get(k)!.map((f) => f[field] ?? NaN));
    const hasCpu = figures.get('raw')!.every((f) => f.cpuUs !== undefined);
    const scenarios: Scenario[] = PEERS.map((p) => ({
      name: p.name,
      rps: med(p.key, 'rps'),
      p50: med(p.key, 'p50'),
      p99: med(p.key, 'p99'),
      ...(hasCpu ? { extra: { 'server CPU µs/req': med(p.key, 'cpuUs') } } : {}),
      rounds: figures
        .get(p.key)!
        .map((f) => ({ rps: f.rps, p50: f.p50, p99: f.p99, ...(f.cpuUs !== undefined ? { cpuUs: f.cpuUs } : {}) })),
    }));
    const paired = (a: PeerKey, b: PeerKey) => figures.get(a)!.map((f, i) => f.rps / figures.get(b)![i]!.rps);
    const ratio = (
      name: string,
      a: PeerKey,
      b: PeerKey,
      measure: string,
      target: string,
    ): Ratio & { rounds: number[] } => {
      const value = med(a, 'rps') / med(b, 'rps');
      return { name, value, measure, target, pass: meetsTarget(value, target), rounds: paired(a, b) };
    };
    // Server CPU per request, inverted so it reads like a req/s ratio (>1: albany needs less CPU).
    // It does not depend on whether the load generator or the server was the bottleneck.
    const cpuRatio = (name: string, a: PeerKey, b: PeerKey): Ratio & { rounds: number[] } => {
      const value = med(b, 'cpuUs') / med(a, 'cpuUs');
      return {
        name,
        value,
        measure: '',
        target: 'reference',
        pass: true,
        rounds: figures.get(a)!.map((f, i) => figures.get(b)![i]!.cpuUs! / f.cpuUs!),
      };
    };
    const ratios = [
      ratio('albany / raw node:http', 'albany', 'raw', 'gateway hello-world req/s ÷ raw node:http', '≥ 0.97'),
      ratio('albany / @hono/node-server', 'albany', 'hono', 'gateway hello-world req/s ÷ @hono/node-server', '≥ 1.02'),
      ratio('@hono/node-server / raw node:http', 'hono', 'raw', '', '(reference 0.93–0.96)'),
      ...(hasCpu
        ? [cpuRatio('CPU/req: raw ÷ albany', 'albany', 'raw'), cpuRatio('CPU/req: hono ÷ albany', 'albany', 'hono')]
        : []),
    ];

    const table = [
      textTable(
        ['peer', 'req/s (median)', 'p50 ms', 'p99 ms', 'server CPU µs/req', 'req/s per round'],
        scenarios.map((s) => [
          s.name,
          fmtInt(s.rps!),
          fmtMs(s.p50!),
          fmtMs(s.p99!),
          hasCpu ? s.extra!['server CPU µs/req']!.toFixed(1) : 'n/a',
          s.rounds!.map((x) => fmtInt(x.rps!)).join(' / '),
        ]),
      ),
      '',
      textTable(
        ['ratio (req/s)', 'median', 'target', '', 'per round'],
        ratios.map((r) => [
          r.name,
          fmtRatio(r.value),
          r.target,
          r.measure ? (r.pass ? 'PASS' : 'FAIL') : '',
          r.rounds.map(fmtRatio).join(' / '),
        ]),
      ),
    ].join('\n');
    console.log(`\n${table}`);
    const busiest = Math.max(...[...figures.values()].flat().map((f) => f.busy ?? 1));
    if (busiest < 0.85) {
      notes.push(
        `no server was saturated (at most ${Math.round(busiest * 100)}% of a core): the load generator, or ` +
          `other work on the machine, set the pace, so req/s ratios are squeezed toward 1; the server CPU per ` +
          `request ratios show the real difference in cost`,
      );
    }
    for (const n of notes) console.log(`note: ${n}`);

    const argv = process.argv.slice(2).join(' ');
    const path = writeResult({
      name: 'http',
      title: 'Gateway hello world vs raw node:http and @hono/node-server',
      command: `npm run bench:http${argv ? ` -- ${argv}` : ''}`,
      machine,
      params: {
        ...load,
        warmup,
        rounds,
        keepAlive: true,
        servers: viaTsx ? 'TypeScript through tsx' : 'bundled to JS with esbuild (no keepNames)',
        processes: 'one child process per server; autocannon in the bench process',
        response: answers.get('raw'),
      },
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

// `npm run bench:instructions`: user-space instructions per request of each server peer, counted by
// valgrind's callgrind. On this shared machine req/s and even CPU-µs per request swing by ±20%
// between rounds; an instruction count does not depend on how busy the machine is and repeats to
// within a few per cent, so it can tell a 3% difference that the load benches cannot.
//
// Each peer runs alone under `valgrind --tool=callgrind` with instrumentation off; autocannon (in
// this process) warms it up, instrumentation is switched on for exactly the measured requests, the
// counters are dumped and split into V8 optimizing-compiler work, GC and the rest (see
// lib/callgrind.ts). Too slow (~30–60 s per peer) for the default `npm run bench`.
//
//   npm run bench:instructions -- [--requests 5000] [--warmup 10000] [--connections 50]
//                                 [--only albany,raw] [--rounds 1] [--top 0] [--js]
//   --js: run node with --perf-basic-prof so the --top listing names JIT-compiled JavaScript
//         functions (JS:*dispatch …) instead of anonymous addresses; a little slower to start.
//
// The answer is not a TARGETS.md req/s ratio: it leaves out kernel time (syscalls, TCP), which is
// the same for every peer here since every peer does the same reads and writes per request.
import autocannon from 'autocannon';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { buildServers } from './lib/build-servers.js';
import { annotate, classify, missingTool, nameJitFunctions, split, startUnderCallgrind, type FunctionCost, type IrSplit } from './lib/callgrind.js';
import { machineInfo, machineLine } from './lib/machine.js';
import { peek } from './lib/peek.js';
import { median, OUT_DIR, textTable } from './lib/result.js';

const here = dirname(fileURLToPath(import.meta.url));

/** A server peer: which bench entry to bundle and run, with which arguments. */
interface Peer {
  key: string;
  source: string;
  args: string[];
  what: string;
}

// bench/servers/*.ts print `{"port":N}`; bench/interop.ts --serve prints `PORT N`. `hono` and
// `hono-node-server` are the same stack (Hono app on @hono/node-server) from two files; they differ
// only in the body text ("Hello World!" vs "Hello Hono!"), so their pair also shows the noise floor.
const PEERS: readonly Peer[] = [
  { key: 'raw', source: 'servers/raw.ts', args: [], what: 'hello world on plain node:http (bench/servers/raw.ts)' },
  { key: 'albany', source: 'servers/albany.ts', args: [], what: 'gateway app on albany serve() (bench/servers/albany.ts)' },
  { key: 'albany-detector-off', source: 'servers/albany.ts', args: ['--block-threshold=0'], what: 'the same with the blocking detector off (--block-threshold=0)' },
  // Under callgrind the process runs ~50x slower: at 100 ms the loop really is blocked past the
  // threshold now and then (JIT, GC) and the heartbeat's ticks fall on far fewer requests. A 5 s
  // threshold keeps the per-request work and the thread, with ticks at their slowest (500/250 ms).
  { key: 'albany-detector-5s', source: 'servers/albany.ts', args: ['--block-threshold=5000'], what: 'the same with the detector at a 5 s threshold (per-request work, few ticks)' },
  { key: 'hono', source: 'servers/hono.ts', args: [], what: 'Hono app on @hono/node-server (bench/servers/hono.ts)' },
  { key: 'express-node', source: 'interop.ts', args: ['--serve', 'express-node'], what: 'Express 5 on node:http (bench/interop.ts)' },
  { key: 'express-albany', source: 'interop.ts', args: ['--serve', 'express-albany'], what: 'the same Express app through fromNodeHandler on albany' },
  { key: 'hono-node-server', source: 'interop.ts', args: ['--serve', 'hono-node-server'], what: 'Hono on @hono/node-server (bench/interop.ts)' },
  { key: 'hono-albany', source: 'interop.ts', args: ['--serve', 'hono-albany'], what: 'the same Hono app through fromFetch on albany (direct path, the default)' },
  { key: 'hono-albany-gateway', source: 'interop.ts', args: ['--serve', 'hono-albany-gateway'], what: 'the same, directApps: false (every request through the gateway)' },
];

/** Ratios worth printing: ours ÷ theirs, in instructions per request (lower is better for ours). */
const RATIOS: ReadonlyArray<readonly [ours: string, base: string]> = [
  ['albany', 'raw'],
  ['albany', 'albany-detector-off'],
  ['albany-detector-5s', 'albany-detector-off'],
  ['albany', 'hono'],
  ['hono-albany', 'hono-node-server'],
  ['hono-albany-gateway', 'hono-node-server'],
  ['express-albany', 'express-node'],
];

const USAGE = `usage: npm run bench:instructions -- [--requests 5000] [--warmup 10000] [--connections 50]
                                  [--only ${PEERS.map((p) => p.key).join(',')}]
                                  [--rounds 1] [--top 0] [--js]`;

// A mistyped flag gets one line and the usage, not parseArgs' stack trace.
const { values } = (() => {
  try {
    return parseArgs({
      options: {
        requests: { type: 'string', default: '5000' },
        warmup: { type: 'string', default: '10000' },
        connections: { type: 'string', default: '50' },
        rounds: { type: 'string', default: '1' },
        top: { type: 'string', default: '0' },
        js: { type: 'boolean', default: false },
        only: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
})();
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

function positiveInt(name: string, raw: string, allowZero = false): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1)) {
    console.error(`--${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return n;
}

// Flags only, deliberately no BENCH_* environment: BENCH_WARMUP means seconds to the other benches
// and would silently mean "1 request" here.
const requests = positiveInt('requests', values.requests);
const warmup = positiveInt('warmup', values.warmup);
const connections = positiveInt('connections', values.connections);
const rounds = positiveInt('rounds', values.rounds);
const top = positiveInt('top', values.top, true);
const only = values.only?.split(',').map((s) => s.trim()).filter(Boolean);
if (only) {
  const unknown = only.filter((k) => !PEERS.some((p) => p.key === k));
  if (unknown.length) {
    console.error(`--only: unknown peer(s) ${unknown.join(', ')}; peers are ${PEERS.map((p) => p.key).join(', ')}`);
    process.exit(2);
  }
}
const peers = PEERS.filter((p) => !only || only.includes(p.key));

const missing = missingTool();
if (missing) {
  console.error(`bench:instructions needs valgrind's callgrind (${missing} not found): apt-get install valgrind`);
  process.exit(1);
}

const t0 = performance.now();
const clock = () => `[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)}s]`;
const perReq = (ir: number, n: number) => ir / n;
const fmtIr = (n: number) => Math.round(n).toLocaleString('en-US');

/** Completed responses of one autocannon run of exactly `amount` requests. */
async function drive(port: number, amount: number): Promise<{ ok: number; bad: number }> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/`,
    connections,
    amount,
    // Under valgrind a response can take far longer than autocannon's 10 s default allows.
    timeout: 120,
  });
  return { ok: result['2xx'], bad: result.non2xx + result.errors + result.timeouts };
}

/** One peer's measured figures, per request. */
interface Measured {
  key: string;
  /** Ir per request. */
  perRequest: IrSplit;
  ok: number;
  bad: number;
  responseBytes: number;
  dumpFile: string;
  topRest: FunctionCost[];
}

async function measure(peer: Peer, entry: string, round: number): Promise<Measured> {
  const outDir = join(OUT_DIR, 'callgrind', peer.key);
  const tag = `${peer.key}${rounds > 1 ? ` (round ${round + 1})` : ''}`;
  console.log(`${clock()} ${tag}: starting under valgrind`);
  const server = await startUnderCallgrind(entry, peer.args, { outDir, nodeArgs: values.js ? ['--perf-basic-prof'] : [] });
  try {
    // One plain request first: the response's size explains part of any difference in cost.
    const answer = await peek(`http://127.0.0.1:${server.port}/`);
    console.log(`${clock()} ${tag}: ${answer.status}, ${answer.bytes} bytes on the wire; warm-up ${warmup} requests (not counted)`);
    const w = await drive(server.port, warmup);
    if (w.bad) console.warn(`${clock()} ${tag}: warning: ${w.bad} failed warm-up requests`);
    console.log(`${clock()} ${tag}: counting ${requests} requests`);
    await server.instrument(true);
    const r = await drive(server.port, requests);
    await server.instrument(false);
    const file = await server.dump();
    if (r.bad) console.warn(`${clock()} ${tag}: warning: ${r.bad} failed requests in the counted window`);
    if (r.ok === 0) throw new Error(`${peer.key}: no successful request in the counted window`);
    const { total, functions } = await annotate(file);
    const s = split(total, functions);
    // Divided by the responses actually received, so a failed request is not "free".
    const perRequest: IrSplit = { total: perReq(s.total, r.ok), compiler: perReq(s.compiler, r.ok), gc: perReq(s.gc, r.ok), rest: perReq(s.rest, r.ok) };
    const listed = values.js ? nameJitFunctions(functions, server.pid) : functions;
    // V8 writes the map for the process's whole life; it is only needed for this listing.
    if (values.js) rmSync(`/tmp/perf-${server.pid}.map`, { force: true });
    const topRest = listed.filter((f) => f.object === 'JIT' || classify(f.name) === 'rest').slice(0, top);
    console.log(`${clock()} ${tag}: total ${fmtIr(perRequest.total)}  compiler ${fmtIr(perRequest.compiler)}  GC ${fmtIr(perRequest.gc)}  rest ${fmtIr(perRequest.rest)} Ir/req`);
    for (const f of topRest) console.log(`    ${fmtIr(f.ir / r.ok).padStart(7)} Ir/req  ${f.name}${f.object ? ` [${f.object}]` : ''}`);
    return { key: peer.key, perRequest, ok: r.ok, bad: r.bad, responseBytes: answer.bytes, dumpFile: file, topRest };
  } finally {
    await server.kill();
  }
}

function valgrindVersion(): string {
  try {
    return execFileSync('valgrind', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return 'valgrind';
  }
}

async function main(): Promise<void> {
  const machine = machineInfo();
  const command = `npm run bench:instructions${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  console.log(`bench:instructions — ${machineLine(machine)}; ${valgrindVersion()}`);
  console.log(`callgrind instruction counts (Ir = user-space instructions, every thread of the server process), NOT req/s;`);
  console.log(`per peer: warm-up ${warmup} requests uninstrumented, then ${requests} counted requests, autocannon -c ${connections} (keep-alive), ${rounds} round(s); servers bundled to JS (esbuild)\n`);

  const sources = [...new Set(peers.map((p) => p.source))];
  const built = await buildServers(sources.map((s) => join(here, s)));
  const entryOf = new Map(sources.map((s, i) => [s, built[i]!]));

  const runs = new Map<string, Measured[]>(peers.map((p) => [p.key, []]));
  for (let round = 0; round < rounds; round++) {
    for (const peer of peers) runs.get(peer.key)!.push(await measure(peer, entryOf.get(peer.source)!, round));
  }

  // Median over rounds of each part (with one round: that round).
  const med = (key: string, part: keyof IrSplit) => median(runs.get(key)!.map((m) => m.perRequest[part]));
  const rows = peers.map((p) => {
    const ms = runs.get(p.key)!;
    const rests = ms.map((m) => m.perRequest.rest);
    const spread = rests.length > 1 ? `${(((Math.max(...rests) - Math.min(...rests)) / median(rests)) * 100).toFixed(1)}%` : '';
    return [p.key, String(ms[0]!.responseBytes), fmtIr(med(p.key, 'total')), fmtIr(med(p.key, 'compiler')), fmtIr(med(p.key, 'gc')), fmtIr(med(p.key, 'rest')), ...(rounds > 1 ? [spread] : [])];
  });
  const table = textTable(['peer', 'resp. bytes', 'total Ir/req', 'compiler', 'GC', 'rest', ...(rounds > 1 ? ['rest spread'] : [])], rows);

  const ratioLines: string[] = [];
  const ratios: Array<{ ours: string; base: string; rest: number; total: number }> = [];
  for (const [ours, base] of RATIOS) {
    if (!runs.has(ours) || !runs.has(base)) continue;
    const rest = med(ours, 'rest') / med(base, 'rest');
    const total = med(ours, 'total') / med(base, 'total');
    ratios.push({ ours, base, rest, total });
    ratioLines.push(
      `instruction ratio ${ours} ÷ ${base} (rest) = ${rest.toFixed(3)}   (total ${total.toFixed(3)}; throughput-equivalent ${base} ÷ ${ours} = ${(1 / rest).toFixed(3)})`,
    );
  }

  console.log(`\n${table}\n`);
  // A counted window usually repeats within ~2%, but now and then V8 settles into a slower state
  // (e.g. objects migrating between maps on every request) and one round comes out far higher.
  for (const p of peers) {
    const rests = runs.get(p.key)!.map((m) => m.perRequest.rest);
    if (rests.length > 1 && (Math.max(...rests) - Math.min(...rests)) / median(rests) > 0.05) {
      console.log(`note: ${p.key}'s rounds differ by more than 5% (rest ${rests.map(fmtIr).join(' / ')}); the median is shown`);
    }
  }
  if (rounds === 1) console.log('note: one round; an odd JIT state can make one peer\'s figure far off — use --rounds 3 to take a median\n');
  for (const line of ratioLines) console.log(line);
  console.log([
    '',
    'Ir/req = instructions per request. "rest" = total − V8 optimizing compiler (background jobs left over from the warm-up)',
    '− GC; it is the steady-state cost and the figure to compare. An instruction ratio below 1 means ours executes fewer',
    'instructions than the peer; the throughput-equivalent inverse is what a CPU-bound server would show in req/s if every',
    'instruction cost the same time. These are instruction counts, not the TARGETS.md req/s ratios: kernel time (syscalls,',
    'TCP) is not counted, nor cache misses or branch mispredictions.',
    `dumps: ${join(OUT_DIR, 'callgrind')}/<peer>/ (open with callgrind_annotate or kcachegrind)`,
  ].join('\n'));

  const path = join(OUT_DIR, 'instructions.json');
  mkdirSync(OUT_DIR, { recursive: true });
  writeFileSync(path, `${JSON.stringify({
    name: 'instructions',
    command,
    machine,
    valgrind: valgrindVersion(),
    params: { requests, warmup, connections, rounds },
    peers: peers.map((p) => ({ key: p.key, what: p.what, runs: runs.get(p.key)!.map(({ topRest: _t, ...m }) => m) })),
    ratios,
    table,
  }, null, 2)}\n`);
  console.log(`\nwrote ${path} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
}

await main();

// bench:scale part (0): the --workers row by instruction count. `albany serve --workers 1` and
// `--workers 2` (the real CLI, bench/servers/albany-cli.ts bundled from the sources) and plain
// node:http under the same runCluster (bench/scale.ts --role cluster) with 1 and 2 workers, each
// measured by lib/cluster-ir.ts: every process under callgrind, counted for exactly the same requests.
//
// The blocking detector (in each albany process that serves) works by the wall clock: a heartbeat
// every 50 ms and a watchdog look every 25 ms, a report when a loop turn lasts 100 ms. Under
// callgrind the process runs ~20–50× slower against the wall clock, so unscaled it ticks that many
// times more often per request, and a turn of 25–50 keep-alive requests passes 100 ms and fires it
// (a stack capture through the inspector): both costs that a native run never pays, and they differ
// between one process taking all the requests and two taking half each. As bench:instructions does
// for its judged detector row, every period of the detector is stretched by the slowdown measured
// in the same round (wall µs per request of node:http --workers 1 under callgrind ÷ its CPU µs per
// request natively, both with the same keep-alive driver), so it ticks as often per request, and
// sees turns as long against its threshold, as natively.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer } from './children.js';
import { measureClusterIr, type ClusterIr, type ClusterIrOptions, type ClusterIrPeer } from './cluster-ir.js';
import { KeepAliveDriver } from './keepalive-driver.js';
import { cpuSecondsOf, processTree } from './proc.js';
import { median, OUT_DIR } from './result.js';
import { CONTENT_TYPE, HELLO } from '../servers/ready.js';

/** The app `albany serve` loads: the hello world every bench peer sends (servers/ready.ts). */
const HELLO_APP = `const HELLO = Buffer.from(${JSON.stringify(HELLO)});
const headers = [['content-type', ${JSON.stringify(CONTENT_TYPE)}]];
export default async function app(scope, _receive, send) {
  if (scope.type !== 'http') return;
  await send({ type: 'http.response.start', status: 200, headers });
  await send({ type: 'http.response.body', body: HELLO });
}
`;

/**
 * Parameters of part (0): the counted and quiet windows as {@link ClusterIrOptions} has them (a
 * 2-worker cluster gets twice the warm-up: `warmup` is per serving process), and the rest below.
 */
export interface WorkersIrOptions
  extends Pick<
    ClusterIrOptions,
    'requests' | 'windows' | 'warmup' | 'connections' | 'idleSeconds' | 'settleSeconds' | 'log'
  > {
  /** bench/scale.ts bundled (its `--role cluster` serves plain node:http under runCluster). */
  scaleEntry: string;
  /** bench/servers/albany-cli.ts bundled. */
  cliEntry: string;
  rounds: number;
  /** The detector's clock stretch for every round instead of the measured slowdown (1: unscaled). */
  clockScale?: number;
  freePort: () => Promise<number>;
}

type Server = 'albany' | 'node';

/** One measured cluster, with the round it ran in and the detector's clock scale it ran at. */
export interface WorkersIrRun extends ClusterIr {
  server: Server;
  workers: number;
  round: number;
  clockScale?: number;
}

/** What part (0) found. */
export interface WorkersIrResult {
  runs: WorkersIrRun[];
  /** albany total Ir/req, --workers 2 ÷ --workers 1, median over rounds (the judged figure). */
  albanyRatio: number;
  nodeRatio: number;
  /** Per round: node:http --workers 1's slowdown under callgrind and the native CPU µs/req it came from. */
  slowdowns: Array<{ slowdown: number; nativeMicros: number; callgrindWallMicros: number }>;
}

/** CPU µs per request of plain node:http --workers 1 run natively (every process, /proc). */
async function nativeMicrosPerRequest(options: WorkersIrOptions): Promise<number> {
  const port = await options.freePort();
  const child = await startServer('node-workers-1-native', options.scaleEntry, {
    env: { BENCH_ROLE: 'cluster', BENCH_SERVER: 'node', BENCH_WORKERS: '1', BENCH_PORT: String(port) },
    timeoutMs: 30_000,
  });
  try {
    const driver = await KeepAliveDriver.open(port, options.connections);
    try {
      await driver.run(options.warmup);
      const cpu = () => processTree(child.pid).reduce((a, pid) => a + (cpuSecondsOf(pid) || 0), 0);
      const before = cpu();
      const r = await driver.run(20_000);
      return ((cpu() - before) * 1e6) / r.ok;
    } finally {
      driver.close();
    }
  } finally {
    await child.stop(20_000);
  }
}

/** Runs part (0): per round node:http 1, albany 1, node:http 2, albany 2. */
export async function measureWorkersIr(options: WorkersIrOptions): Promise<WorkersIrResult> {
  const appDir = join(OUT_DIR, 'scale-app');
  mkdirSync(appDir, { recursive: true });
  const app = join(appDir, 'hello.mjs');
  writeFileSync(app, HELLO_APP);
  const runs: WorkersIrRun[] = [];
  const slowdowns: WorkersIrResult['slowdowns'] = [];
  const order: Array<{ server: Server; workers: number }> = [
    { server: 'node', workers: 1 },
    { server: 'albany', workers: 1 },
    { server: 'node', workers: 2 },
    { server: 'albany', workers: 2 },
  ];
  for (let round = 1; round <= options.rounds; round++) {
    let clockScale = options.clockScale ?? 1;
    // Two busy workers under valgrind share the two cores (with the load driver and whatever else
    // runs), so each turns its loop about half as fast as one process alone: at the single-process
    // slowdown the detector fired in both workers of a 2-worker cluster (a stack capture, 5M Ir of line
    // ends for the bundle, and a major GC after it). So each serving process's clock is stretched by
    // the slowdown times the number of them; its ticks then fall half as often per request as natively,
    // a bias of the order of the idle-rate column (a few hundred Ir/req at most) in albany-2's favour.
    const detectorClock = (workers: number) => options.clockScale ?? Math.min(10_000, clockScale * workers);
    for (const { server, workers } of order) {
      const port = await options.freePort();
      const key = `${server === 'node' ? 'node:http' : 'albany'} --workers ${workers}`;
      const processes = server === 'albany' && workers === 1 ? 1 : workers + 1;
      const peer: ClusterIrPeer =
        server === 'node'
          ? {
              key,
              entry: options.scaleEntry,
              args: [],
              env: {
                ...process.env,
                BENCH_ROLE: 'cluster',
                BENCH_SERVER: 'node',
                BENCH_WORKERS: String(workers),
                BENCH_PORT: String(port),
              },
              processes,
              ready: (out) => (/"port":\d+/.test(out) ? port : undefined),
            }
          : {
              key,
              entry: options.cliEntry,
              // The access log is on by default at info level; off here as in every other albany peer.
              args: [
                'serve',
                app,
                '--host',
                '127.0.0.1',
                '--port',
                String(port),
                '--workers',
                String(workers),
                '--no-access-log',
                '--log-level',
                'warn',
              ],
              env: { ...process.env, BENCH_BLOCK_CLOCK_SCALE: detectorClock(workers).toFixed(2) },
              processes,
              // One line per serving process once it listens.
              ready: (out) => ((out.match(/albany: listening on/g)?.length ?? 0) >= workers ? port : undefined),
            };
      const t0 = performance.now();
      options.log(
        `round ${round}: ${key} under callgrind` +
          `${server === 'albany' ? ` (detector clock ×${detectorClock(workers).toFixed(1)})` : ''}`,
      );
      const measured = await measureClusterIr(peer, {
        requests: options.requests,
        windows: options.windows,
        warmup: options.warmup * workers,
        connections: options.connections,
        idleSeconds: options.idleSeconds,
        settleSeconds: options.settleSeconds,
        outDir: join(OUT_DIR, 'callgrind', `scale-${server}-${workers}`),
        log: (l) => options.log(`round ${round}: ${l}`),
      });
      runs.push({
        ...measured,
        server,
        workers,
        round,
        ...(server === 'albany' ? { clockScale: detectorClock(workers) } : {}),
      });
      options.log(
        `round ${round}: ${key}: ${Math.round(measured.perRequest.total).toLocaleString('en-US')} Ir/req ` +
          `(${((performance.now() - t0) / 1000).toFixed(0)} s)`,
      );
      if (server === 'node' && workers === 1) {
        const nativeMicros = await nativeMicrosPerRequest(options);
        const callgrindWallMicros = (measured.windowSeconds * 1e6) / measured.ok;
        if (options.clockScale === undefined)
          clockScale = Math.min(10_000, Math.max(1, callgrindWallMicros / nativeMicros));
        slowdowns.push({ slowdown: clockScale, nativeMicros, callgrindWallMicros });
      }
    }
  }
  const ratio = (server: Server) => {
    const perRound: number[] = [];
    for (let round = 1; round <= options.rounds; round++) {
      const of = (w: number) => runs.find((x) => x.server === server && x.workers === w && x.round === round)!;
      perRound.push(of(2).perRequest.total / of(1).perRequest.total);
    }
    return median(perRound);
  };
  return { runs, albanyRatio: ratio('albany'), nodeRatio: ratio('node'), slowdowns };
}

// Instructions per request of a whole cluster (bench:scale --instructions): the primary and every
// worker run under `valgrind --tool=callgrind --trace-children=yes`, one dump file per pid, counting
// switched on in every process for exactly the counted requests and summed. The /proc CPU figure of
// the same row swings ±15–35 % per round on a shared 2-core machine; an instruction count does not
// depend on load. Each process's idle cost is measured on its own, over a quiet window after the
// warm-up, because valgrind's ~20–50× slowdown stretches a counted window's wall time that much and
// a process's per-second work (timers, the blocking detector's heartbeat and watchdog) with it.
import {
  annotate,
  callgrindControl,
  dumpPid,
  split,
  startUnderCallgrind,
  type FunctionCost,
  type IrSplit,
} from './callgrind.js';
import { KeepAliveDriver, type DriveCounts } from './keepalive-driver.js';
import { peek } from './peek.js';
import { connectionOwners, processTree } from './proc.js';

/** One cluster to measure: the entry (a bundle) and how to run it. */
export interface ClusterIrPeer {
  key: string;
  entry: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** Processes once ready: 1 for a single process, workers + 1 for a cluster (its primary). */
  processes: number;
  /** The port once the server has said it is ready (see startUnderCallgrind's `ready`). */
  ready: (stdout: string) => number | undefined;
}

/** How many requests, on how many connections, and how long the quiet window lasts. */
export interface ClusterIrOptions {
  /** Requests per counted window. */
  requests: number;
  /** Counted windows back to back; the one with the median total is reported. */
  windows: number;
  warmup: number;
  connections: number;
  /** Seconds of the quiet window (instrumented, no requests) after the warm-up. */
  idleSeconds: number;
  /** Seconds to wait, uncounted, between the counted and the quiet window (compiler jobs finishing). */
  settleSeconds: number;
  /** Folder for the dump files (emptied first). */
  outDir: string;
  /** Progress lines. */
  log: (line: string) => void;
}

/** One process of the cluster. */
export interface ProcessIr {
  pid: number;
  role: 'primary' | 'worker' | 'single';
  /** Ir per wall second with no requests (the quiet window after the counted one). */
  idleIrPerSecond: number;
  /** Of it, V8's optimizing compiler and GC per second (the rest is timers, the detector, …). */
  idleCompilerGcPerSecond: number;
  /** Everything it executed in the counted window. */
  window: IrSplit;
  /** Requests it answered in the counted window (by which process holds each connection). */
  requests: number;
  /**
   * Ir in V8's inspector in the counted window: the blocking detector's watchdog interrupts the main
   * thread through it to take a stack, so anything above 0 means the detector fired.
   */
  inspectorIr: number;
}

/** The figures of one cluster. */
export interface ClusterIr {
  key: string;
  processes: ProcessIr[];
  ok: number;
  bad: number;
  /** Wall seconds of the counted window (valgrind slows everything ~20–50×). */
  windowSeconds: number;
  /** Total Ir per request of every counted window, in order (the median one is reported). */
  windowTotals: number[];
  /** Sum over every process ÷ answered requests. */
  perRequest: IrSplit;
  /**
   * Σ idle Ir/s (compiler and GC left out) × window seconds ÷ requests: how much of perRequest is
   * per-second cost (timers, the blocking detector), not per-request work.
   */
  idlePerRequest: number;
  /** Connections the server had closed, opened again before the counted window. */
  reopened: number;
  /** Connections whose server process could not be found (then their requests are unassigned). */
  unassigned: number;
  responseBytes: number;
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
const INSPECTOR = /v8_inspector|inspector::|V8Inspector/;

async function annotated(file: string): Promise<{ split: IrSplit; inspector: number }> {
  const { total, functions } = await annotate(file);
  const inspector = sum(functions.filter((f: FunctionCost) => INSPECTOR.test(f.name)).map((f) => f.ir));
  return { split: split(total, functions), inspector };
}

/** One counted window: its answers, wall seconds, who held each connection, its dump per pid. */
interface Window {
  r: DriveCounts;
  seconds: number;
  owners: Array<number | undefined>;
  files: string[];
  /** Ir per request over every process. */
  total: number;
}

/** Switches instrumentation on or off in every pid at once; resolves with when each switch returned. */
async function instrumentAll(pids: readonly number[], on: boolean): Promise<number[]> {
  return Promise.all(
    pids.map(async (pid) => {
      await callgrindControl(pid, '-i', on ? 'on' : 'off');
      return performance.now();
    }),
  );
}

/** Measures `peer`: warm-up, counted windows, quiet window; every process of it counted. */
export async function measureClusterIr(peer: ClusterIrPeer, options: ClusterIrOptions): Promise<ClusterIr> {
  const { log } = options;
  const server = await startUnderCallgrind(peer.entry, peer.args, {
    outDir: options.outDir,
    env: peer.env,
    traceChildren: true,
    ready: peer.ready,
    // Three processes starting under valgrind on a loaded 2-core machine.
    timeoutMs: 600_000,
  });
  let pids: number[] = [server.pid];
  try {
    // A cluster's workers are ready before the ready line; wait for them to show in /proc all the same.
    for (let i = 0; i < 100 && processTree(server.pid).length < peer.processes; i++)
      await new Promise((r) => setTimeout(r, 100));
    pids = processTree(server.pid);
    if (pids.length !== peer.processes)
      throw new Error(`${peer.key}: ${pids.length} processes under valgrind, expected ${peer.processes}`);
    const role = (pid: number): ProcessIr['role'] =>
      peer.processes === 1 ? 'single' : pid === server.pid ? 'primary' : 'worker';
    const answer = await peek(`http://127.0.0.1:${server.port}/`, 120_000);
    log(`${peer.key}: ${pids.length} process(es) ${pids.join(', ')}; ${answer.status}, ${answer.bytes} bytes`);
    const driver = await KeepAliveDriver.open(server.port, options.connections);
    try {
      const w = await driver.run(options.warmup);
      if (w.bad) log(`${peer.key}: warning: ${w.bad} failed warm-up requests`);
      // The counted windows right after the warm-up, on the same connections (as bench:instructions
      // does): a pause here would let the servers' keep-alive timeout (5 s) close them all, and the
      // count would then pay for 50 new connections and the optimizing-compiler work they bring.
      // Several windows back to back, the median one kept: a one-off burst in any process (an idle
      // primary's first full GC after start-up, seen at 7–13k Ir/req of a 5,000-request window) lands
      // in one of them, not in the figure.
      const reopened = driver.reopened;
      const windows: Window[] = [];
      for (let n = 0; n < options.windows; n++) {
        await instrumentAll(pids, true);
        const t0 = performance.now();
        const r = await driver.run(options.requests);
        const seconds = (performance.now() - t0) / 1000;
        // Who holds each connection, read while they are all open (an idle one is closed after 5 s).
        const owners = connectionOwners(server.port, driver.localPorts(), pids);
        await instrumentAll(pids, false);
        if (r.bad) log(`${peer.key}: warning: ${r.bad} failed requests in counted window ${n + 1}`);
        if (r.ok === 0) throw new Error(`${peer.key}: no successful request in counted window ${n + 1}`);
        const files = await Promise.all(pids.map((pid) => dumpPid(options.outDir, pid)));
        windows.push({ r, seconds, owners, files, total: 0 });
      }
      if (driver.reopened > reopened)
        log(`${peer.key}: note: ${driver.reopened - reopened} connection(s) reopened inside the counted windows`);
      // The quiet window, after a pause for the compiler jobs the requests queued and for the servers
      // to close the connections (closed here, not by their keep-alive timeout inside the window):
      // counting on everywhere, nothing sent, nothing open.
      driver.close();
      await new Promise((r) => setTimeout(r, options.settleSeconds * 1000));
      const idleOn = await instrumentAll(pids, true);
      await new Promise((r) => setTimeout(r, options.idleSeconds * 1000));
      const idleOff = pids.map(() => performance.now());
      await instrumentAll(pids, false);
      const idle = await Promise.all(pids.map((pid) => dumpPid(options.outDir, pid).then(annotated)));
      const idleSeconds = (i: number) => (idleOff[i]! - idleOn[i]!) / 1000;
      const splits: Array<Array<{ split: IrSplit; inspector: number }>> = [];
      for (const w of windows) {
        const parts = await Promise.all(w.files.map(annotated));
        splits.push(parts);
        w.total = sum(parts.map((p) => p.split.total)) / w.r.ok;
      }
      const byTotal = windows.map((w, i) => ({ w, i })).sort((x, y) => x.w.total - y.w.total);
      const { w: chosen, i: chosenIndex } = byTotal[byTotal.length >> 1]!;
      const counted = splits[chosenIndex]!;
      const r = chosen.r;
      const windowSeconds = chosen.seconds;
      const processes: ProcessIr[] = pids.map((pid, i) => ({
        pid,
        role: role(pid),
        idleIrPerSecond: idle[i]!.split.total / idleSeconds(i),
        idleCompilerGcPerSecond: (idle[i]!.split.compiler + idle[i]!.split.gc) / idleSeconds(i),
        window: counted[i]!.split,
        requests: sum(r.perConnection.filter((_, c) => chosen.owners[c] === pid)),
        inspectorIr: counted[i]!.inspector,
      }));
      const part = (k: keyof IrSplit) => sum(processes.map((p) => p.window[k])) / r.ok;
      // Per-second work only (timers, the detector): the quiet window's compiler and GC are the tail of
      // the requests before it, not what an idle process does every second.
      const idleRest = sum(processes.map((p) => p.idleIrPerSecond - p.idleCompilerGcPerSecond));
      return {
        key: peer.key,
        processes,
        ok: r.ok,
        bad: r.bad,
        windowSeconds,
        windowTotals: windows.map((w) => w.total),
        perRequest: { total: part('total'), compiler: part('compiler'), gc: part('gc'), rest: part('rest') },
        idlePerRequest: (idleRest * windowSeconds) / r.ok,
        reopened,
        unassigned: chosen.owners.filter((o) => o === undefined).length,
        responseBytes: answer.bytes,
      };
    } finally {
      driver.close();
    }
  } finally {
    // The workers are valgrind processes of their own: SIGKILL each, not only the primary.
    for (const pid of pids.slice(1)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await server.kill();
  }
}

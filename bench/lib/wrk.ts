// One wrk run (the C load generator, Debian package `wrk`), reduced to the same figures as
// bench/lib/load.ts's autocannon runs, plus the CPU wrk itself used. wrk costs far less CPU per
// request than autocannon, which matters when the load generator shares the cores it measures.
import { spawn, spawnSync } from 'node:child_process';
import type { LoadFigures } from './load.js';
import { statFields, tickSeconds } from './proc.js';

/** Load shape of one wrk run. */
export interface WrkOptions {
  connections: number;
  /** Seconds (whole seconds: wrk's -d takes an integer). */
  duration: number;
  /** wrk -t; default 1. */
  threads?: number;
}

/** A wrk run's figures; `cpuSeconds` is wrk's own user + system CPU for the run. */
export interface WrkFigures extends LoadFigures {
  cpuSeconds: number;
}

/** Why wrk can or cannot be used: `version` when found, `reason` when not. */
export function findWrk(): { ok: true; version: string } | { ok: false; reason: string } {
  const r = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  if (r.error)
    return {
      ok: false,
      reason: (r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'wrk not found on PATH' : String(r.error.message),
    };
  // `wrk --version` prints its banner and exits 1; the banner is what tells us it is wrk.
  const banner = `${r.stdout}${r.stderr}`;
  const m = /^wrk (\S+)/m.exec(banner);
  return m ? { ok: true, version: m[1]! } : { ok: false, reason: `'wrk --version' printed no wrk banner` };
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `535.23us` / `1.20ms` / `2.00s` → milliseconds. */
export function parseWrkDuration(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text.trim());
  if (!m) throw new Error(`wrk: cannot parse duration ${JSON.stringify(text)}`);
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

/** Parses the text `wrk --latency` prints. Throws if the lines the figures need are missing. */
export function parseWrkOutput(out: string): LoadFigures {
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(out);
  const total = /^\s*(\d+) requests in ([\d.]+\w+)/m.exec(out);
  const p50 = /^\s*50(?:\.0+)?%\s+(\S+)/m.exec(out);
  const p99 = /^\s*99(?:\.0+)?%\s+(\S+)/m.exec(out);
  if (!rps || !total || !p50 || !p99) throw new Error(`wrk: unexpected output (was --latency given?):\n${out}`);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
  return {
    rps: Number(rps[1]),
    p50: parseWrkDuration(p50[1]!),
    p99: parseWrkDuration(p99[1]!),
    requests: Number(total[1]),
    errors: socket ? Number(socket[1]) + Number(socket[2]) + Number(socket[3]) : 0,
    timeouts: socket ? Number(socket[4]) : 0,
    non2xx: non2xx ? Number(non2xx[1]) : 0,
  };
}

// wrk runs under a tiny shell that, after waiting for it, prints its own /proc/<pid>/stat: the
// shell's cutime + cstime (fields 16, 17) are then exactly wrk's utime + stime. Reading wrk's own
// /proc/<pid>/stat is racy — by the time node sees the exit, the process has been reaped.
const WRAPPER = 'wrk "$@"; s=$?; echo; echo "@@STAT $(cat /proc/$$/stat)"; exit $s';

/** Runs `wrk -t<threads> -c<connections> -d<duration>s --latency <url>` and resolves with its figures. */
export function runWrk(url: string, options: WrkOptions): Promise<WrkFigures> {
  const args = [
    `-t${options.threads ?? 1}`,
    `-c${options.connections}`,
    `-d${Math.max(1, Math.round(options.duration))}s`,
    '--latency',
    url,
  ];
  const child = spawn('sh', ['-c', WRAPPER, 'sh', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0) return reject(new Error(`wrk ${args.join(' ')} exited ${code}: ${err}${out}`));
      const stat = /^@@STAT (.*)$/m.exec(out);
      if (!stat) return reject(new Error(`wrk wrapper printed no stat line:\n${out}`));
      const cpuSeconds = tickSeconds(statFields(stat[1]!), 13, 14); // cutime + cstime
      try {
        resolve({ ...parseWrkOutput(out), cpuSeconds });
      } catch (e) {
        reject(e as Error);
      }
    });
  });
}

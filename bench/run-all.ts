// `npm run bench`: runs every bench script that exists, one after another with progress, then
// regenerates bench/RESULTS.md and bench/results.svg from what they reported.
//
// The instruction counts (bench:instructions, callgrind) run first and head the report: throughput
// targets are judged on them. req/s and latency benches follow as secondary figures.
//
// Flags: --only http,sync   run just these (the report still lists the rest from bench/.out)
//        --report-only      run nothing; rebuild the report from the last figures in bench/.out
//        --timeout 600      seconds one script may take before it is killed (instructions: 6×)
//        --instruction-rounds 3   rounds of bench:instructions (the median is reported)
// Environment such as BENCH_DURATION=2 passes through to every script.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flagOption, numberOption } from './lib/args.js';
import { extractRatios } from './lib/extract.js';
import { machineInfo } from './lib/machine.js';
import { OUT_DIR, type BenchResult } from './lib/result.js';
import { loadTargets } from './lib/targets.js';
import { buildReport, type BenchRun } from './report.js';
import { renderChart } from './report-svg.js';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = join(BENCH_DIR, '..');
const NAMES = ['instructions', 'http', 'legacy', 'sync', 'interop', 'scale'] as const;
const argv = process.argv.slice(2);
const onlyArg = argv.find((a, i) => a.startsWith('--only=') || (argv[i - 1] === '--only' && !a.startsWith('--')));
const only = onlyArg ? new Set(onlyArg.replace(/^--only=/, '').split(',')) : undefined;
const reportOnly = flagOption('report-only');
const timeoutSec = numberOption('timeout', 600);
const instructionRounds = numberOption('instruction-rounds', 3);
/** Arguments and time limit per script: under valgrind each of ~13 peers takes about a minute a round. */
const scriptArgs = (name: string): string[] => (name === 'instructions' ? ['--rounds', String(instructionRounds)] : []);
// bench:scale runs four clusters under callgrind (~6 min) before its /proc and nginx parts (~3 min).
const scriptTimeout = (name: string): number =>
  name === 'instructions' ? timeoutSec * 6 : name === 'scale' ? timeoutSec * 3 : timeoutSec;

const t0 = performance.now();
const clock = () => `${((performance.now() - t0) / 1000).toFixed(1)}s`;
// ANSI colour/cursor codes and carriage-return progress redraws, which make no sense in a file.
const clean = (s: string) =>
  s
    // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI codes start with ESC
    .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
    .split('\n')
    .map((l) => l.slice(l.lastIndexOf('\r') + 1))
    .join('\n');

let current: ReturnType<typeof spawn> | undefined;
const killCurrent = (signal: NodeJS.Signals) => {
  // The script runs in its own process group, so its own server children go down with it.
  if (current?.pid !== undefined && current.exitCode === null) {
    try {
      process.kill(-current.pid, signal);
    } catch {
      // already gone
    }
  }
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killCurrent('SIGTERM');
    setTimeout(() => {
      killCurrent('SIGKILL');
      process.exit(130);
    }, 2000).unref();
  });
}
process.once('exit', () => killCurrent('SIGKILL'));

function runScript(
  name: string,
  script: string,
): Promise<{ exitCode: number | null; timedOut: boolean; stdout: string; seconds: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...scriptArgs(name)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    current = child;
    const chunks: string[] = [];
    const indent = (text: string) => text.replace(/^(?=.)/gm, '    ');
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      chunks.push(d);
      process.stdout.write(indent(d));
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => process.stderr.write(indent(d)));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      console.error(`    ${name}: over ${scriptTimeout(name)}s, stopping it`);
      killCurrent('SIGTERM');
      setTimeout(() => killCurrent('SIGKILL'), 5000).unref();
    }, scriptTimeout(name) * 1000);
    const ticker = setInterval(
      () => console.log(`    … bench:${name} still running (${((performance.now() - started) / 1000).toFixed(0)}s)`),
      30_000,
    );
    child.once('close', (code) => {
      clearTimeout(timer);
      clearInterval(ticker);
      current = undefined;
      resolve({
        exitCode: code,
        timedOut,
        stdout: clean(chunks.join('')),
        seconds: (performance.now() - started) / 1000,
      });
    });
  });
}

function readResult(name: string, newerThan = 0): BenchResult | undefined {
  const path = join(OUT_DIR, `${name}.json`);
  if (!existsSync(path) || statSync(path).mtimeMs < newerThan) return undefined;
  try {
    const r = JSON.parse(readFileSync(path, 'utf8')) as BenchResult;
    return Array.isArray(r.scenarios) && Array.isArray(r.ratios) ? r : undefined;
  } catch {
    return undefined;
  }
}

function areaFiles(): Array<{ path: string; content: string }> {
  return readdirSync(BENCH_DIR)
    .filter((f) => /-RESULTS\.md$/i.test(f))
    .sort()
    .map((f) => ({ path: `bench/${f}`, content: readFileSync(join(BENCH_DIR, f), 'utf8') }));
}

const machine = machineInfo();
mkdirSync(OUT_DIR, { recursive: true });
const present = NAMES.filter((n) => existsSync(join(BENCH_DIR, `${n}.ts`)));
const toRun = reportOnly ? [] : present.filter((n) => !only || only.has(n));
console.log(
  `npm run bench — commit ${machine.commit}, ${machine.cores} cores, ${machine.cpu}, Node ${machine.node}, ` +
    `load ${machine.loadAverage.join(' / ')}`,
);
console.log(
  reportOnly
    ? 'report only: rebuilding from bench/.out'
    : `running ${toRun.length} of ${NAMES.length} bench scripts: ` +
        `${toRun.join(', ') || 'none'}` +
        `${
          present.length < NAMES.length
            ? ` (not written yet: ${NAMES.filter((n) => !present.includes(n)).join(', ')})`
            : ''
        }`,
);

const areas = areaFiles();
const areaFor = (name: string) => areas.find((a) => a.path.toLowerCase().startsWith(`bench/${name}-`));
const runs: BenchRun[] = [];
let step = 0;
for (const name of NAMES) {
  const script = `bench/${name}.ts`;
  const args = scriptArgs(name);
  const base = {
    name,
    script,
    command: `npm run bench:${name}${args.length ? ` -- ${args.join(' ')}` : ''}`,
    areaFile: areaFor(name),
  };
  if (!present.includes(name)) {
    runs.push({ ...base, status: 'missing' });
    continue;
  }
  if (!toRun.includes(name)) {
    const previous = readResult(name);
    const stdoutPath = join(OUT_DIR, `${name}.stdout.txt`);
    const stdout = existsSync(stdoutPath) ? readFileSync(stdoutPath, 'utf8') : undefined;
    runs.push(
      previous || stdout
        ? {
            ...base,
            status: 'previous',
            result: previous,
            stdout,
            parsedRatios: previous ? undefined : extractRatios(name, stdout ?? ''),
          }
        : { ...base, status: 'not-run' },
    );
    continue;
  }
  step++;
  console.log(`\n[${step}/${toRun.length}] bench:${name} … (at ${clock()})`);
  const startedAt = Date.now();
  const r = await runScript(name, script);
  writeFileSync(join(OUT_DIR, `${name}.stdout.txt`), r.stdout);
  const status = r.timedOut ? 'timeout' : r.exitCode === 0 ? 'ok' : 'failed';
  console.log(
    `[${step}/${toRun.length}] bench:${name} ${status === 'ok' ? 'done' : status.toUpperCase()} in ` +
      `${r.seconds.toFixed(1)}s (total ${clock()})`,
  );
  const result = status === 'ok' ? readResult(name, startedAt) : undefined;
  const parsedRatios = status === 'ok' && !result ? extractRatios(name, r.stdout) : undefined;
  runs.push({ ...base, status, exitCode: r.exitCode, seconds: r.seconds, stdout: r.stdout, result, parsedRatios });
}

const { targets, source } = loadTargets(ROOT);
const used = new Set(runs.map((r) => r.areaFile?.path).filter(Boolean));
const chartFile = join(BENCH_DIR, 'results.svg');
writeFileSync(
  chartFile,
  renderChart(
    runs
      .filter((r) => r.result && r.name !== 'instructions')
      .map((r) => ({ title: `${r.name}: ${r.result!.title}`, scenarios: r.result!.scenarios })),
    `commit ${machine.commit}, ${machine.cores} cores, ${machine.cpu}, Node ${machine.node}, ` +
      `${machine.date.slice(0, 16).replace('T', ' ')} UTC`,
  ),
);
const report = buildReport({
  machine,
  loadAtEnd: os.loadavg().map((n) => Math.round(n * 100) / 100),
  totalSeconds: (performance.now() - t0) / 1000,
  runs,
  targets,
  targetsSource: source,
  otherAreaFiles: areas.filter((a) => !used.has(a.path)),
  chartPath: 'results.svg',
});
const reportFile = join(BENCH_DIR, 'RESULTS.md');
writeFileSync(reportFile, report);
console.log(`\nwrote ${relative(ROOT, reportFile)} and ${relative(ROOT, chartFile)} (${clock()})`);
const bad = runs.filter((r) => r.status === 'failed' || r.status === 'timeout');
if (bad.length) {
  console.error(`failed: ${bad.map((r) => `bench:${r.name} (${r.status})`).join(', ')}`);
  process.exitCode = 1;
}

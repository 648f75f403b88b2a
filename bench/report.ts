// Builds bench/RESULTS.md from one `npm run bench` run: the callgrind instruction table first (the
// headline, on which throughput targets are judged), the targets with pass/fail and the commit each
// figure was measured at, then the machine and the secondary req/s / latency sections (each with its
// commit and load average), or a script's captured output, or the latest per-area results file.
import type { MachineInfo } from './lib/machine.js';
import { meetsTarget, type BenchResult, type Ratio } from './lib/result.js';
import { sameMeasure, type Target } from './lib/targets.js';

/** What happened to one bench script in this run. */
export interface BenchRun {
  name: string;
  /** bench/<name>.ts */
  script: string;
  /** The npm command that runs it alone. */
  command: string;
  /** `missing`: no such script; `not-run`: not run now, and no earlier figures in bench/.out. */
  status: 'ok' | 'failed' | 'timeout' | 'missing' | 'not-run' | 'previous';
  exitCode?: number | null;
  seconds?: number;
  /** JSON the script wrote (this run, or the previous one for status `previous`). */
  result?: BenchResult;
  /** Its stdout, cleaned of terminal control codes. */
  stdout?: string;
  /** Ratios read from `stdout` when the script wrote no JSON (see lib/extract.ts). */
  parsedRatios?: Ratio[];
  /** Latest per-area results file for this area (bench/<name>-RESULTS.md), if any. */
  areaFile?: { path: string; content: string };
}

export interface ReportInput {
  machine: MachineInfo;
  loadAtEnd: number[];
  totalSeconds: number;
  runs: BenchRun[];
  targets: Target[];
  targetsSource: string;
  /** Per-area results files not tied to a script above. */
  otherAreaFiles: Array<{ path: string; content: string }>;
  chartPath: string;
}

const fence = (text: string, lang = 'text') => `\`\`\`${lang}\n${text.replace(/\n+$/, '')}\n\`\`\``;
const mark = (pass: boolean) => (pass ? '✅ pass' : '❌ fail');
const fmt = (n: number) => (Math.abs(n) >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(n >= 10 ? 1 : 3));

/** Pushes a markdown file's headings down so it nests under ours. */
function demote(markdown: string, levels: number): string {
  let inFence = false;
  return markdown
    .split('\n')
    .map((line) => {
      if (line.startsWith('```')) inFence = !inFence;
      return !inFence && /^#{1,6} /.test(line) ? '#'.repeat(levels) + line : line;
    })
    .join('\n');
}

/** The last `max` lines of `text`, saying how many were cut. */
function tail(text: string, max = 150): string {
  const lines = text.replace(/\n+$/, '').split('\n');
  if (lines.length <= max) return lines.join('\n');
  return [`… (${lines.length - max} earlier lines cut; full output in bench/.out/)`, ...lines.slice(-max)].join('\n');
}

function statusLine(run: BenchRun): string {
  const took = run.seconds !== undefined ? `, took ${run.seconds.toFixed(0)} s` : '';
  switch (run.status) {
    case 'ok':
      return `ran in this report's run${took}, exit 0`;
    case 'failed':
      return `**failed** in this run (exit ${run.exitCode ?? 'signal'}${took})`;
    case 'timeout':
      return `**timed out** in this run${took}; killed`;
    case 'missing':
      return `not run: \`${run.script}\` does not exist yet`;
    case 'not-run':
      return "not run in this report's run, and no earlier figures in `bench/.out/`";
    case 'previous':
      return `figures from an earlier run (${run.result?.machine.date ?? 'date unknown'}); not re-run`;
  }
}

/** The commit a run's figures were measured at (see lib/machine.ts commitId). */
function commitOf(run: BenchRun, now: MachineInfo): string {
  if (run.result?.machine.commit) return run.result.machine.commit;
  if (run.status === 'ok' || run.status === 'failed' || run.status === 'timeout') return now.commit;
  // stdout-only scripts print it in their header line.
  const m = run.stdout ? /commit ([0-9a-f]{7,}(?:\+dirty)?|unknown)/.exec(run.stdout) : null;
  return m ? m[1]! : 'unknown (earlier run)';
}

/** `measured at commit …, load avg …` for a section. */
function provenance(run: BenchRun, now: MachineInfo): string {
  const load = run.result?.machine.loadAverage ?? (run.status === 'previous' ? undefined : now.loadAverage);
  return (
    `Measured at commit ` +
    `\`${commitOf(run, now)}\`` +
    `${load ? `, load avg ${load.join(' / ')} at its start` : ''}` +
    `${run.result ? ` (${run.result.machine.date})` : ''}.`
  );
}

/** What a target is judged on, from the wording of its measure. */
/** The heading anchor of a run's section. */
const anchor = (run: BenchRun) => (run.name === 'instructions' ? 'instructions-per-request-headline' : run.name);

function judgedOn(measure: string, ratioName = ''): string {
  const m = measure.toLowerCase();
  // The --workers row's measure names /proc, but bench:scale answers it by instruction count when it can.
  if (/\bIr\b|callgrind/.test(ratioName)) return 'instructions (callgrind)';
  if (m.includes('ir/req') || m.includes('(ir)') || m.includes('runsync')) return 'instructions (callgrind)';
  if (m.includes('cpu per request')) return 'CPU s from /proc';
  if (m.includes('req/s')) return 'req/s (noisy)';
  if (m.includes('rss')) return 'RSS';
  return 'wall time';
}

export function buildReport(input: ReportInput): string {
  const { machine } = input;
  const out: string[] = [];
  const isTarget = (measure: string) => measure !== '' && input.targets.some((t) => sameMeasure(t.measure, measure));
  const measured = (t: Target) => {
    for (const run of input.runs) {
      const r = (run.result?.ratios ?? run.parsedRatios ?? []).find(
        (x) => x.measure && sameMeasure(x.measure, t.measure),
      );
      if (r) return { run, ratio: r };
    }
    return undefined;
  };
  const ratioTable = (ratios: readonly Ratio[]) => {
    out.push('| ratio | value | target | result |', '|---|---|---|---|');
    for (const x of ratios) {
      const verdict = isTarget(x.measure) ? mark(meetsTarget(x.value, x.target)) : 'informational';
      out.push(`| ${x.name} | ${fmt(x.value)} | ${isTarget(x.measure) ? x.target : '—'} | ${verdict} |`);
    }
    out.push('');
  };

  out.push('# albany benchmark results', '');
  out.push(
    `Generated by \`npm run bench\` (\`bench/run-all.ts\`) on ${machine.date} at commit ` +
      `\`${machine.commit}\`, ${input.totalSeconds.toFixed(0)} s in all. ` +
      'Each benchmark can be re-run alone with the command shown in its section; `npm run bench -- ' +
      '--report-only` rebuilds this file from the last figures in `bench/.out/`.',
    '',
  );
  out.push(
    '**Throughput targets are judged on instruction counts** (callgrind: total instructions per request, ' +
      'every thread of the process, ' +
      "V8's compiler and GC included, because the user pays for them), which repeat within 1–2 % whatever " +
      'else the machine is doing. ' +
      'req/s and latency follow as secondary tables: on a shared 2-core machine they swing ±20 % between ' +
      'rounds, so they never pass or fail a throughput target. ' +
      'Every figure names the commit it was measured at ("+dirty": uncommitted changes in the tree).',
    '',
  );

  const instructions = input.runs.find((r) => r.name === 'instructions');
  if (instructions) {
    out.push('## Instructions per request (headline)', '');
    out.push(
      `Command: \`${instructions.result?.command ?? instructions.command}\` — ${statusLine(instructions)}. ` +
        `${provenance(instructions, machine)}`,
      '',
    );
    if (instructions.result) {
      out.push(fence(instructions.result.table), '');
      for (const n of instructions.result.notes ?? []) out.push(`- ${n}`);
      if (instructions.result.notes?.length) out.push('');
    } else if (instructions.stdout?.trim()) {
      out.push(fence(tail(instructions.stdout)), '');
    } else if (instructions.areaFile) {
      out.push(
        `Latest recorded figures: [\`${instructions.areaFile.path}\`]` +
          `(${instructions.areaFile.path.replace(/^bench\//, '')}).`,
        '',
      );
    }
  }

  out.push(
    '## Targets',
    '',
    `From ${input.targetsSource.includes('/') ? '`TARGETS.md`' : input.targetsSource}. A target is marked ` +
      `when a benchmark reported that ratio in \`bench/.out/<name>.json\`, or printed it in a line format ` +
      `\`bench/lib/extract.ts\` knows.`,
    '',
  );
  out.push(
    '| measure | target | measured | result | judged on | commit | benchmark |',
    '|---|---|---|---|---|---|---|',
  );
  for (const t of input.targets) {
    const m = measured(t);
    const cell = (s: string) => s.replace(/\|/g, '\\|');
    // A target that is a formula (the makespan's ⌈N/k⌉·T + 0.5 s) is judged on the bound the bench
    // worked out for its own N, k and T, shown beside the figure.
    const plain = /^\s*(≥|>=|≤|<=|>|<)\s*[\d.]+\s*$/.test(t.target);
    const bound = plain || m === undefined ? t.target : m.ratio.target;
    if (m)
      out.push(
        `| ${cell(t.measure)} | ${cell(t.target)} | ${fmt(m.ratio.value)}${plain ? '' : ` (${cell(bound)})`} | ` +
          `${mark(meetsTarget(m.ratio.value, bound))} | ${judgedOn(t.measure, m.ratio.name)} | ` +
          `\`${commitOf(m.run, machine)}\` | [${m.run.name}](#${anchor(m.run)}) |`,
      );
    else {
      const run = input.runs.find((r) => r.name === t.bench);
      const why =
        !run || run.status === 'missing'
          ? 'not measured (no script yet)'
          : run.status === 'ok' || run.status === 'previous'
            ? 'not measured by any script'
            : run.status === 'not-run'
              ? 'not measured (script not run)'
              : `not measured (${run.status})`;
      out.push(
        `| ${cell(t.measure)} | ${cell(t.target)} | — | ${why} | ${judgedOn(t.measure)} | — | ` +
          `${run ? `[${run.name}](#${anchor(run)})` : t.bench} |`,
      );
    }
  }
  out.push('');
  if (instructions?.result?.ratios.length) {
    out.push('Instruction ratios of this run (ours ÷ peer, total Ir):', '');
    ratioTable(instructions.result.ratios);
  }

  out.push('## Machine', '');
  out.push(
    '| cores | CPU | Node | platform | memory | load avg (1/5/15 min) at start → end |',
    '|---|---|---|---|---|---|',
  );
  out.push(
    `| ${machine.cores} | ${machine.cpu} | ${machine.node} | ${machine.platform} | ${machine.memoryGb} GB | ` +
      `${machine.loadAverage.join(' / ')} → ${input.loadAtEnd.join(' / ')} |`,
    '',
  );
  const busy = Math.max(machine.loadAverage[0] ?? 0, input.loadAtEnd[0] ?? 0) > machine.cores * 0.5;
  if (busy)
    out.push(
      `> ⚠️ The machine was busy during this run (1-min load average up to ` +
        `${Math.max(machine.loadAverage[0] ?? 0, input.loadAtEnd[0] ?? 0)} on ${machine.cores} cores): the ` +
        `req/s and latency figures below are noisy; the instruction counts above are not affected.`,
      '',
    );

  out.push('## Secondary: req/s, latency, wall time', '');
  out.push(
    'Informational unless a ratio answers a TARGETS.md row that is itself stated in req/s, wall time or memory. ' +
      'Each section gives the commit and the load average it was measured at.',
    '',
  );
  out.push(`![req/s and p99 latency per scenario](${input.chartPath})`, '');

  for (const run of input.runs) {
    if (run === instructions) continue;
    out.push(`### ${run.name}`, '');
    if (run.result) out.push(`**${run.result.title}**`, '');
    out.push(
      `Command: \`${run.result?.command ?? run.command}\` — ${statusLine(run)}. ` +
        `${run.status === 'missing' || run.status === 'not-run' ? '' : provenance(run, machine)}`,
      '',
    );
    const r = run.result;
    if (r) {
      const params = Object.entries(r.params)
        .filter(([, v]) => typeof v !== 'object' || v === null)
        .map(([k, v]) => `${k} ${String(v)}`);
      if (params.length) out.push(`Parameters: ${params.join(', ')}.`, '');
      if (r.machine.date !== machine.date && run.status === 'previous')
        out.push(
          `Machine then: ${r.machine.cores} cores, ${r.machine.cpu}, Node ${r.machine.node}, load ` +
            `${r.machine.loadAverage.join(' / ')}.`,
          '',
        );
      out.push(fence(r.table), '');
      if (r.ratios.length) ratioTable(r.ratios);
      for (const n of r.notes ?? []) out.push(`- ${n}`);
      if (r.notes?.length) out.push('');
    } else if (run.stdout?.trim()) {
      out.push(
        `This script does not write \`bench/.out/${run.name}.json\`; its output as printed:`,
        '',
        fence(tail(run.stdout)),
        '',
      );
      if (run.parsedRatios?.length) {
        out.push('Ratios read from that output:', '');
        ratioTable(run.parsedRatios);
      }
    }
    if (run.areaFile && run.status !== 'ok') {
      out.push(
        `Latest recorded results from [\`${run.areaFile.path}\`](${run.areaFile.path.replace(/^bench\//, '')}):`,
        '',
        demote(run.areaFile.content.trim(), 3),
        '',
      );
    } else if (run.areaFile) {
      out.push(`Notes from the area: [\`${run.areaFile.path}\`](${run.areaFile.path.replace(/^bench\//, '')}).`, '');
    }
  }

  if (input.otherAreaFiles.length) {
    out.push('## Other recorded results', '');
    for (const f of input.otherAreaFiles) out.push(`### ${f.path}`, '', demote(f.content.trim(), 3), '');
  }
  return `${out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}

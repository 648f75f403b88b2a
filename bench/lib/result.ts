// The JSON every bench script may write to bench/.out/<name>.json so `npm run bench` can build one
// report (bench/RESULTS.md + bench/results.svg) from it. Scripts that do not write it are still
// run; their stdout is quoted instead.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MachineInfo } from './machine.js';

/**
 * bench/.out, next to the scripts (gitignored); $BENCH_OUT_DIR (a folder inside the checkout, so
 * bundles there still find node_modules) lets two bench runs work side by side.
 */
export const OUT_DIR = process.env.BENCH_OUT_DIR || join(dirname(fileURLToPath(import.meta.url)), '..', '.out');

/** One measured scenario. Charted when it has `rps` and/or `p99` (ms). */
export interface Scenario {
  name: string;
  rps?: number;
  p50?: number;
  p99?: number;
  /** Any other figure worth a column (µs per call, MB, …): name → value. */
  extra?: Record<string, number>;
  /** Per-round figures when the scenario was measured several times. */
  rounds?: Array<Record<string, number>>;
}

/** A ratio checked against a row of TARGETS.md. */
export interface Ratio {
  /** Short label, e.g. "albany / raw node:http". */
  name: string;
  value: number;
  /** The TARGETS.md "measure" cell this ratio answers (used to match the row). */
  measure: string;
  /** The target as written in TARGETS.md, e.g. "≥ 0.97" or "≤ 5 ms". */
  target: string;
  pass: boolean;
}

/** Everything one bench script reports. */
export interface BenchResult {
  /** Script name: http, legacy, sync, interop, scale. */
  name: string;
  title: string;
  /** The exact command that produced it (with the flags used). */
  command: string;
  machine: MachineInfo;
  /** Load shape and other parameters. */
  params: Record<string, unknown>;
  scenarios: Scenario[];
  ratios: Ratio[];
  /** The table as the script printed it (plain text). */
  table: string;
  notes?: string[];
}

/** Writes `result` to bench/.out/<name>.json and returns the path. */
export function writeResult(result: BenchResult): string {
  const path = join(OUT_DIR, `${result.name}.json`);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
  return path;
}

/** Checks `value` against a target written as "≥ 0.97", ">= 1.5", "≤ 5 ms" or "<= 20 MB". */
export function meetsTarget(value: number, target: string): boolean {
  const m = /^\s*(≥|>=|≤|<=|>|<)\s*([\d.]+)/.exec(target);
  if (!m) return false;
  const bound = Number(m[2]);
  switch (m[1]) {
    case '≥':
    case '>=':
      return value >= bound;
    case '≤':
    case '<=':
      return value <= bound;
    case '>':
      return value > bound;
    default:
      return value < bound;
  }
}

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Renders rows as a fixed-width text table (first column left-aligned, others right). */
export function textTable(head: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

// Ratios recovered from the printed output of bench scripts that do not write bench/.out JSON, so
// their targets can still be marked. Each pattern is tied to the line format that script prints
// today; when it stops matching, the report simply shows the output unmarked.
import { meetsTarget, type Ratio } from './result.js';

interface Pattern {
  bench: string;
  /** First capture group is the ratio. */
  regex: RegExp;
  name: string;
  measure: string;
  target: string;
}

const PATTERNS: Pattern[] = [
  {
    bench: 'sync',
    regex: /^\s*10 B: mean ([\d.]+)/m,
    name: 'runSync ÷ synckit per call, 10 B, wall time (median of round means)',
    measure: '',
    target: 'reference (judged on Ir)',
  },
  {
    bench: 'sync',
    regex: /^\s*1 MB: mean ([\d.]+)/m,
    name: 'runSync ÷ synckit per call, 1 MB, wall time (median of round means)',
    measure: '',
    target: 'reference (judged on Ir)',
  },
  {
    bench: 'interop',
    regex: /ratio express-albany \/ express-node = ([\d.]+)/,
    name: 'Express via fromNodeHandler ÷ Express on node:http, req/s (median of rounds)',
    measure: '',
    target: 'reference (judged on Ir)',
  },
  {
    bench: 'interop',
    regex: /ratio hono-albany \/ hono-node-server = ([\d.]+)/,
    name: 'Hono via fromFetch ÷ @hono/node-server, req/s (median of rounds)',
    measure: '',
    target: 'reference (judged on Ir)',
  },
  // The instruction count judges the --workers row when it ran (it comes first: the report takes the
  // first ratio that answers a row); the /proc figure after it judges only when valgrind is missing.
  {
    bench: 'scale',
    regex: /total Ir per request, --workers 2 ÷ --workers 1 = ([\d.]+)/,
    name: 'total Ir per request, --workers 2 ÷ --workers 1 (albany CLI, callgrind, every process)',
    measure: 'server CPU per request, --workers 2 ÷ --workers 1 (from /proc, every process)',
    target: '≤ 1.05',
  },
  {
    bench: 'scale',
    regex: /plain node:http under runCluster: total Ir\/req 2 ÷ 1 = ([\d.]+)/,
    name: 'reference: plain node:http under runCluster, total Ir per request 2 ÷ 1',
    measure: '',
    target: 'reference',
  },
  {
    bench: 'scale',
    regex: /server CPU per request, --workers 2 ÷ --workers 1 = ([\d.]+)/,
    name: 'server CPU per request, --workers 2 ÷ --workers 1 (fixed-count load, /proc)',
    measure: 'server CPU per request, --workers 2 ÷ --workers 1 (from /proc, every process)',
    target: '≤ 1.05',
  },
  {
    bench: 'scale',
    regex: /req\/s --workers 2 ÷ --workers 1 = ([\d.]+)/,
    name: 'req/s --workers 2 ÷ --workers 1 (informational on 2 cores)',
    measure: '',
    target: 'reference',
  },
];

/** Ratios found in `stdout` of bench script `bench`. */
export function extractRatios(bench: string, stdout: string): Ratio[] {
  const found: Ratio[] = [];
  for (const p of PATTERNS) {
    if (p.bench !== bench) continue;
    const m = p.regex.exec(stdout);
    if (!m) continue;
    const value = Number(m[1]);
    if (Number.isFinite(value))
      found.push({
        name: p.name,
        value,
        measure: p.measure,
        target: p.target,
        pass: p.measure !== '' && meetsTarget(value, p.target),
      });
  }
  return found;
}

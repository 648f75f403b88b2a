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
    name: 'runSync ÷ synckit per call, 10 B (median of round means)',
    measure: 'runSync per call ÷ synckit createSyncFn per call (trivial async fn, 10 B)',
    target: '≤ 0.5',
  },
  {
    bench: 'sync',
    regex: /^\s*1 MB: mean ([\d.]+)/m,
    name: 'runSync ÷ synckit per call, 1 MB (median of round means)',
    measure: 'runSync per call, 1 MB payload ÷ synckit',
    target: '≤ 1.0',
  },
  {
    bench: 'interop',
    regex: /ratio express-albany \/ express-node = ([\d.]+)/,
    name: 'Express via fromNodeHandler ÷ Express on node:http (median of rounds)',
    measure: 'Express app via fromNodeHandler ÷ Express on node:http',
    target: '≥ 0.9',
  },
  {
    bench: 'interop',
    regex: /ratio hono-albany \/ hono-node-server = ([\d.]+)/,
    name: 'Hono via fromFetch ÷ @hono/node-server (median of rounds)',
    measure: 'Hono app via fromFetch ÷ @hono/node-server',
    target: '≥ 1.0',
  },
  {
    bench: 'scale',
    regex: /--workers 2 ÷ --workers 1 = ([\d.]+)×/,
    name: '--workers 2 ÷ --workers 1 (median of per-round ratios)',
    measure: '--workers 2 ÷ --workers 1 req/s',
    target: '≥ 1.7',
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
    if (Number.isFinite(value)) found.push({ name: p.name, value, measure: p.measure, target: p.target, pass: meetsTarget(value, p.target) });
  }
  return found;
}

// The performance targets the report checks figures against. The live list is TARGETS.md in the
// shared planning folder; when it is not next to the checkout, the copy below is used.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One row of TARGETS.md. */
export interface Target {
  measure: string;
  target: string;
  why: string;
  /** Which bench script answers it. */
  bench: string;
}

// Copied from TARGETS.md; keep in step when it changes.
const EMBEDDED = `
| gateway hello-world req/s ÷ raw node:http | ≥ 0.97 | raw node:http is the ceiling for a node:http host |
| gateway hello-world req/s ÷ @hono/node-server | ≥ 1.02 | be the fastest way to host an app on node:http |
| Express app via fromNodeHandler ÷ Express on node:http | ≥ 0.9 | interop must not be a tax |
| Hono app via fromFetch ÷ @hono/node-server | ≥ 1.0 | |
| legacy trivial handler via pool ÷ async gateway handler | ≥ 0.4 | one thread hop per request |
| legacy trivial handler via pool ÷ naive \`await piscina.run()\` per request, same thread count | ≥ 1.5 | beat the obvious way |
| CPU-bound 5 ms legacy handler, pool of 2 ÷ inline on the loop | ≥ 1.8 | 2 cores |
| p99 of an async route while legacy routes saturate the pool | ≤ 5 ms (inline: print it beside) | the event loop never blocks |
| runSync per call ÷ synckit createSyncFn per call (trivial async fn, 10 B) | ≤ 0.5 | see below |
| runSync per call, 1 MB payload ÷ synckit | ≤ 1.0 | |
| --workers 2 ÷ --workers 1 req/s | ≥ 1.7 | 2 cores |
| RSS growth after 10k requests rejected by a full queue | ≤ 20 MB | bounded memory |
`;

/** Which bench script a measure belongs to, by its wording. */
function benchFor(measure: string): string {
  const m = measure.toLowerCase();
  if (m.includes('runsync')) return 'sync';
  if (m.includes('fromnodehandler') || m.includes('fromfetch')) return 'interop';
  if (m.includes('--workers')) return 'scale';
  if (m.includes('legacy') || m.includes('rss') || m.includes('pool')) return 'legacy';
  return 'http';
}

function parse(text: string): Target[] {
  const rows: Target[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('|')) continue;
    const cells = line.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim());
    if (cells.length < 2 || cells[0] === 'measure' || /^-+$/.test(cells[0]!)) continue;
    rows.push({ measure: cells[0]!, target: cells[1]!, why: cells[2] ?? '', bench: benchFor(cells[0]!) });
  }
  return rows;
}

/** The targets, from `../shared/TARGETS.md` (or $BENCH_TARGETS) when present, else the embedded copy. */
export function loadTargets(repoRoot: string): { targets: Target[]; source: string } {
  const candidates = [process.env.BENCH_TARGETS, join(repoRoot, 'TARGETS.md'), join(repoRoot, '..', 'shared', 'TARGETS.md')];
  for (const path of candidates) {
    if (path && existsSync(path)) {
      const targets = parse(readFileSync(path, 'utf8'));
      if (targets.length) return { targets, source: path };
    }
  }
  return { targets: parse(EMBEDDED), source: 'copy embedded in bench/lib/targets.ts' };
}

/** Loose match of a result's `measure` against a target row (spacing, case and backticks ignored). */
export function sameMeasure(a: string, b: string): boolean {
  const norm = (s: string) => s.toLowerCase().replace(/[`*]/g, '').replace(/\s+/g, ' ').trim();
  return norm(a) === norm(b);
}

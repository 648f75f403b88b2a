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
| gateway app total Ir/req ÷ raw node:http | ≤ 1.02 | the gateway layer must be nearly free |
| gateway app total Ir/req ÷ @hono/node-server | ≤ 0.97 | be the cheapest way to host an app on node:http |
| Hono via fromFetch ÷ @hono/node-server (Ir) | ≤ 0.97 | |
| Express via fromNodeHandler ÷ Express on node:http (Ir) | ≤ 0.9 | interop must not be a tax |
| legacy trivial handler (all threads) ÷ async gateway app (Ir) | ≤ 1.6 | one thread hop per request |
| legacy trivial handler ÷ naive \`await piscina.run()\` per request, same threads (req/s) | ≥ 1.5 | beat the obvious way |
| N blocking requests of T ms on k threads: makespan | ≤ ⌈N/k⌉·T + 0.5 s | work-conserving: no request waits behind a busy thread while another is free |
| blocking 50 ms handlers, 2 threads, 20 connections (req/s) | ≥ 0.95 × 40 | |
| p99 of an async route while legacy routes saturate the pool | ≤ 5 ms (inline: print it beside) | the event loop never blocks |
| runSync per call ÷ synckit createSyncFn per call (trivial async fn, 10 B) | ≤ 0.25 | the Atomics ping-pong floor is ≈ 15 µs |
| runSync per call, 1 MB payload ÷ synckit | ≤ 0.8 | shared memory instead of four copies |
| server CPU per request, --workers 2 ÷ --workers 1 (from /proc, every process) | ≤ 1.05 | no contention tax; req/s 2 ÷ 1 is informational on 2 cores |
| RSS growth after 10k requests rejected by a full queue | ≤ 20 MB | bounded memory |
| blocking detector on: hello-world Ir/req ÷ off | ≤ 1.01 | cheap enough for production |
`;

/** Which bench script a measure belongs to, by its wording: instruction counts first. */
function benchFor(measure: string): string {
  const m = measure.toLowerCase();
  if (m.includes('ir/req') || m.includes('(ir)') || m.includes('runsync')) return 'instructions';
  if (m.includes('fromnodehandler') || m.includes('fromfetch')) return 'interop';
  if (m.includes('--workers')) return 'scale';
  if (m.includes('legacy') || m.includes('rss') || m.includes('pool') || m.includes('blocking')) return 'legacy';
  return 'http';
}

function parse(text: string): Target[] {
  const rows: Target[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('|')) continue;
    const cells = line
      .split(/(?<!\\)\|/)
      .slice(1, -1)
      .map((c) => c.trim());
    if (cells.length < 2 || cells[0] === 'measure' || /^-+$/.test(cells[0]!)) continue;
    rows.push({ measure: cells[0]!, target: cells[1]!, why: cells[2] ?? '', bench: benchFor(cells[0]!) });
  }
  return rows;
}

/**
 * The targets, from `../shared/TARGETS.md` or `../../shared/TARGETS.md` (or $BENCH_TARGETS) when present, else the
 * embedded copy.
 */
export function loadTargets(repoRoot: string): { targets: Target[]; source: string } {
  // ../shared beside a checkout in /work/main, ../../shared beside a worktree in /work/wt/<name>.
  const candidates = [
    process.env.BENCH_TARGETS,
    join(repoRoot, 'TARGETS.md'),
    join(repoRoot, '..', 'shared', 'TARGETS.md'),
    join(repoRoot, '..', '..', 'shared', 'TARGETS.md'),
  ];
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

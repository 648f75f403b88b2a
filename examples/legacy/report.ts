// Legacy demo route: an old synchronous (req, res) handler — readFileSync, a string template, res.end(html).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const templatePath = fileURLToPath(new URL('./report.html', import.meta.url));

function render(template: string, data: Record<string, string>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, key: string) => data[key] ?? '');
}

// A deliberately CPU-bound step, the kind of work that would stall an event loop.
function checksum(rounds: number): number {
  let h = 2166136261;
  for (let i = 0; i < rounds; i++) h = Math.imul(h ^ i, 16777619) >>> 0;
  return h;
}

/** Node-style handler: `GET /report?rounds=N` renders an HTML page after N rounds of hashing (default 200k). */
export default function report(
  req: { url: string },
  res: { setHeader(n: string, v: string): void; end(body: string): void },
) {
  const rounds = Math.min(50_000_000, Number(new URL(req.url, 'http://x').searchParams.get('rounds') ?? 200_000));
  const started = performance.now();
  const sum = checksum(rounds);
  const html = render(readFileSync(templatePath, 'utf8'), {
    rounds: String(rounds),
    checksum: sum.toString(16),
    ms: (performance.now() - started).toFixed(1),
  });
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.end(html);
}

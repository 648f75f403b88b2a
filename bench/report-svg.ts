// Hand-written SVG chart for bench/results.svg: per benchmark, one row per scenario with a req/s
// bar and a p99 bar side by side, each column on its own scale. No dependencies.

/** One benchmark's chartable scenarios. */
export interface ChartGroup {
  title: string;
  scenarios: Array<{ name: string; rps?: number | undefined; p99?: number | undefined }>;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const num = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n >= 10 ? n.toFixed(1) : n.toFixed(2));

const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#9c755f'];

/** Renders the chart; `subtitle` goes under the title (machine, date). */
export function renderChart(groups: ChartGroup[], subtitle: string): string {
  const groupsWithData = groups.filter((g) => g.scenarios.some((s) => s.rps !== undefined || s.p99 !== undefined));
  const labelW = 230;
  const barW = 300;
  const gap = 40;
  const rowH = 22;
  const width = labelW + barW * 2 + gap * 2 + 20;
  const maxRps = Math.max(1, ...groupsWithData.flatMap((g) => g.scenarios.map((s) => s.rps ?? 0)));
  const maxP99 = Math.max(0.001, ...groupsWithData.flatMap((g) => g.scenarios.map((s) => s.p99 ?? 0)));
  const xRps = labelW + 10;
  const xP99 = xRps + barW + gap;
  const out: string[] = [];
  let y = 28;
  out.push(`<text x="10" y="${y}" class="title">albany benchmarks: req/s and p99 latency per scenario</text>`);
  y += 18;
  out.push(`<text x="10" y="${y}" class="sub">${esc(subtitle)}</text>`);
  y += 28;
  out.push(`<text x="${xRps}" y="${y}" class="head">requests per second (higher is better)</text>`);
  out.push(`<text x="${xP99}" y="${y}" class="head">p99 latency, ms (lower is better)</text>`);
  y += 10;
  if (groupsWithData.length === 0) {
    y += 24;
    out.push(`<text x="10" y="${y}" class="sub">no benchmark reported req/s or p99 figures in this run</text>`);
  }
  for (const group of groupsWithData) {
    y += 24;
    out.push(`<text x="10" y="${y}" class="group">${esc(group.title)}</text>`);
    y += 6;
    group.scenarios.forEach((s, i) => {
      const color = PALETTE[i % PALETTE.length];
      const top = y + 4;
      out.push(`<text x="${labelW}" y="${top + 14}" class="label" text-anchor="end">${esc(s.name)}</text>`);
      if (s.rps !== undefined) {
        const w = Math.max(1, (s.rps / maxRps) * barW);
        out.push(
          `<rect x="${xRps}" y="${top}" width="${w.toFixed(1)}" height="${rowH - 6}" ` +
            `fill="${color}"><title>${esc(s.name)}: ${num(s.rps)} req/s</title></rect>`,
        );
        out.push(`<text x="${(xRps + w + 4).toFixed(1)}" y="${top + 12}" class="value">${num(s.rps)}</text>`);
      }
      if (s.p99 !== undefined) {
        const w = Math.max(1, (s.p99 / maxP99) * barW);
        out.push(
          `<rect x="${xP99}" y="${top}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${color}" ` +
            `fill-opacity="0.7"><title>${esc(s.name)}: p99 ${num(s.p99)} ms</title></rect>`,
        );
        out.push(`<text x="${(xP99 + w + 4).toFixed(1)}" y="${top + 12}" class="value">${num(s.p99)}</text>`);
      }
      y += rowH;
    });
  }
  y += 20;
  const axes = [
    `<line x1="${xRps}" y1="84" x2="${xRps}" y2="${y - 12}" class="axis"/>`,
    `<line x1="${xP99}" y1="84" x2="${xP99}" y2="${y - 12}" class="axis"/>`,
  ];
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" ` +
      `font-family="system-ui, -apple-system, 'Segoe UI', sans-serif">`,
    '<style>',
    '.title{font-size:16px;font-weight:600;fill:#222}.sub{font-size:11px;fill:#666}' +
      '.head{font-size:12px;font-weight:600;fill:#333}',
    '.group{font-size:13px;font-weight:600;fill:#222}.label{font-size:12px;fill:#333}.value{font-size:11px;fill:#444}' +
      '.axis{stroke:#999;stroke-width:1}',
    '</style>',
    `<rect width="100%" height="100%" fill="#fff"/>`,
    ...axes,
    ...out,
    '</svg>',
    '',
  ].join('\n');
}

// One exposition for a whole service from each process's own: what prom-client's
// AggregatorRegistry does for node:cluster, for albany's families. Counters and histograms add
// up; a pool's utilization is averaged; the event loop's figures stay per process (a `pid` label).

/** How a family's samples from several processes become one. */
export type MergeRule = 'sum' | 'mean' | 'per-process';

/** The rule for every family not listed is `sum`. */
export const MERGE_RULES: Readonly<Record<string, MergeRule>> = Object.freeze({
  albany_pool_utilization: 'mean',
  // Every process of a service shares the machine and started together: one figure, not a sum.
  albany_pool_age_seconds: 'mean',
  albany_pool_cores: 'mean',
  albany_event_loop_lag_seconds: 'per-process',
  albany_event_loop_utilization: 'per-process',
});

/** One process's exposition. */
export interface ProcessExposition {
  pid: number;
  text: string;
}

interface Family {
  help: string | undefined;
  type: string | undefined;
  // Series key (name + label text) → values, one per process that had it; first-seen order.
  series: Map<string, number[]>;
}

const SAMPLE = /^([A-Za-z_:][A-Za-z0-9_:]*)(\{.*\})?\s+(\S+)$/;

function parseValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** `{a="1"}` with `pid="N"` first (or `{pid="N"}` alone). */
function withPid(labels: string | undefined, pid: number): string {
  return labels === undefined || labels === '{}' ? `{pid="${pid}"}` : `{pid="${pid}",${labels.slice(1)}`;
}

/**
 * Merges text expositions (format 0.0.4, as albany writes them: a family's HELP and TYPE, then its
 * samples) into one, by {@link MERGE_RULES}. A sample before any TYPE line belongs to a family of
 * its own name.
 */
export function mergeExpositions(
  parts: readonly ProcessExposition[],
  rules: Readonly<Record<string, MergeRule>> = MERGE_RULES,
): string {
  const families = new Map<string, Family>();
  const familyOf = (name: string) => {
    let f = families.get(name);
    if (f === undefined) families.set(name, (f = { help: undefined, type: undefined, series: new Map() }));
    return f;
  };
  for (const { pid, text } of parts) {
    let current: string | undefined;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      if (line.startsWith('#')) {
        const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
        if (m === null) continue;
        const f = familyOf(m[2]!);
        if (m[1] === 'HELP') f.help ??= m[3];
        else f.type ??= m[3];
        current = m[2];
        continue;
      }
      const m = SAMPLE.exec(line);
      if (m === null) continue;
      const [, name, labels, value] = m;
      const familyName = current !== undefined && name!.startsWith(current) ? current : name!;
      const f = familyOf(familyName);
      const key = rules[familyName] === 'per-process' ? `${name}${withPid(labels, pid)}` : `${name}${labels ?? ''}`;
      const values = f.series.get(key);
      if (values === undefined) f.series.set(key, [parseValue(value!)]);
      else values.push(parseValue(value!));
    }
  }
  const lines: string[] = [];
  for (const [name, f] of families) {
    if (f.series.size === 0) continue;
    if (f.help !== undefined) lines.push(`# HELP ${name} ${f.help}`);
    if (f.type !== undefined) lines.push(`# TYPE ${name} ${f.type}`);
    const rule = rules[name] ?? 'sum';
    for (const [key, values] of f.series) {
      const total = values.reduce((a, b) => a + b, 0);
      lines.push(`${key} ${formatValue(rule === 'mean' ? total / values.length : total)}`);
    }
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

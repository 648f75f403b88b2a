// Reads a V8 .cpuprofile and says where the time went: self time aggregated by function + file,
// plus total (inclusive) time for the project's own functions. Usable on its own:
//   node --import tsx bench/lib/cpu-profile.ts path/to.cpuprofile [--top 30] [--filter /src/] [--from parserOnIncoming]
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { relative, resolve as resolvePath, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Time attributed to one function (µs). */
export interface FunctionTime {
  key: string;
  name: string;
  where: string;
  self: number;
  total: number;
}

const root = fileURLToPath(new URL('../../', import.meta.url));

const maps = new Map<string, SourceMap | null>();

/** The linked source map of a built file (bench/.out/build/*.mjs), if it has one. */
function sourceMapFor(file: string): SourceMap | null {
  let map = maps.get(file);
  if (map === undefined) {
    map = null;
    if (existsSync(`${file}.map`)) {
      try {
        map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')));
      } catch {
        map = null;
      }
    }
    maps.set(file, map);
  }
  return map;
}

function where(frame: CallFrame): string {
  const url = frame.url;
  if (!url) return '(native)';
  if (!url.startsWith('file://')) return `${url}:${frame.lineNumber + 1}`;
  const file = fileURLToPath(url);
  // Profile positions are 0-based and refer to the code V8 ran; map bundles back to the .ts source.
  const entry = sourceMapFor(file)?.findEntry(frame.lineNumber, frame.columnNumber) as
    | { originalSource?: string; originalLine?: number }
    | undefined;
  if (entry?.originalSource) {
    const src = entry.originalSource.startsWith('file://')
      ? fileURLToPath(entry.originalSource)
      : resolvePath(dirname(file), entry.originalSource);
    return `${relative(root, src)}:${(entry.originalLine ?? 0) + 1}`;
  }
  return `${relative(root, file)}:${frame.lineNumber + 1}`;
}

/**
 * Aggregates a profile by function + location. With `from`, samples before the first one whose
 * stack holds a function of that name are skipped (e.g. `parserOnIncoming`: start-up excluded).
 */
export function analyse(
  profile: CpuProfile,
  from?: string,
): { byFunction: FunctionTime[]; totalUs: number; byCategory: Map<string, number> } {
  const nodes = new Map<number, ProfileNode>(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Sample i lasts until sample i+1 (DevTools' rule); the last one gets the mean.
  const selfByNode = new Map<number, number>();
  const { samples, timeDeltas } = profile;
  let totalUs = 0;
  let first = 0;
  if (from) {
    const hasFrom = new Map<number, boolean>();
    const check = (id: number): boolean => {
      let v = hasFrom.get(id);
      if (v === undefined) {
        const p = parent.get(id);
        v = nodes.get(id)!.callFrame.functionName === from || (p !== undefined && check(p));
        hasFrom.set(id, v);
      }
      return v;
    };
    first = Math.max(
      0,
      samples.findIndex((id) => check(id)),
    );
  }
  for (let i = first; i < samples.length; i++) {
    const dt = i + 1 < timeDeltas.length ? timeDeltas[i + 1]! : (profile.endTime - profile.startTime) / samples.length;
    const d = Math.max(0, dt);
    selfByNode.set(samples[i]!, (selfByNode.get(samples[i]!) ?? 0) + d);
    totalUs += d;
  }
  const byKey = new Map<string, FunctionTime>();
  const keyOf = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'} ${where(n.callFrame)}`;
  const entry = (n: ProfileNode) => {
    const key = keyOf(n);
    let e = byKey.get(key);
    if (!e)
      byKey.set(
        key,
        (e = { key, name: n.callFrame.functionName || '(anonymous)', where: where(n.callFrame), self: 0, total: 0 }),
      );
    return e;
  };
  const byCategory = new Map<string, number>();
  for (const [id, self] of selfByNode) {
    const node = nodes.get(id)!;
    entry(node).self += self;
    const cat = category(node.callFrame, where(node.callFrame));
    byCategory.set(cat, (byCategory.get(cat) ?? 0) + self);
    // Inclusive time: charge every distinct function on the stack once (recursion counted once).
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = nodes.get(cur)!;
      const key = keyOf(n);
      if (seen.has(key)) continue;
      seen.add(key);
      entry(n).total += self;
    }
  }
  return { byFunction: [...byKey.values()], totalUs, byCategory };
}

function category(frame: CallFrame, at: string): string {
  const { url, functionName } = frame;
  if (!url) {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(program)') return 'program (V8/native, unattributed)';
    return 'native / builtins';
  }
  if (url.startsWith('node:')) return 'node: internals';
  if (url.includes('/node_modules/')) return 'node_modules';
  if (at.startsWith('src/')) return 'albany src/';
  if (at.startsWith('bench/')) return 'bench server entry (the app)';
  return 'other';
}

/** A readable summary: categories, top self time overall, and the project's own functions. */
export function summariseProfile(
  path: string,
  options: { top?: number; filter?: string; from?: string; requests?: number } = {},
): string {
  const top = options.top ?? 25;
  const filter = options.filter ?? '/src/';
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const { byFunction, totalUs, byCategory } = analyse(profile, options.from);
  const busyUs = totalUs - (byCategory.get('idle') ?? 0);
  const pct = (us: number) => `${((us / busyUs) * 100).toFixed(1)}%`;
  const ms = (us: number) => (us / 1000).toFixed(0);
  const lines: string[] = [];
  lines.push(
    `profile: ${ms(totalUs)} ms sampled${options.from ? ` from the first ${options.from}` : ''}, ` +
      `${ms(busyUs)} ms busy (percentages are of busy time)`,
  );
  if (options.requests)
    lines.push(
      `CPU per request: ${(busyUs / options.requests).toFixed(1)} µs busy over ` +
        `${options.requests.toLocaleString('en-US')} requests`,
    );
  lines.push('', 'by category (self time):');
  for (const [cat, us] of [...byCategory].sort((a, b) => b[1] - a[1]))
    if (cat !== 'idle') lines.push(`  ${pct(us).padStart(6)}  ${ms(us).padStart(6)} ms  ${cat}`);
  lines.push('', `top ${top} functions by self time:`);
  for (const f of [...byFunction].sort((a, b) => b.self - a.self).slice(0, top)) {
    lines.push(`  ${pct(f.self).padStart(6)}  ${f.name.slice(0, 40).padEnd(40)} ${f.where}`);
  }
  const own = byFunction.filter(
    (f) => f.where.startsWith(filter.replace(/^\//, '')) && !f.where.includes('node_modules'),
  );
  lines.push('', `functions under ${filter}: self / total (inclusive)`);
  for (const f of own.sort((a, b) => b.self - a.self).slice(0, top)) {
    lines.push(
      `  ${pct(f.self).padStart(6)} / ${pct(f.total).padStart(6)}  ${f.name.slice(0, 36).padEnd(36)} ${f.where}`,
    );
  }
  const ownSelf = own.reduce((s, f) => s + f.self, 0);
  lines.push(`  ${pct(ownSelf).padStart(6)}  self time in ${filter} altogether`);
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith('--'));
  if (!file) {
    console.error('usage: node --import tsx bench/lib/cpu-profile.ts <file.cpuprofile> [--top N] [--filter /src/]');
    process.exit(2);
  }
  const opt = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  console.log(
    summariseProfile(file, { top: Number(opt('top') ?? 25), filter: opt('filter') ?? '/src/', from: opt('from') }),
  );
}

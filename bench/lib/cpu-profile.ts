// Reads a V8 .cpuprofile and says where the time went: self time aggregated by function + file,
// plus total (inclusive) time for the project's own functions. Usable on its own:
//   node --import tsx bench/lib/cpu-profile.ts path/to.cpuprofile [--top 30] [--filter /src/]
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

interface CallFrame { functionName: string; url: string; lineNumber: number; columnNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

/** Time attributed to one function (µs). */
export interface FunctionTime { key: string; name: string; where: string; self: number; total: number }

const root = fileURLToPath(new URL('../../', import.meta.url));

function where(frame: CallFrame): string {
  const url = frame.url;
  if (!url) return '(native)';
  let path = url;
  if (url.startsWith('file://')) path = relative(root, fileURLToPath(url));
  // Profile line numbers are 0-based and refer to the code V8 ran (tsx output for .ts files).
  return `${path}:${frame.lineNumber + 1}`;
}

/** Aggregates a profile by function + location. */
export function analyse(profile: CpuProfile): { byFunction: FunctionTime[]; totalUs: number; byCategory: Map<string, number> } {
  const nodes = new Map<number, ProfileNode>(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Sample i lasts until sample i+1 (DevTools' rule); the last one gets the mean.
  const selfByNode = new Map<number, number>();
  const { samples, timeDeltas } = profile;
  let totalUs = 0;
  for (let i = 0; i < samples.length; i++) {
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
    if (!e) byKey.set(key, (e = { key, name: n.callFrame.functionName || '(anonymous)', where: where(n.callFrame), self: 0, total: 0 }));
    return e;
  };
  const byCategory = new Map<string, number>();
  for (const [id, self] of selfByNode) {
    const node = nodes.get(id)!;
    entry(node).self += self;
    const cat = category(node.callFrame);
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

function category(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(program)') return 'program (V8/native, unattributed)';
    return 'native / builtins';
  }
  if (url.startsWith('node:')) return 'node: internals';
  if (url.includes('/node_modules/')) return 'node_modules';
  if (url.includes('/src/')) return 'albany src/';
  return 'other';
}

/** A readable summary: categories, top self time overall, and the project's own functions. */
export function summariseProfile(path: string, options: { top?: number; filter?: string } = {}): string {
  const top = options.top ?? 25;
  const filter = options.filter ?? '/src/';
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const { byFunction, totalUs, byCategory } = analyse(profile);
  const busyUs = totalUs - (byCategory.get('idle') ?? 0);
  const pct = (us: number) => `${(us / busyUs * 100).toFixed(1)}%`;
  const ms = (us: number) => (us / 1000).toFixed(0);
  const lines: string[] = [];
  lines.push(`profile: ${ms(totalUs)} ms sampled, ${ms(busyUs)} ms busy (percentages are of busy time)`);
  lines.push('', 'by category (self time):');
  for (const [cat, us] of [...byCategory].sort((a, b) => b[1] - a[1])) if (cat !== 'idle') lines.push(`  ${pct(us).padStart(6)}  ${ms(us).padStart(6)} ms  ${cat}`);
  lines.push('', `top ${top} functions by self time:`);
  for (const f of [...byFunction].sort((a, b) => b.self - a.self).slice(0, top)) {
    lines.push(`  ${pct(f.self).padStart(6)}  ${f.name.slice(0, 40).padEnd(40)} ${f.where}`);
  }
  const own = byFunction.filter((f) => f.where.includes(filter.replace(/^\//, '')) && !f.where.includes('node_modules'));
  lines.push('', `functions under ${filter}: self / total (inclusive)`);
  for (const f of own.sort((a, b) => b.self - a.self).slice(0, top)) {
    lines.push(`  ${pct(f.self).padStart(6)} / ${pct(f.total).padStart(6)}  ${f.name.slice(0, 36).padEnd(36)} ${f.where}`);
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
  console.log(summariseProfile(file, { top: Number(opt('top') ?? 25), filter: opt('filter') ?? '/src/' }));
}

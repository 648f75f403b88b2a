// Counting a server's instructions per request with valgrind's callgrind. On a shared, noisy
// machine req/s and even CPU time per request swing by ±20% from one round to the next; the number
// of user-space instructions a process executes for the same work does not depend on how busy the
// machine is, so comparisons made with it repeat to within a few per cent.
//
// The server runs under `valgrind --tool=callgrind` with instrumentation off; it is warmed up, then
// instrumentation is switched on for exactly the measured requests (`callgrind_control -i on/off`),
// the counters are dumped (`callgrind_control -d`) and `callgrind_annotate` breaks the total down
// by function, which lets V8's optimizing compiler and the garbage collector be split off.
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** The tools this module runs; all three come with the `valgrind` package. */
const TOOLS = ['valgrind', 'callgrind_control', 'callgrind_annotate'] as const;

/** Names the first required tool that cannot be run, or undefined when all are there. */
export function missingTool(): string | undefined {
  for (const tool of TOOLS) {
    const r = spawnSync(tool, ['--version'], { stdio: 'ignore' });
    // ENOENT (not installed) shows as `error`; a tool that runs at all is good enough.
    if (r.error) return tool;
  }
  return undefined;
}

/** Instructions (Ir) of one dump, split into the parts that mean different things. */
export interface IrSplit {
  /** Everything executed while instrumentation was on, every thread of the process. */
  total: number;
  /** V8's optimizing compilers (TurboFan, Maglev): jobs still running from the warm-up. */
  compiler: number;
  /** Garbage collection and heap bookkeeping (scavenges, root visits, marking, sweeping). */
  gc: number;
  /** total − compiler − gc: the steady-state cost of serving the requests. */
  rest: number;
}

/** One line of `callgrind_annotate`'s per-function table. */
export interface FunctionCost {
  ir: number;
  /** `file:function` as callgrind_annotate prints it (`???:` when the file is unknown). */
  name: string;
  /** The object it lives in (`/usr/bin/node`, libc, or `???` for V8-generated JIT code). */
  object: string;
}

// Classification by C++ symbol name. JIT-compiled JavaScript has no symbol (`0x… [???]`) and so is
// always "rest", which is what we want: it is the code serving requests.
// Anything in the compiler's namespace is compiler work, even when it mentions GC.
const COMPILER_NAMESPACE = /compiler::|maglev::/;
// GC before the remaining compiler patterns: `ScheduleMinorGCTask…` is GC, not the scheduler.
const GC =
  /Scaveng|IterateObjectCache|\bHeap::|GC|MarkCompact|Evacuat|Sweeper|BodyDescriptor|Marking|IterateTurbofanOptimizedFrame/;
// Turbofan's phases and its zone allocator outside the `compiler::` namespace.
const COMPILER =
  /Zone|RegisterAllocat|LiveRange|Turbofan|OptimizedCompilation|Pipeline|Schedul|InstructionSelect|CodeGenerator/;

/** Which of {@link IrSplit}'s parts a function's instructions belong to. */
export function classify(name: string): 'compiler' | 'gc' | 'rest' {
  if (COMPILER_NAMESPACE.test(name)) return 'compiler';
  if (GC.test(name)) return 'gc';
  if (COMPILER.test(name)) return 'compiler';
  return 'rest';
}

// `  20,946,799 ( 3.03%)  ???:Builtins_LoadIC [/usr/bin/node]`
const FUNCTION_LINE = /^\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*?)(?: \[([^\]]*)\])?$/;
const TOTALS_LINE = /^\s*([\d,]+) \(\s*[\d.]+%\)\s+PROGRAM TOTALS/;

/**
 * Parses `callgrind_annotate` output: the PROGRAM TOTALS figure and every line of the
 * per-function table (the one headed `file:function`).
 */
export function parseAnnotate(text: string): { total: number; functions: FunctionCost[] } {
  let total = Number.NaN;
  const functions: FunctionCost[] = [];
  let inTable = false;
  for (const line of text.split('\n')) {
    const totals = TOTALS_LINE.exec(line);
    if (totals) {
      total = Number(totals[1]!.replace(/,/g, ''));
      continue;
    }
    if (/^Ir\s+file:function/.test(line)) {
      inTable = true;
      continue;
    }
    if (!inTable || line.startsWith('---')) continue;
    // The table ends at the first blank line; annotated source (if any) follows.
    if (line.trim() === '') {
      if (functions.length > 0) inTable = false;
      continue;
    }
    const m = FUNCTION_LINE.exec(line);
    if (m) functions.push({ ir: Number(m[1]!.replace(/,/g, '')), name: m[2]!, object: m[3] ?? '' });
  }
  if (!Number.isFinite(total)) throw new Error('callgrind_annotate output has no PROGRAM TOTALS line');
  return { total, functions };
}

/** Splits a parsed dump into compiler, GC and the rest (see {@link IrSplit}). */
export function split(total: number, functions: readonly FunctionCost[]): IrSplit {
  let compiler = 0;
  let gc = 0;
  for (const f of functions) {
    const kind = classify(f.name);
    if (kind === 'compiler') compiler += f.ir;
    else if (kind === 'gc') gc += f.ir;
  }
  // `rest` from the program total, not the sum of listed lines, so nothing (libc's malloc, libuv,
  // lines under the threshold) is silently dropped.
  return { total, compiler, gc, rest: total - compiler - gc };
}

/** Runs `callgrind_annotate` on a dump with every function listed and no source annotation. */
export async function annotate(file: string): Promise<{ total: number; functions: FunctionCost[] }> {
  // --threshold=100 lists every function (the default stops at 99% of the total).
  const { stdout } = await execFileAsync('callgrind_annotate', ['--threshold=100', '--auto=no', file], {
    maxBuffer: 256 * 2 ** 20,
  });
  return parseAnnotate(stdout);
}

/** A server process running under callgrind with instrumentation off. */
export interface CallgrindServer {
  readonly pid: number;
  readonly port: number;
  /** Switches instrumentation on or off (`callgrind_control -i`). */
  instrument(on: boolean): Promise<void>;
  /**
   * Writes `line` to the process's stdin and resolves with the next stdout line that starts with
   * `{"done"` (the protocol of bench/servers/sync-caller.ts: a workload run on request).
   */
  ask(line: string): Promise<string>;
  /** Writes the counters so far to a dump file and resolves with its path. */
  dump(): Promise<string>;
  /** SIGKILLs the process (nothing more is needed from it once dumped) and waits for its exit. */
  kill(): Promise<void>;
}

const live = new Set<ChildProcess>();
let hooked = false;

// A valgrind child outliving the bench would keep a core busy for nothing; kill ours on any exit.
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  const killAll = () => {
    for (const child of live) child.kill('SIGKILL');
    live.clear();
  };
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(130);
    });
  }
}

/** Options for {@link startUnderCallgrind}. */
export interface CallgrindStartOptions {
  /** Directory for the dump files; emptied first. */
  outDir: string;
  /** How long the server may take to print its port under valgrind (slow: ~10–50× native). */
  timeoutMs?: number;
  /** Flags for node itself, before the entry (e.g. `--perf-basic-prof` for {@link nameJitFunctions}). */
  nodeArgs?: readonly string[];
  /** Environment for the process (default: this one's). */
  env?: NodeJS.ProcessEnv;
  /**
   * Pins valgrind (every thread of the process) to this CPU (`taskset -c`). valgrind runs one thread
   * at a time, and which one runs after a futex wake-up is the OS scheduler's choice; pinning
   * changes that choice (see bench:instructions --pin-cpu for what it did to each peer).
   */
  cpu?: number;
  /**
   * `--trace-children=yes`: processes the server forks (node:cluster workers) run under callgrind too,
   * each with its own dump file (`cg.<pid>`), instrumentation off until switched on per pid
   * ({@link callgrindControl}).
   */
  traceChildren?: boolean;
  /**
   * Recognises the ready point in everything the server has printed so far and returns its port
   * (default: the `{"port":N}` / `PORT N` / `{"ready":true}` lines described at {@link startUnderCallgrind}).
   */
  ready?: (stdout: string) => number | undefined;
}

/**
 * Starts `valgrind --tool=callgrind node <entry> <args…>` and waits for the ready line, either
 * `{"port":N}` (bench/servers/ready.ts), `PORT N` (bench/interop.ts `--serve`) or `{"ready":true}`
 * (a workload with no port, driven through {@link CallgrindServer.ask}; port is then 0).
 * valgrind runs every thread of the process (worker threads included) and, without
 * `--separate-threads`, sums them into the one dump.
 */
export function startUnderCallgrind(
  entry: string,
  args: readonly string[],
  options: CallgrindStartOptions,
): Promise<CallgrindServer> {
  hookExit();
  rmSync(options.outDir, { recursive: true, force: true });
  mkdirSync(options.outDir, { recursive: true });
  const valgrind = [
    'valgrind',
    '--tool=callgrind',
    // Count nothing until asked: start-up and warm-up are not what we compare.
    '--instr-atstart=no',
    // V8 writes machine code into anonymous memory and patches it; without this valgrind would
    // keep running stale translations of rewritten code.
    '--smc-check=all-non-file',
    ...(options.traceChildren ? ['--trace-children=yes'] : []),
    `--callgrind-out-file=${join(options.outDir, 'cg.%p')}`,
    process.execPath,
    ...(options.nodeArgs ?? []),
    entry,
    ...args,
  ];
  // taskset execs valgrind in place: the child's pid stays the one callgrind_control addresses.
  const command = options.cpu === undefined ? valgrind : ['taskset', '-c', String(options.cpu), ...valgrind];
  const child = spawn(command[0]!, command.slice(1), {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: options.env ?? process.env,
  });
  live.add(child);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      live.delete(child);
      resolve();
    }),
  );
  // valgrind's banner and the server's own errors; kept (bounded) to explain an early exit.
  let stderr = '';
  // $BENCH_TRACE_FILE: every byte the server writes (with BENCH_NODE_ARGS="--trace-opt --trace-deopt",
  // V8's view), and a line `=== instrument true|false <ms since epoch>` where counting starts and
  // stops, so what V8 did inside the counted window can be told apart. Diagnosis only.
  const traceFile = process.env.BENCH_TRACE_FILE;
  const trace = (d: Buffer | string): void => {
    if (traceFile) appendFileSync(traceFile, d);
  };
  child.stderr!.on('data', (d: Buffer) => {
    trace(d);
    stderr = (stderr + d.toString()).slice(-4000);
  });
  child.stdout!.on('data', (d: Buffer) => trace(d));
  const pid = child.pid!;
  const control = (...flags: string[]) => callgrindControl(pid, ...flags);
  // Lines after the ready line, for ask(): each waiter takes the first `{"done"` line after it asked.
  let after = '';
  const waiters: Array<{ resolve: (line: string) => void; reject: (error: Error) => void }> = [];
  const ask = (line: string) =>
    new Promise<string>((resolve, reject) => {
      waiters.push({ resolve, reject });
      child.stdin!.write(`${line}\n`, (error) => error && reject(error));
    });
  child.once('exit', (code, signal) => {
    for (const w of waiters.splice(0))
      w.reject(
        new Error(`${entry} exited under valgrind (code ${code}, signal ${signal}) before answering\n${stderr}`),
      );
  });
  return new Promise<CallgrindServer>((resolve, reject) => {
    let out = '';
    let ready = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `${entry} ${args.join(' ')}: no port line within ${options.timeoutMs ?? 180_000} ms under ` +
            `valgrind\n${stderr}`,
        ),
      );
    }, options.timeoutMs ?? 180_000);
    child.stdout!.on('data', (d: Buffer) => {
      if (ready) {
        after += d.toString();
        for (let nl = after.indexOf('\n'); nl >= 0; nl = after.indexOf('\n')) {
          const line = after.slice(0, nl);
          after = after.slice(nl + 1);
          if (line.startsWith('{"done"')) waiters.shift()?.resolve(line);
        }
        return;
      }
      out += d.toString();
      const port = (options.ready ?? defaultReady)(out);
      if (port === undefined) return;
      clearTimeout(timer);
      ready = true;
      resolve({
        pid,
        port,
        ask,
        instrument: async (on) => {
          await control('-i', on ? 'on' : 'off');
          trace(`\n=== instrument ${on} ${Date.now()}\n`);
        },
        dump: () => dumpPid(options.outDir, pid),
        kill: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          await exited;
        },
      });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(
        new Error(
          `${entry} ${args.join(' ')} exited under valgrind (code ${code}, signal ${signal}) before printing ` +
            `its port\n${stderr}`,
        ),
      );
    });
  });
}

/** The port in a `{"port":N}` or `PORT N` line, 0 for `{"ready":true}`, undefined before any of them. */
function defaultReady(stdout: string): number | undefined {
  const m = /"port":(\d+)|PORT (\d+)|"ready":true/.exec(stdout);
  return m ? Number(m[1] ?? m[2] ?? 0) : undefined;
}

/** Runs `callgrind_control <flags…> <pid>` (e.g. `-i on`, `-d`) against one process under callgrind. */
export async function callgrindControl(pid: number, ...flags: string[]): Promise<void> {
  await execFileAsync('callgrind_control', [...flags, String(pid)]);
}

/** Numbers of the dump files `cg.<pid>.<n>` of `pid` in `dir`. */
function dumpNumbers(dir: string, pid: number): number[] {
  return readdirSync(dir)
    .filter((f) => f.startsWith(`cg.${pid}.`))
    .map((f) => Number(f.slice(`cg.${pid}.`.length)))
    .filter(Number.isInteger);
}

/**
 * Asks process `pid` (started with its dump files in `dir`) for a dump (`callgrind_control -d`: it
 * writes the counters since its last dump and zeroes them) and resolves with the new file's path.
 */
export async function dumpPid(dir: string, pid: number): Promise<string> {
  const before = Math.max(0, ...dumpNumbers(dir, pid));
  await callgrindControl(pid, '-d');
  return findDump(dir, pid, before);
}

// `callgrind_control -d` asks for the dump; the file (cg.<pid>.<n>) may land a moment after it
// returns, so wait until one newer than dump number `after` is there and complete (it ends with a
// `totals:` line).
async function findDump(dir: string, pid: number, after: number): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const newest = Math.max(0, ...dumpNumbers(dir, pid));
    const name = newest > after ? `cg.${pid}.${newest}` : undefined;
    if (name) {
      const path = join(dir, name);
      if (statSync(path).size > 0 && /^totals: \d+/m.test(readFileSync(path, 'utf8'))) return path;
    }
    if (Date.now() > deadline) throw new Error(`no complete callgrind dump for pid ${pid} in ${dir}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Names JIT-compiled JavaScript in a function list. callgrind sees V8's generated code as
 * anonymous addresses (`0x…` in object `???`); a node started with `--perf-basic-prof` writes
 * `/tmp/perf-<pid>.map` ("start size name" per code object, and with that flag V8 does not move
 * code), so each address can be looked up and the pieces of one JS function summed. Entries that
 * are not JIT code pass through unchanged; the result is sorted by cost again.
 */
export function nameJitFunctions(functions: readonly FunctionCost[], pid: number): FunctionCost[] {
  let text: string;
  try {
    text = readFileSync(`/tmp/perf-${pid}.map`, 'utf8');
  } catch {
    return [...functions];
  }
  const ranges: Array<{ start: number; end: number; name: string }> = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line);
    if (m) ranges.push({ start: parseInt(m[1]!, 16), end: parseInt(m[1]!, 16) + parseInt(m[2]!, 16), name: m[3]! });
  }
  ranges.sort((a, b) => a.start - b.start);
  const lookup = (address: number): string | undefined => {
    let lo = 0;
    let hi = ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (ranges[mid]!.start <= address) lo = mid + 1;
      else hi = mid - 1;
    }
    // A later entry at the same start (recompiled code) wins; look back a little for the cover.
    for (let i = hi; i >= 0 && i > hi - 32; i--)
      if (address < ranges[i]!.end && address >= ranges[i]!.start) return ranges[i]!.name;
    return undefined;
  };
  const merged = new Map<string, FunctionCost>();
  for (const f of functions) {
    const address = f.object === '???' ? /0x([0-9a-f]+)/.exec(f.name) : null;
    const name = address ? lookup(parseInt(address[1]!, 16)) : undefined;
    const key = name === undefined ? `${f.name}\0${f.object}` : name;
    const prev = merged.get(key);
    if (prev) prev.ir += f.ir;
    else merged.set(key, name === undefined ? { ...f } : { ir: f.ir, name, object: 'JIT' });
  }
  return [...merged.values()].sort((a, b) => b.ir - a.ir);
}

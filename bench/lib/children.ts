// Server peers run in child processes so the load generator and the server never share a thread;
// every child is registered here and killed on exit, error or signal, whatever the bench does.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpuSecondsOf } from './proc.js';
import { createInterface } from 'node:readline';

/** A server peer running in its own process. */
export interface ChildServer {
  readonly name: string;
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** CPU time (user + system, seconds) the child has used so far; undefined where /proc is missing. */
  cpuSeconds(): number | undefined;
  /** Asks the child to stop (SIGTERM), SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

function procCpuSeconds(pid: number): number | undefined {
  const seconds = cpuSecondsOf(pid);
  return Number.isNaN(seconds) ? undefined : seconds;
}

const live = new Set<ChildProcess>();
let hooked = false;

function killAll(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(130);
    });
  }
  process.once('uncaughtException', (error) => {
    killAll();
    console.error(error);
    process.exit(1);
  });
  process.once('unhandledRejection', (error) => {
    killAll();
    console.error(error);
    process.exit(1);
  });
}

/** Options for {@link startServer}. */
export interface StartOptions {
  /** Extra node flags (e.g. `--cpu-prof`) placed before the entry. */
  execArgv?: string[];
  /** Load the entry through tsx (needed for .ts entries); default: only when it ends in .ts. */
  tsx?: boolean;
  env?: NodeJS.ProcessEnv;
  /** How long the child may take to print its port. */
  timeoutMs?: number;
  /** Arguments for the entry itself, after it. */
  args?: string[];
}

/**
 * Starts `node [--import tsx] <entry>` and waits for the line `{"port":N}` on its stdout (see
 * `bench/servers/ready.ts`). The child's stderr is passed through so crashes are visible.
 */
export function startServer(name: string, entry: string, options: StartOptions = {}): Promise<ChildServer> {
  hookExit();
  const tsx = options.tsx ?? entry.endsWith('.ts');
  const child = spawn(
    process.execPath,
    [...(options.execArgv ?? []), ...(tsx ? ['--import', 'tsx'] : []), entry, ...(options.args ?? [])],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, ...options.env },
    },
  );
  live.add(child);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      live.delete(child);
      resolve();
    }),
  );
  const stop = async (graceMs = 3000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  return new Promise<ChildServer>((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop(0);
      reject(new Error(`${name}: no port line from ${entry} within ${options.timeoutMs ?? 15000} ms`));
    }, options.timeoutMs ?? 15000);
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      let port: unknown;
      try {
        port = (JSON.parse(line) as { port?: unknown }).port;
      } catch {
        return; // not our line; ignore stray output
      }
      if (typeof port !== 'number') return;
      clearTimeout(timer);
      resolve({
        name,
        port,
        url: `http://127.0.0.1:${port}`,
        pid: child.pid!,
        stop,
        cpuSeconds: () => procCpuSeconds(child.pid!),
      });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name}: ${entry} exited (code ${code}, signal ${signal}) before printing its port`));
    });
  });
}

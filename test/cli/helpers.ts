// Runs the real CLI as a child process (`node --import tsx src/cli.ts …`) and reads what it says.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root: the CLI runs here, so fixture paths are relative to it. */
export const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

/** A fixture path relative to {@link root}. */
export const fixture = (name: string): string => `test/fixtures/cli/${name}`;

/** A running (or finished) CLI process. */
export interface CliRun {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `albany ARGS`; a CLI still running after `timeoutMs` is killed so it cannot hang the suite. */
export function albany(args: string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}): CliRun {
  const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], {
    cwd: root,
    env: { ...process.env, NODE_OPTIONS: '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal });
    });
  });
  return { child, stdout: () => out, stderr: () => err, exit };
}

/** Waits for "listening on URL" (the first `count` such lines); fails with the CLI's stderr if it exits first. */
export async function listening(run: CliRun, count = 1): Promise<string> {
  for (;;) {
    const urls = [...run.stdout().matchAll(/albany: listening on (https?:\/\/\S+)/g)].map((m) => m[1]!);
    if (urls.length >= count) return urls[0]!;
    const exited = await Promise.race([
      run.exit.then(() => true),
      new Promise<false>((r) => setTimeout(() => r(false), 25)),
    ]);
    if (exited) throw new Error(`albany exited before listening:\n${run.stderr()}`);
  }
}

/** Non-blank lines. */
export const lines = (text: string): string[] => text.split('\n').filter((l) => l.trim() !== '');

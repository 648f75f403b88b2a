// The machine a run happened on, and the commit it measured, as printed in every report.
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The commit the working tree is at (`git rev-parse --short HEAD`), with "+dirty" when tracked or
 * untracked files differ from it: a figure measured on uncommitted code names no reproducible tree.
 * "unknown" outside a git checkout.
 */
export function commitId(): string {
  try {
    const head = execFileSync('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    const status = execFileSync('git', ['-C', REPO, 'status', '--porcelain'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return status.trim() ? `${head}+dirty` : head;
  } catch {
    return 'unknown';
  }
}

/** Cores, CPU model, Node version and date of a run. */
export interface MachineInfo {
  cores: number;
  cpu: string;
  node: string;
  platform: string;
  memoryGb: number;
  loadAverage: number[];
  date: string;
  /** {@link commitId} when the run started. */
  commit: string;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cores: typeof os.availableParallelism === 'function' ? os.availableParallelism() : cpus.length,
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    memoryGb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadAverage: os.loadavg().map((n) => Math.round(n * 100) / 100),
    date: new Date().toISOString(),
    commit: commitId(),
  };
}

/** One line for a table header: "commit 1a2b3c4, 2 cores, AMD EPYC, Node v20.20.2, load 0.5". */
export function machineLine(m: MachineInfo): string {
  return `commit ${m.commit}, ${m.cores} cores, ${m.cpu}, Node ${m.node}, load avg ${m.loadAverage.join(' / ')}`;
}

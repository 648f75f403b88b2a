// The machine a run happened on, as printed in every report.
import os from 'node:os';

/** Cores, CPU model, Node version and date of a run. */
export interface MachineInfo {
  cores: number;
  cpu: string;
  node: string;
  platform: string;
  memoryGb: number;
  loadAverage: number[];
  date: string;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cores: typeof os.availableParallelism === 'function' ? os.availableParallelism() : cpus.length,
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    memoryGb: Math.round(os.totalmem() / 2 ** 30 * 10) / 10,
    loadAverage: os.loadavg().map((n) => Math.round(n * 100) / 100),
    date: new Date().toISOString(),
  };
}

/** One line for a table header: "2 cores, AMD EPYC, Node v20.20.2, load 0.5". */
export function machineLine(m: MachineInfo): string {
  return `${m.cores} cores, ${m.cpu}, Node ${m.node}, load avg ${m.loadAverage.join(' / ')}`;
}

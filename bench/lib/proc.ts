// Process CPU time from Linux's /proc: the one reader of `/proc/<pid>/stat` every bench shares.
import { readFileSync } from 'node:fs';

// Linux reports process times in clock ticks of 1/100 s on every platform Node supports.
const TICKS_PER_SECOND = 100;

/**
 * The fields of a `/proc/<pid>/stat` line after the parenthesised command name (which may itself
 * hold spaces): index 0 is the state, 1 the parent pid, 11/12 utime/stime, 13/14 cutime/cstime.
 */
export function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** Seconds in the clock-tick fields `a` and `b` of `fields` (e.g. 11 + 12 for utime + stime). */
export function tickSeconds(fields: readonly string[], a: number, b: number): number {
  return (Number(fields[a]) + Number(fields[b])) / TICKS_PER_SECOND;
}

/** User + system CPU seconds recorded in a stat file (a process or one of its threads); NaN if it is gone. */
export function statCpuSeconds(path: string): number {
  try {
    return tickSeconds(statFields(readFileSync(path, 'utf8')), 11, 12);
  } catch {
    return Number.NaN;
  }
}

/** User + system CPU seconds of process `pid` so far; NaN once it has exited. */
export function cpuSecondsOf(pid: number): number {
  return statCpuSeconds(`/proc/${pid}/stat`);
}

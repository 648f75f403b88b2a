// Process CPU time from Linux's /proc: the one reader of `/proc/<pid>/stat` every bench shares.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

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

/** `pid` and every live descendant of it (a cluster primary and its workers), parents before children. */
export function processTree(root: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      parent.set(Number(entry), Number(statFields(readFileSync(`/proc/${entry}/stat`, 'utf8'))[1]));
    } catch {
      // exited meanwhile
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++)
    for (const [pid, ppid] of parent) if (ppid === tree[i] && !tree.includes(pid)) tree.push(pid);
  return tree;
}

/**
 * The pid of the process holding the server side of the TCP connection from 127.0.0.1:`clientPort` to
 * 127.0.0.1:`serverPort`, among `pids` (found by the socket's inode: /proc/net/tcp, then /proc/<pid>/fd);
 * undefined when none of them holds it.
 */
export function connectionOwners(
  serverPort: number,
  clientPorts: readonly number[],
  pids: readonly number[],
): Array<number | undefined> {
  const hexPort = (p: number) => p.toString(16).toUpperCase().padStart(4, '0');
  // sl local_address rem_address st … inode: the server side is local :serverPort, remote :clientPort.
  const inodeOf = new Map<string, string>();
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    if (f[1]!.endsWith(`:${hexPort(serverPort)}`) && f[9] !== '0') inodeOf.set(f[2]!.split(':')[1]!, f[9]!);
  }
  const ownerOf = new Map<string, number>();
  for (const pid of pids) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) ownerOf.set(m[1]!, pid);
      } catch {
        // closed meanwhile
      }
    }
  }
  return clientPorts.map((port) => {
    if (port === 0) return undefined; // a closed connection
    const inode = inodeOf.get(hexPort(port));
    return inode === undefined ? undefined : ownerOf.get(inode);
  });
}

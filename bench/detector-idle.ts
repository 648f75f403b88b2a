// `node --import tsx bench/detector-idle.ts [--seconds 10]`: what the blocking detector costs by the
// clock rather than by the request. Its per-request work is one store and one compare (the host
// notes the running request); everything else runs on time — the heartbeat timer on the loop every
// threshold/2 ms and the watchdog's futex wake-ups every threshold/4 ms. Under callgrind (bench:instructions) the
// process
// runs ~50x slower, so those time-based costs land on far fewer requests per second than in real
// life and the per-request ratio overstates them; this bench measures them directly: CPU time
// (every thread, /proc/PID/stat) of the idle albany hello-world peer with the detector on and off.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '10' }, rounds: { type: 'string', default: '2' } },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const TICKS_PER_S = 100; // USER_HZ on Linux

function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14 and 15 of stat)
}

async function idleCpu(threshold: number): Promise<number> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'bench/servers/albany.ts', `--block-threshold=${threshold}`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  await new Promise((r) => setTimeout(r, 1000)); // past start-up
  const before = cpuTicks(child.pid!);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const used = cpuTicks(child.pid!) - before;
  child.kill('SIGTERM');
  return (used / TICKS_PER_S / seconds) * 1e6; // CPU µs per wall second
}

const rows: Array<[string, number]> = [];
for (let r = 0; r < rounds; r++) {
  for (const threshold of [0, 100]) rows.push([`threshold ${threshold}`, await idleCpu(threshold)]);
}
for (const [name, us] of rows) console.log(`${name.padEnd(14)} ${us.toFixed(0).padStart(6)} CPU µs per second idle`);
const off = rows.filter(([n]) => n === 'threshold 0').map(([, v]) => v);
const on = rows.filter(([n]) => n === 'threshold 100').map(([, v]) => v);
const extra = on.reduce((a, b) => a + b, 0) / on.length - off.reduce((a, b) => a + b, 0) / off.length;
console.log(
  `detector on - off: ${extra.toFixed(0)} CPU µs per second (${((extra / 1e6) * 100).toFixed(3)}% of one core)`,
);

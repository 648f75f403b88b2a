// Imported by albany-cli.ts before the CLI: under callgrind ($BENCH_BLOCK_CLOCK_SCALE=S) it starts this
// process's blocking detector with every period stretched S times, and the CLI's serve() then joins it
// (one detector per process, shared by acquireBlockDetector). Only in a process that serves: a
// `--workers N>1` primary never runs serve(), so it gets no detector here either.
import cluster from 'node:cluster';
import { DEFAULT_BLOCK_THRESHOLD_MS } from '../../src/observe/block-detector.js';
import { startStretchedDetector } from './stretched-detector.js';

const scale = Number(process.env.BENCH_BLOCK_CLOCK_SCALE ?? '');
const flag = (name: string): string | undefined => {
  const argv = process.argv;
  const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i === -1) return undefined;
  return argv[i]!.includes('=') ? argv[i]!.slice(name.length + 3) : argv[i + 1];
};
const workers = Number(flag('workers') ?? '1');
const serves = cluster.isWorker || (workers <= 1 && flag('max-requests') === undefined);
if (Number.isFinite(scale) && scale > 1 && serves) {
  startStretchedDetector(Number(flag('block-threshold') ?? DEFAULT_BLOCK_THRESHOLD_MS), scale);
}

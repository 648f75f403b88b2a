// bench:scale --instructions tells how the counted requests split between a cluster's workers by which
// process holds the server end of each keep-alive connection (bench/lib/proc.ts connectionOwners) and
// how many answers each connection got (bench/lib/keepalive-driver.ts). Checked here on a real
// node:cluster with round-robin hand-over, natively: the owners are the workers (the primary accepts
// and hands each connection on), each answer is counted once, and the ratio lines are read back.
import test from 'ava';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { KeepAliveDriver } from '../../bench/lib/keepalive-driver.js';
import { connectionOwners, processTree } from '../../bench/lib/proc.js';
import { extractRatios } from '../../bench/lib/extract.js';

// A primary with 2 round-robin workers; the primary prints the port once both listen.
const CLUSTER = `
const cluster = require('node:cluster');
const http = require('node:http');
cluster.schedulingPolicy = cluster.SCHED_RR;
if (cluster.isPrimary) {
  const port = Number(process.argv[1]);
  let ready = 0;
  for (let i = 0; i < 2; i++) cluster.fork({ PORT: String(port) }).on('listening', () => {
    if (++ready === 2) console.log(JSON.stringify({ port }));
  });
} else {
  http.createServer((req, res) => res.end('ok')).listen(Number(process.env.PORT), '127.0.0.1');
}
`;

test('connectionOwners names the worker that holds each keep-alive connection of a round-robin cluster', async (t) => {
  const { freePort } = await import('../helpers/nginx.js');
  const port = await freePort();
  const child = spawn(process.execPath, ['-e', CLUSTER, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => {
    for (const pid of processTree(child.pid!).reverse()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });
  await new Promise<void>((resolve) => createInterface({ input: child.stdout! }).once('line', () => resolve()));
  const pids = processTree(child.pid!);
  t.is(pids.length, 3, 'the primary and two workers');
  t.is(pids[0], child.pid);
  const driver = await KeepAliveDriver.open(port, 4);
  t.teardown(() => driver.close());
  const r = await driver.run(200);
  t.is(r.ok, 200);
  t.is(
    r.perConnection.reduce((a, b) => a + b, 0),
    200,
    'every answer counted on one connection',
  );
  const owners = connectionOwners(port, driver.localPorts(), pids);
  const workers = pids.slice(1);
  t.true(
    owners.every((o) => o !== undefined && workers.includes(o)),
    `owners ${owners.join(', ')} among ${workers}`,
  );
  // Round-robin hands 4 connections 2 and 2.
  t.deepEqual(
    workers.map((w) => owners.filter((o) => o === w).length),
    [2, 2],
  );
});

test('bench:scale output: the instruction-count line judges the --workers row, /proc is the fallback', (t) => {
  const both = [
    '**total Ir per request, --workers 2 ÷ --workers 1 = 1.012** (albany CLI, every process; rounds 1.012)',
    'reference, plain node:http under runCluster: total Ir/req 2 ÷ 1 = 0.990 (rounds 0.990)',
    '**server CPU per request, --workers 2 ÷ --workers 1 = 1.145** (albany; median of per-round ratios)',
  ].join('\n');
  const ratios = extractRatios('scale', both);
  const judged = ratios.filter((r) => r.measure !== '');
  t.is(judged[0]!.value, 1.012, 'the first ratio answering the row is the instruction count');
  t.true(judged[0]!.pass);
  t.is(ratios.find((r) => r.name.startsWith('reference: plain node:http'))!.value, 0.99);
  const procOnly = extractRatios('scale', both.split('\n')[2]!);
  t.is(procOnly.filter((r) => r.measure !== '')[0]!.value, 1.145);
});

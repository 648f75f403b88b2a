// Graceful shutdown under load: the CLI serving a slow app gets SIGTERM while 100 requests are in
// flight; all of them are answered, new connections are refused, and it exits 0 within the grace period.
import test from 'ava';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { Agent } from 'undici';
import { bounded, delay } from './helpers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const IN_FLIGHT = 100;
const GRACE_MS = 5000;

/** True when a TCP connection to `port` is refused. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
  });
}

test(`SIGTERM to the CLI with ${IN_FLIGHT} requests in flight (each ~300 ms): all get 200, new connections are refused, exit 0 within the ${GRACE_MS} ms grace period`, async (t) => {
  t.timeout(60_000);
  // The sources through tsx (not a possibly stale dist/), exactly as bin/albany.js runs them in a checkout.
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      cli,
      'serve',
      'test/fixtures/reliability/slow-app.ts',
      '--port',
      '0',
      '--lifespan',
      'off',
      '--graceful-timeout',
      String(GRACE_MS),
      '--log-level',
      'warn',
    ],
    {
      cwd: root,
      env: { ...process.env, NODE_OPTIONS: '', ALBANY_TEST_BARRIER: String(IN_FLIGHT) },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  const url = await bounded(
    (async () => {
      for (;;) {
        const m = /albany: listening on (http:\/\/\S+)/.exec(out);
        if (m) return m[1]!;
        if (child.exitCode !== null) throw new Error(`the CLI exited at start:\n${err}`);
        await delay(25);
      }
    })(),
    30_000,
    'the CLI start',
  );
  const port = Number(new URL(url).port);

  const agent = new Agent({ connections: IN_FLIGHT, headersTimeout: 30_000, bodyTimeout: 30_000 });
  t.teardown(() => agent.destroy());
  const requests = Array.from({ length: IN_FLIGHT }, async (_, i) => {
    const res = await fetch(`${url}/r${i}`, { dispatcher: agent } as RequestInit);
    return { status: res.status, body: await res.text(), at: Date.now() };
  });
  const settled = Promise.allSettled(requests);

  await bounded(
    (async () => {
      while (!out.includes(`inflight ${IN_FLIGHT}`)) await delay(5);
    })(),
    20_000,
    'all requests in flight',
  );
  const termAt = Date.now();
  child.kill('SIGTERM');

  // New connections are refused once the server has stopped listening, while the old ones finish.
  let refusedAt = 0;
  const refusedWhileDraining = bounded(
    (async () => {
      while (!(await refused(port))) await delay(10);
      refusedAt = Date.now();
    })(),
    GRACE_MS,
    'refusing new connections',
  );

  const results = await bounded(settled, GRACE_MS + 5000, 'the in-flight requests');
  await refusedWhileDraining;
  const exit = await bounded(exited, GRACE_MS + 5000, 'the CLI exit');
  const exitMs = Date.now() - termAt;

  const failures = results.flatMap((r, i) =>
    r.status === 'rejected'
      ? [`r${i}: ${String(r.reason)}`]
      : r.value.status !== 200 || r.value.body !== `done /r${i}`
        ? [`r${i}: ${r.value.status} ${r.value.body}`]
        : [],
  );
  t.deepEqual(failures, [], 'every in-flight request got its 200');
  const lastAnswer = Math.max(...results.map((r) => (r.status === 'fulfilled' ? r.value.at : 0)));
  t.true(
    refusedAt > 0 && refusedAt <= lastAnswer,
    `refused new connections (at +${refusedAt - termAt} ms) before the last in-flight answer (+${lastAnswer - termAt} ms)`,
  );
  t.deepEqual(exit, { code: 0, signal: null }, err);
  t.true(exitMs < GRACE_MS, `exited ${exitMs} ms after SIGTERM`);
  t.log(`refused after +${refusedAt - termAt} ms, last answer +${lastAnswer - termAt} ms, exit 0 after +${exitMs} ms`);
});

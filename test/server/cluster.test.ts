// --workers N with node:cluster, as a user runs it: a primary process with real workers on one port.
import test, { type ExecutionContext } from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/nginx.js';
import { delay } from '../helpers/server.js';

const entry = fileURLToPath(new URL('../fixtures/server/cluster-entry.ts', import.meta.url));

interface Cluster {
  primary: ChildProcess;
  port: number;
  log(): string;
  readyCount(): number;
  waitFor(predicate: () => boolean, what: string, ms?: number): Promise<void>;
  exited: Promise<number | null>;
}

async function startCluster(t: ExecutionContext, workers: number): Promise<Cluster> {
  const port = await freePort();
  const primary = spawn(process.execPath, ['--import', 'tsx', entry], {
    env: { ...process.env, PORT: String(port), WORKERS: String(workers), STDIN_LIFELINE: '1' },
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  let wake: (() => void) | undefined;
  primary.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    wake?.();
  });
  const exited = new Promise<number | null>((resolve) =>
    primary.once('exit', (code) => {
      wake?.();
      resolve(code);
    }),
  );
  t.teardown(async () => {
    if (primary.exitCode === null && primary.signalCode === null) {
      // Kill the whole group of workers too: the primary may be wedged in a failing test.
      for (const pid of [...stderr.matchAll(/worker (\d+) ready/g)].map((m) => Number(m[1])))
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
      primary.kill('SIGKILL');
      await exited;
    }
  });
  const waitFor = async (predicate: () => boolean, what: string, ms = 20_000) => {
    const deadline = Date.now() + ms;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; log:\n${stderr}`);
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 100);
      });
    }
  };
  const readyCount = () => (stderr.match(/worker \d+ ready/g) ?? []).length;
  // Three tsx processes compile on start: a loaded machine (two test files at once) may take long.
  await waitFor(() => /primary \d+ running/.test(stderr), 'the cluster to start', 60_000);
  return { primary, port, log: () => stderr, readyCount, waitFor, exited };
}

/** One request on a fresh connection, so the primary hands each to the next worker. */
function get(port: number, path = '/', timeoutMs = 15_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    // A connection lost between processes would otherwise hang the test until ava's global
    // timeout, with no word of which request it was.
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${path}: no answer within ${timeoutMs} ms`)));
  });
}

/** `clients` loops of one-request connections until stopped, recording every failure. */
function hammer(port: number, clients: number, timeoutMs?: number) {
  const errors: string[] = [];
  let served = 0;
  let running = true;
  const loops = Array.from({ length: clients }, async () => {
    while (running) {
      try {
        const { status } = await get(port, '/', timeoutMs);
        if (status === 200) served++;
        else errors.push(`status ${status}`);
      } catch (error) {
        errors.push((error as Error).message);
      }
    }
  });
  return {
    errors,
    served: () => served,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

async function pidsAnswering(port: number, n = 12): Promise<Set<string>> {
  const pids = new Set<string>();
  for (let i = 0; i < n; i++) pids.add((await get(port)).body);
  return pids;
}

test('N workers answer from N distinct processes on one port', async (t) => {
  const c = await startCluster(t, 2);
  const pids = await pidsAnswering(c.port);
  t.is(pids.size, 2, c.log());
  t.false(pids.has(String(c.primary.pid)));
});

test('a killed worker is respawned and the service stays up meanwhile', async (t) => {
  const c = await startCluster(t, 2);
  const before = await pidsAnswering(c.port);
  const victim = Number([...before][0]);
  process.kill(victim, 'SIGKILL');
  // Round-robin scheduling loses a connection handed over in the instant before the primary sees
  // the death (a node:cluster limit, see ClusterOptions.scheduling); from then on all succeed,
  // including while the replacement starts.
  await c.waitFor(() => c.log().includes(`worker ${victim} died`), 'the primary to see the death');
  for (let i = 0; i < 5; i++) t.is((await get(c.port)).status, 200);
  await c.waitFor(() => c.readyCount() >= 3, 'the replacement worker');
  t.regex(c.log(), new RegExp(`worker ${victim} died \\(SIGKILL\\)`));
  const after = await pidsAnswering(c.port);
  t.is(after.size, 2);
  t.false(after.has(String(victim)));
});

test('a worker that throws outside any request leaves in order: the very next requests all succeed, and it is respawned', async (t) => {
  const c = await startCluster(t, 2);
  const errors: string[] = [];
  const crashed: string[] = [];
  for (let round = 1; round <= 3; round++) {
    const { body: pid } = await get(c.port, '/crash');
    crashed.push(pid);
    // No waiting for the primary to notice: a connection handed to the crashing worker in its last
    // instant must be passed on, not left hanging.
    for (let i = 0; i < 10; i++) {
      try {
        const { status } = await get(c.port, '/', 5_000);
        if (status !== 200) errors.push(`round ${round}: status ${status}`);
      } catch (error) {
        errors.push(`round ${round}: ${(error as Error).message}`);
      }
    }
    await c.waitFor(() => c.readyCount() >= 2 + round, `replacement ${round}`);
  }
  t.deepEqual(errors, [], c.log());
  for (const pid of crashed) {
    t.regex(c.log(), new RegExp(`worker ${pid}: uncaught exception, exiting: Error: crash requested`));
    t.regex(c.log(), new RegExp(`worker ${pid} died \\(exit code 1\\)`));
  }
  const after = await pidsAnswering(c.port);
  t.is(after.size, 2);
  for (const pid of crashed) t.false(after.has(pid));
});

test('SIGTERM drains: requests in flight finish, then every process exits cleanly', async (t) => {
  const c = await startCluster(t, 2);
  const inFlight = Array.from({ length: 4 }, () => get(c.port, '/slow?ms=1200'));
  await new Promise((r) => setTimeout(r, 300));
  c.primary.kill('SIGTERM');
  const results = await Promise.all(inFlight);
  t.deepEqual(
    results.map((r) => r.status),
    [200, 200, 200, 200],
  );
  t.is(await c.exited, 0, c.log());
  await t.throwsAsync(get(c.port));
});

test('SIGHUP replaces workers one at a time without failing a request', async (t) => {
  const c = await startCluster(t, 2);
  const before = await pidsAnswering(c.port);
  const slow = get(c.port, '/slow?ms=1500');
  const load = hammer(c.port, 1);
  c.primary.kill('SIGHUP');
  await c.waitFor(() => /reload complete/.test(c.log()), 'the reload to complete', 30_000);
  await load.stop();
  t.is((await slow).status, 200);
  t.is(load.errors.length, 0, c.log());
  t.true(load.served() > 0);
  const after = await pidsAnswering(c.port);
  t.is(after.size, 2);
  for (const pid of after) t.false(before.has(pid), `old worker ${pid} still answering`);
});

test('back-to-back reloads under concurrent load lose no connection handed over as a worker leaves', async (t) => {
  // A connection the primary hands to a worker in the instant it closes its server must still be
  // answered (the worker says "not accepted" and the primary passes it on). A worker that exited
  // without answering left the client hanging; before the fix this lost about one connection in
  // ten worker replacements under this load.
  const c = await startCluster(t, 2);
  const load = hammer(c.port, 4, 5_000);
  const completed = () => (c.log().match(/reload complete/g) ?? []).length;
  for (let i = 1; i <= 6; i++) {
    c.primary.kill('SIGHUP');
    await c.waitFor(() => completed() >= i, `reload ${i} to complete`, 30_000);
  }
  await load.stop();
  t.deepEqual(load.errors, [], c.log());
  t.true(load.served() > 0);
  t.is(c.readyCount(), 2 + 6 * 2);
});

test('SIGHUP under concurrent keep-alive clients: no request fails, no kept-alive connection is cut between requests', async (t) => {
  // A worker leaving for its successor used to close its idle keep-alive connections at once, and a
  // client sending its next request on one in that instant got "other side closed" (about six
  // failures per reload of two workers under this load). It now answers with connection: close and
  // lets such connections end on their own.
  const c = await startCluster(t, 2);
  const errors: string[] = [];
  const pids = new Set<string>();
  let running = true;
  // undici's fetch keeps its connections alive and reuses them (one per concurrent loop).
  const loops = Array.from({ length: 4 }, async () => {
    while (running) {
      try {
        const res = await fetch(`http://127.0.0.1:${c.port}/`);
        const body = await res.text();
        if (res.status === 200 && /^\d+$/.test(body)) pids.add(body);
        else errors.push(`status ${res.status}: ${body}`);
      } catch (error) {
        const cause = (error as Error & { cause?: Error & { code?: string } }).cause;
        errors.push(`${(error as Error).message} (${cause?.code ?? ''} ${cause?.message ?? ''})`);
      }
      await delay(5);
    }
  });
  for (let i = 1; i <= 3; i++) {
    c.primary.kill('SIGHUP');
    await c.waitFor(() => (c.log().match(/reload complete/g) ?? []).length >= i, `reload ${i} to complete`, 40_000);
  }
  running = false;
  await Promise.all(loops);
  t.deepEqual(errors, [], c.log());
  // Every generation of workers answered: the first two and the three pairs of reloads.
  t.true(pids.size >= 6, [...pids].join(' '));
});

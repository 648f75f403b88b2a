// A real nginx balancing two albany processes with the config from examples/nginx/proxy.conf.
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort, requireNginx, startNginx, waitForPort } from '../helpers/nginx.js';

const example = readFileSync(new URL('../../examples/nginx/proxy.conf', import.meta.url), 'utf8');
const entry = fileURLToPath(new URL('../fixtures/server/named-app.ts', import.meta.url));

async function albanyProcess(t: ExecutionContext, name: string): Promise<number> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    env: { ...process.env, PORT: String(port), NAME: name },
    stdio: ['pipe', 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.teardown(async () => {
    child.kill('SIGKILL');
    await exited;
  });
  await waitForPort(port, 20_000);
  return port;
}

test('proxy_pass balances over two albany processes; both answer, proxy headers give the real client', async (t) => {
  if (!requireNginx(t)) return;
  const [a, b] = await Promise.all([albanyProcess(t, 'one'), albanyProcess(t, 'two')]);
  const nginx = await startNginx(
    (port) =>
      example
        .replace('listen 80;', `listen 127.0.0.1:${port};`)
        .replace('127.0.0.1:8001', `127.0.0.1:${a}`)
        .replace('127.0.0.1:8002', `127.0.0.1:${b}`),
    t,
  );
  const names = new Set<string>();
  for (let i = 0; i < 8; i++) {
    const res = await fetch(`${nginx.url}/`, { headers: { 'x-forwarded-for': '6.6.6.6' } });
    t.is(res.status, 200, nginx.log());
    const [name, client, scheme] = (await res.text()).split(' ');
    names.add(name!);
    // nginx appends the peer it saw (this test, on 127.0.0.1) to the list the client sent. That
    // peer is itself in the trusted loopback list, so the right-to-left walk goes one hop further;
    // from an untrusted client address the walk would stop at the entry nginx wrote.
    t.is(client, '6.6.6.6');
    t.is(scheme, 'http');
  }
  t.deepEqual([...names].sort(), ['one', 'two']);
});

test('one albany process gone: nginx keeps serving from the other', async (t) => {
  if (!requireNginx(t)) return;
  const a = await albanyProcess(t, 'one');
  const dead = await freePort();
  const nginx = await startNginx(
    (port) =>
      example
        .replace('listen 80;', `listen 127.0.0.1:${port};`)
        .replace('127.0.0.1:8001', `127.0.0.1:${a}`)
        .replace('127.0.0.1:8002', `127.0.0.1:${dead}`),
    t,
  );
  for (let i = 0; i < 6; i++) {
    const res = await fetch(`${nginx.url}/`);
    t.is(res.status, 200);
    t.true((await res.text()).startsWith('one '));
  }
});

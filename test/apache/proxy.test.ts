// A real Apache httpd (mod_proxy_http) in front of albany over HTTP, with the lines from
// examples/apache/proxy.conf: `albany serve --workers 2` through the real CLI, and an in-process
// server for connection reuse, streaming both ways and a client leaving mid-upload.
import test, { type ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { albany, fixture, listening } from '../cli/helpers.js';
import type { App } from '../../src/gateway/types.js';
import { freePort } from '../helpers/nginx.js';
import { requireApache, startApache, type Apache } from '../helpers/apache.js';
import { startServer } from '../helpers/server.js';
import { twoPartUpload } from '../helpers/upload.js';

const example = readFileSync(new URL('../../examples/apache/proxy.conf', import.meta.url), 'utf8');

function apacheFor(t: ExecutionContext, backend: number): Promise<Apache> {
  return startApache(
    (port) =>
      example
        .replace('Listen 80', `Listen 127.0.0.1:${port}`)
        .replace('<VirtualHost *:80>', `<VirtualHost 127.0.0.1:${port}>`)
        .replaceAll('http://127.0.0.1:8001/', `http://127.0.0.1:${backend}/`),
    t,
  );
}

test('--workers 2 behind mod_proxy_http: answers from the workers, the real client and Host via --proxy-headers', async (t) => {
  if (!requireApache(t)) return;
  const backend = await freePort();
  const run = albany(['serve', fixture('whoami.mjs'), '--port', String(backend), '--workers', '2', '--proxy-headers'], {
    timeoutMs: 90_000,
  });
  t.teardown(() => run.child.kill('SIGKILL'));
  await listening(run, 2);
  const workers = new Set([...run.stdout().matchAll(/\(worker (\d+)\)/g)].map((m) => m[1]!));
  t.is(workers.size, 2, run.stdout());
  const apache = await apacheFor(t, backend);
  for (let i = 0; i < 12; i++) {
    const res = await fetch(`${apache.url}/`, { headers: { 'x-forwarded-for': '6.6.6.6' } });
    t.is(res.status, 200, apache.log());
    const [pid, client, scheme, host] = (await res.text()).split(' ');
    t.true(workers.has(pid!), `answered by ${pid}, not one of the workers ${[...workers].join(', ')}`);
    // Apache appends the peer it saw (127.0.0.1, trusted) to the client's list; the walk goes past it.
    t.is(client, '6.6.6.6');
    t.is(scheme, 'http');
    t.is(host, `127.0.0.1:${apache.port}`, "ProxyPreserveHost passes the client's Host");
  }
  run.child.kill('SIGTERM');
  t.is((await run.exit).code, 0);
});

test('mod_proxy_http keeps the upstream connection alive across requests', async (t) => {
  if (!requireApache(t)) return;
  const server = await startServer(t, async (_s, receive, send) => {
    await receive();
    await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
    await send({ type: 'http.response.body', body: Buffer.from('ok') });
  });
  let connections = 0;
  server.server.on('connection', () => connections++);
  const apache = await apacheFor(t, server.port);
  for (let i = 0; i < 6; i++) {
    const res = await fetch(`${apache.url}/n${i}`);
    t.is(await res.text(), 'ok', apache.log());
  }
  t.true(connections < 6, `${connections} upstream connections for 6 requests`);
});

test('an upload streams through, a streamed response comes back part by part, a client leaving mid-upload is http.disconnect', async (t) => {
  if (!requireApache(t)) return;
  let firstChunk!: () => void;
  const sawFirst = new Promise<void>((r) => (firstChunk = r));
  let gone!: () => void;
  const appSawDisconnect = new Promise<void>((r) => (gone = r));
  let release!: () => void;
  const second = new Promise<void>((r) => (release = r));
  const app: App = async (scope, receive, send) => {
    if (scope.type !== 'http') return;
    if (scope.path === '/stream') {
      await receive();
      await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
      await send({ type: 'http.response.body', body: Buffer.from('first;'), moreBody: true });
      await second;
      await send({ type: 'http.response.body', body: Buffer.from('second') });
      return;
    }
    let total = 0;
    for (;;) {
      const m = await receive();
      if (m.type !== 'http.request') {
        gone();
        return;
      }
      total += m.body.length;
      if (total > 0) firstChunk();
      if (!m.moreBody) break;
    }
    await send({ type: 'http.response.start', status: 200 });
    await send({ type: 'http.response.body', body: Buffer.from(String(total)) });
  };
  const server = await startServer(t, app);
  const apache = await apacheFor(t, server.port);

  const part = Buffer.alloc(100_000, 0x61);
  const body = twoPartUpload(part, sawFirst);
  const up = await fetch(`${apache.url}/upload`, { method: 'POST', body, duplex: 'half' } as RequestInit);
  t.is(up.status, 200, apache.log());
  t.is(await up.text(), String(part.length * 2));

  const res = await fetch(`${apache.url}/stream`);
  const reader = res.body!.getReader();
  const first = await Promise.race([
    reader.read(),
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('first part not passed on while the response was open')), 5000),
    ),
  ]);
  t.is(Buffer.from(first.value!).toString(), 'first;');
  release();
  let rest = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    rest += Buffer.from(value).toString();
  }
  t.is(rest, 'second');

  const socket = net.connect(apache.port, '127.0.0.1');
  socket.on('error', () => {});
  socket.write(`POST /abort HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n${'a'.repeat(20_000)}`);
  await new Promise((r) => setTimeout(r, 300));
  socket.destroy();
  await Promise.race([
    appSawDisconnect,
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error(`no disconnect within 10 s\n${apache.log()}`)), 10_000),
    ),
  ]);
  t.pass();
});

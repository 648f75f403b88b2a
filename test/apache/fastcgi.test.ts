// A real Apache httpd (mod_proxy_fcgi) in front of the FastCGI host, with the lines from
// examples/apache/fastcgi.conf.
import test, { type ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import type { App } from '../../src/gateway/types.js';
import { serveFastCGI } from '../../src/server/fastcgi.js';
import { requireApache, startApache, type Apache } from '../helpers/apache.js';
import { echo } from '../helpers/nginx.js';
import { twoPartUpload } from '../helpers/upload.js';

const example = readFileSync(new URL('../../examples/apache/fastcgi.conf', import.meta.url), 'utf8');
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

async function setup(t: ExecutionContext, app: App): Promise<{ apache: Apache; connections: () => number }> {
  const fcgi = await serveFastCGI(app, {
    host: '127.0.0.1',
    port: 0,
    lifespan: 'off',
    logger: quiet,
    gracefulTimeoutMs: 1000,
  });
  let connections = 0;
  fcgi.server.on('connection', () => connections++);
  t.teardown(() => fcgi.close());
  const apache = await startApache(
    (port) =>
      example
        .replace('Listen 80', `Listen 127.0.0.1:${port}`)
        .replace('<VirtualHost *:80>', `<VirtualHost 127.0.0.1:${port}>`)
        .replace('fcgi://127.0.0.1:9000/', `fcgi://127.0.0.1:${fcgi.port}/`),
    t,
  );
  return { apache, connections: () => connections };
}

test('GET through mod_proxy_fcgi: path, query, headers, client; the FastCGI connection is reused', async (t) => {
  if (!requireApache(t)) return;
  const { apache, connections } = await setup(t, echo);
  for (let i = 0; i < 5; i++) {
    const res = await fetch(`${apache.url}/a%20b/c?x=1&y=%2F`, { headers: { 'x-test': `v${i}` } });
    t.is(res.status, 200, apache.log());
    t.is(res.headers.get('x-served-by'), 'albany');
    t.deepEqual(await res.json(), {
      method: 'GET',
      path: '/a b/c',
      rootPath: '',
      query: 'x=1&y=%2F',
      client: '127.0.0.1',
      scheme: 'http',
      test: `v${i}`,
      length: 0,
    });
  }
  t.true(connections() < 5, `enablereuse should keep FastCGI connections open (${connections()} for 5 requests)`);
});

test('an upload is streamed: the app sees the first part before the client sends the rest', async (t) => {
  if (!requireApache(t)) return;
  let firstChunk!: () => void;
  const sawFirst = new Promise<void>((r) => (firstChunk = r));
  const { apache } = await setup(t, async (_scope, receive, send) => {
    let total = 0;
    for (;;) {
      const m = await receive();
      if (m.type !== 'http.request') return;
      total += m.body.length;
      if (total > 0) firstChunk();
      if (!m.moreBody) break;
    }
    await send({ type: 'http.response.start', status: 200 });
    await send({ type: 'http.response.body', body: Buffer.from(String(total)) });
  });
  const part = Buffer.alloc(100_000, 0x61);
  const body = twoPartUpload(part, sawFirst);
  const res = await fetch(`${apache.url}/upload`, { method: 'POST', body, duplex: 'half' } as RequestInit);
  t.is(res.status, 200, apache.log());
  t.is(await res.text(), String(part.length * 2));
});

test('a streamed response reaches the client part by part (flushpackets)', async (t) => {
  if (!requireApache(t)) return;
  let release!: () => void;
  const second = new Promise<void>((r) => (release = r));
  const { apache } = await setup(t, async (_s, receive, send) => {
    await receive();
    await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
    await send({ type: 'http.response.body', body: Buffer.from('first;'), moreBody: true });
    await second;
    await send({ type: 'http.response.body', body: Buffer.from('second') });
  });
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
});

test('a client that goes away mid-upload is seen by the app as http.disconnect', async (t) => {
  if (!requireApache(t)) return;
  let started!: () => void;
  const appStarted = new Promise<void>((r) => (started = r));
  let gone!: () => void;
  const appSawDisconnect = new Promise<void>((r) => (gone = r));
  const { apache } = await setup(t, async (_s, receive) => {
    const m = await receive();
    if (m.type === 'http.request') started();
    for (;;) {
      const next = await receive();
      if (next.type === 'http.disconnect') return gone();
    }
  });
  const socket = net.connect(apache.port, '127.0.0.1');
  socket.on('error', () => {});
  socket.write(`POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n${'a'.repeat(20_000)}`);
  await appStarted;
  socket.destroy();
  await Promise.race([
    appSawDisconnect,
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error(`no disconnect within 10 s\n${apache.log()}`)), 10_000),
    ),
  ]);
  t.pass();
});

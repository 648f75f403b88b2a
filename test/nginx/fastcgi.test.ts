// A real nginx in front of the FastCGI host, with the config from examples/nginx/fastcgi.conf.
import test from 'ava';
import net from 'node:net';
import type { App } from '../../src/gateway/types.js';
import { requireNginx, startExampleFastCGI, echo } from '../helpers/nginx.js';
import { twoPartUpload } from '../helpers/upload.js';

test('GET through fastcgi_pass: path, query, headers, client; upstream connection kept alive', async (t) => {
  if (!requireNginx(t)) return;
  const { nginx, connections } = await startExampleFastCGI(t, echo);
  for (let i = 0; i < 5; i++) {
    const res = await fetch(`${nginx.url}/a%20b/c?x=1&y=%2F`, { headers: { 'x-test': `v${i}` } });
    t.is(res.status, 200, nginx.log());
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
  t.is(connections(), 1, 'fastcgi_keep_conn + keepalive should reuse one connection');
});

test('a mount via fastcgi_split_path_info gives rootPath and path', async (t) => {
  if (!requireNginx(t)) return;
  const { nginx } = await startExampleFastCGI(t, echo);
  const body = (await (await fetch(`${nginx.url}/mounted/users/7?q`)).json()) as {
    path: string;
    rootPath: string;
    query: string;
  };
  t.deepEqual([body.rootPath, body.path, body.query], ['/mounted', '/users/7', 'q']);
});

test('POST body is streamed: the app sees the first part before the client sends the rest', async (t) => {
  if (!requireNginx(t)) return;
  let firstChunk!: () => void;
  const sawFirst = new Promise<void>((r) => (firstChunk = r));
  const app: App = async (_scope, receive, send) => {
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
  };
  const { nginx } = await startExampleFastCGI(t, app);
  const part = Buffer.alloc(100_000, 0x61);
  const body = twoPartUpload(part, sawFirst);
  const res = await fetch(`${nginx.url}/upload`, { method: 'POST', body, duplex: 'half' } as RequestInit);
  t.is(res.status, 200, nginx.log());
  t.is(await res.text(), String(part.length * 2));
});

test('a large response (3 MB) arrives intact', async (t) => {
  if (!requireNginx(t)) return;
  const big = Buffer.alloc(3 * 1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
  const { nginx } = await startExampleFastCGI(t, async (_s, receive, send) => {
    await receive();
    await send({ type: 'http.response.start', status: 200 });
    for (let off = 0; off < big.length; off += 200_000) {
      await send({
        type: 'http.response.body',
        body: big.subarray(off, off + 200_000),
        moreBody: off + 200_000 < big.length,
      });
    }
  });
  const res = await fetch(`${nginx.url}/big`);
  t.true(Buffer.from(await res.arrayBuffer()).equals(big));
});

test('a client that goes away is seen by the app as http.disconnect', async (t) => {
  if (!requireNginx(t)) return;
  let started!: () => void;
  const appStarted = new Promise<void>((r) => (started = r));
  let gone!: () => void;
  const appSawDisconnect = new Promise<void>((r) => (gone = r));
  const { nginx } = await startExampleFastCGI(t, async (_s, receive) => {
    await receive();
    started();
    const m = await receive();
    if (m.type === 'http.disconnect') gone();
  });
  const socket = net.connect(nginx.port, '127.0.0.1');
  socket.on('error', () => {});
  socket.write('GET /hang HTTP/1.1\r\nHost: x\r\n\r\n');
  await appStarted;
  socket.destroy();
  await Promise.race([
    appSawDisconnect,
    new Promise((_, reject) => setTimeout(() => reject(new Error('no disconnect within 5 s')), 5000)),
  ]);
  t.pass();
});

test('an app error becomes a 500 through nginx', async (t) => {
  if (!requireNginx(t)) return;
  const { nginx } = await startExampleFastCGI(t, async () => {
    throw new Error('expected in test');
  });
  const res = await fetch(`${nginx.url}/`);
  t.is(res.status, 500);
  t.is(await res.text(), 'Internal Server Error');
});

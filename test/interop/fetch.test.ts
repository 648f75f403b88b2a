// fromFetch with a real Hono app on albany, toFetch driving gateway apps from fetch Requests (and
// mounted in Hono on @hono/node-server), and the light Response standing in for the global one.
import test from 'ava';
import { serve as honoServe } from '@hono/node-server';
import { Hono } from 'hono';
import type { AddressInfo } from 'node:net';
import type { App, HttpScope } from '../../src/gateway/types.js';
import { fromFetch, toFetch } from '../../src/interop/fetch.js';
import { LightResponse, NativeResponse } from '../../src/interop/light-response.js';
import { createHonoApp } from '../fixtures/interop/hono-app.js';
import { sleep, withAlbany } from './helpers.js';
import { readBody } from '../../src/gateway/helpers.js';

const hono = fromFetch(createHonoApp());

test('hono: text, params, query and request headers', async (t) => {
  await withAlbany(hono, async (url) => {
    const res = await fetch(`${url}/`);
    t.regex(res.headers.get('content-type')!, /^text\/plain; ?charset=UTF-8$/);
    t.is(res.headers.get('content-length'), '11');
    t.is(await res.text(), 'Hello Hono!');
    const json = await fetch(`${url}/hello/ada?q=1`, { headers: { 'user-agent': 'albany-test' } });
    t.deepEqual(await json.json(), { name: 'ada', q: '1', ua: 'albany-test' });
  });
});

test('hono: c.req.json() reads the body through receive()', async (t) => {
  await withAlbany(hono, async (url) => {
    const res = await fetch(`${url}/json`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"n":[1,2,3]}',
    });
    t.is(res.status, 201);
    t.deepEqual(await res.json(), { got: { n: [1, 2, 3] } });
  });
});

test('hono: a streamed upload is read from the Request body stream', async (t) => {
  await withAlbany(hono, async (url) => {
    const res = await fetch(`${url}/upload`, { method: 'POST', body: Buffer.alloc(2 * 1024 * 1024, 3) });
    t.deepEqual(await res.json(), { bytes: 2 * 1024 * 1024 });
  });
});

test('hono: a streaming response reaches the client chunk by chunk, not buffered', async (t) => {
  await withAlbany(hono, async (url) => {
    const res = await fetch(`${url}/stream`);
    const reader = res.body!.getReader();
    const first = await reader.read();
    const firstAt = Date.now();
    t.is(Buffer.from(first.value!).toString(), 'first;');
    let rest = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += Buffer.from(value).toString();
    }
    // The handler sleeps 200 ms between its writes: had the body been buffered, both would land
    // together (and the first read would hold both). The bound is loose because the other tests of
    // this file share the client's event loop, which can be late to read the first chunk.
    const gap = Date.now() - firstAt;
    t.true(gap >= 20, `second chunk only ${gap} ms after the first`);
    t.is(rest, 'second');
  });
});

test('hono: several set-cookie headers stay separate', async (t) => {
  await withAlbany(hono, async (url) => {
    const res = await fetch(`${url}/cookie`);
    t.deepEqual(res.headers.getSetCookie(), ['a=1', 'b=2']);
  });
});

test('light Response: instanceof, statics and body readers behave like the real one', async (t) => {
  const light = new LightResponse('hi', { status: 201, headers: { 'x-a': '1' } }) as unknown as Response;
  t.true(light instanceof NativeResponse);
  t.true(new NativeResponse('x') instanceof (LightResponse as unknown as typeof Response));
  t.is(light.status, 201);
  t.true(light.ok);
  t.is(light.headers.get('x-a'), '1');
  t.is(light.headers.get('content-type'), 'text/plain;charset=UTF-8');
  t.is(await light.text(), 'hi');
  const json = (LightResponse as unknown as typeof Response).json({ a: 1 });
  t.deepEqual(await json.json(), { a: 1 });
  t.throws(() => new LightResponse('x', { status: 99 }), { instanceOf: RangeError });
});

const echoApp: App = async (scope, receive, send) => {
  if (scope.type !== 'http') return;
  const s = scope as HttpScope;
  const body = await readBody(receive);
  if (body === null) return;
  await send({
    type: 'http.response.start',
    status: 200,
    headers: [
      ['content-type', 'text/plain'],
      ['x-path', s.path],
      ['x-root', s.rootPath],
    ],
  });
  if (s.path === '/stream') {
    for (const word of ['a', 'b', 'c']) {
      await send({ type: 'http.response.body', body: Buffer.from(word), moreBody: true });
      await sleep(30);
    }
    await send({ type: 'http.response.body', body: new Uint8Array(0) });
    return;
  }
  await send({ type: 'http.response.body', body });
};

test('toFetch: a Request drives the app; the body goes in through receive() and comes back', async (t) => {
  const handler = toFetch(echoApp);
  const res = await handler(new Request('http://example.test/echo?x=1', { method: 'POST', body: 'ping' }));
  t.is(res.status, 200);
  t.is(res.headers.get('x-path'), '/echo');
  t.is(await res.text(), 'ping');
});

test("toFetch: paths decode and unmount as on albany's own server (bad UTF-8 becomes U+FFFD)", async (t) => {
  const pathApp: App = async (scope, _receive, send) => {
    if (scope.type !== 'http') return;
    await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain; charset=utf-8']] });
    await send({ type: 'http.response.body', body: Buffer.from(JSON.stringify([scope.path, scope.rawPath])) });
  };
  const viaFetch = async (target: string, rootPath = '') =>
    (await toFetch(pathApp, { rootPath })(new Request(`http://example.test${target}`))).json();
  const viaServer = (target: string) => withAlbany(pathApp, async (url) => (await fetch(`${url}${target}`)).json());
  for (const target of ['/a%20b', '/a%FFb', '/caf%C3%A9', '/a%zzb']) {
    t.deepEqual(await viaFetch(target), await viaServer(target), target);
  }
  t.deepEqual(await viaFetch('/a%FFb'), ['/a\uFFFDb', '/a%FFb']);
  t.deepEqual(await viaFetch('/legacy/x%2Fy', '/legacy'), ['/x/y', '/legacy/x%2Fy']);
  t.deepEqual(await viaFetch('/legacy', '/legacy'), ['/', '/legacy']);
});

test('toFetch: a streamed response is a ReadableStream the consumer paces', async (t) => {
  const res = await toFetch(echoApp)(new Request('http://example.test/stream'));
  const parts: string[] = [];
  const reader = res.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(Buffer.from(value).toString());
  }
  t.deepEqual(parts.join(''), 'abc');
  t.true(parts.length >= 3);
});

test('toFetch: an app that throws before starting becomes a 500 Response', async (t) => {
  const res = await toFetch(
    async () => {
      throw new Error('nope');
    },
    { logError: () => {} },
  )(new Request('http://example.test/'));
  t.is(res.status, 500);
});

test('toFetch: a gateway app mounted in Hono on @hono/node-server sees the mount as rootPath', async (t) => {
  const outer = new Hono();
  outer.get('/', (c) => c.text('outer'));
  const inner = toFetch(echoApp, { rootPath: '/legacy' });
  outer.all('/legacy/*', (c) => inner(c.req.raw));
  const server = honoServe({ fetch: outer.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const res = await fetch(`${url}/legacy/deep/path`, { method: 'POST', body: 'through hono' });
    t.is(res.headers.get('x-path'), '/deep/path');
    t.is(res.headers.get('x-root'), '/legacy');
    t.is(await res.text(), 'through hono');
    t.is(await (await fetch(`${url}/`)).text(), 'outer');
  } finally {
    (server as unknown as { closeAllConnections(): void }).closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

test('round trip: toFetch(fromFetch(hono)) answers like hono itself', async (t) => {
  const roundTrip = toFetch(fromFetch(createHonoApp()));
  const res = await roundTrip(new Request('http://h.test/hello/bob?q=2'));
  t.deepEqual(await res.json(), { name: 'bob', q: '2', ua: null });
});

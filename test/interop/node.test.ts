// fromNodeHandler with real frameworks (Express 5, Koa 3, Connect) on albany's own server.
import test from 'ava';
import connect from 'connect';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromNodeHandler } from '../../src/interop/node.js';
import { Communicator } from '../../src/testing/communicator.js';
import { createExpressApp } from '../fixtures/interop/express-app.js';
import { createKoaApp } from '../fixtures/interop/koa-app.js';
import { rawExchange, sleep, withAlbany } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'albany-interop-'));
const download = join(dir, 'download.bin');
const downloadBytes = randomBytes(1024 * 1024 + 17);
writeFileSync(download, downloadBytes);
const expressApp = createExpressApp(download);
const app = fromNodeHandler(expressApp);

test('express: router params, query, req.ip and req.protocol come from the scope', async (t) => {
  await withAlbany(app, async (url) => {
    const res = await fetch(`${url}/api/users/42?q=x`);
    t.is(res.status, 200);
    t.regex(res.headers.get('content-type')!, /application\/json/);
    t.is(res.headers.get('x-powered-by'), 'Express');
    t.deepEqual(await res.json(), { id: '42', q: 'x', ip: '127.0.0.1', protocol: 'http', host: '127.0.0.1' });
  });
});

test('express: express.json() parses a posted body', async (t) => {
  await withAlbany(app, async (url) => {
    const res = await fetch(`${url}/api/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ a: [1, 2], b: 'ü' }),
    });
    t.is(res.status, 201);
    t.deepEqual(await res.json(), { body: { a: [1, 2], b: 'ü' }, type: 'application/json' });
  });
});

test('express: req.on("data") sees a chunked upload as it streams', async (t) => {
  await withAlbany(app, async (url) => {
    const parts = [Buffer.alloc(50_000, 1), Buffer.alloc(70_000, 2)];
    const body = new ReadableStream({
      async start(c) {
        for (const p of parts) {
          c.enqueue(p);
          await sleep(20);
        }
        c.close();
      },
    });
    const res = await fetch(`${url}/raw-count`, { method: 'POST', body, duplex: 'half' } as RequestInit);
    const got = (await res.json()) as { bytes: number; chunks: number };
    t.is(got.bytes, 120_000);
    t.true(got.chunks >= 2);
  });
});

test('express: cookie-parser reads cookies and res.cookie sets them (signed too)', async (t) => {
  await withAlbany(app, async (url) => {
    const res = await fetch(`${url}/cookies`, { headers: { cookie: 'a=1; b=two' } });
    const setCookies = res.headers.getSetCookie();
    t.is(setCookies.length, 2);
    t.regex(setCookies[0]!, /^visited=yes; Path=\/; HttpOnly$/);
    t.regex(setCookies[1]!, /^signed=s%3Av1\./);
    t.deepEqual(await res.json(), { cookies: { a: '1', b: 'two' }, signed: {} });
  });
});

test('express: res.sendFile streams a 1 MB file with its length', async (t) => {
  await withAlbany(app, async (url) => {
    const res = await fetch(`${url}/files/download`);
    t.is(res.status, 200);
    t.is(res.headers.get('content-length'), String(downloadBytes.length));
    t.truthy(res.headers.get('etag'));
    t.true(Buffer.from(await res.arrayBuffer()).equals(downloadBytes));
  });
});

test('express: a stream piped into res arrives whole, chunked', async (t) => {
  await withAlbany(app, async (url) => {
    const res = await fetch(`${url}/stream`);
    t.is(res.headers.get('transfer-encoding'), 'chunked');
    t.is(await res.text(), 'one\ntwo\nthree\n');
  });
});

test('express: the error handler and the default 404 answer', async (t) => {
  await withAlbany(app, async (url) => {
    const boom = await fetch(`${url}/api/boom`);
    t.is(boom.status, 500);
    t.deepEqual(await boom.json(), { error: 'route failed' });
    const missing = await fetch(`${url}/nowhere`);
    t.is(missing.status, 404);
    t.regex(await missing.text(), /Cannot GET \/nowhere/);
  });
});

test('express: redirect and HEAD keep node semantics (no body on HEAD)', async (t) => {
  await withAlbany(app, async (url, server) => {
    const r = await fetch(`${url}/redirect`, { redirect: 'manual' });
    t.is(r.status, 302);
    t.is(r.headers.get('location'), '/api/users/1');
    const raw = await rawExchange(server.port, 'HEAD /head HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    t.regex(raw, /^HTTP\/1\.1 200/);
    t.regex(raw, /x-head: 1/i);
    t.false(raw.includes('body that HEAD'));
  });
});

test('express: a client that leaves makes res emit close before finishing', async (t) => {
  await withAlbany(app, async (_url, server) => {
    expressApp.locals.closedEarly = undefined;
    await rawExchange(server.port, 'GET /slow HTTP/1.1\r\nHost: x\r\n\r\n', 200);
    for (let i = 0; i < 50 && expressApp.locals.closedEarly === undefined; i++) await sleep(20);
    t.is(expressApp.locals.closedEarly, true);
    t.true(expressApp.locals.reqClosed);
  });
});

test('koa with @koa/bodyparser: JSON body, ctx.ip, streamed body and ctx.throw', async (t) => {
  const koa = fromNodeHandler(createKoaApp().callback());
  await withAlbany(koa, async (url) => {
    const res = await fetch(`${url}/json`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"k":"v"}',
    });
    t.deepEqual(await res.json(), { got: { k: 'v' }, secure: false, ip: '127.0.0.1' });
    const hello = await fetch(`${url}/x`);
    t.is(hello.headers.get('x-koa'), '3');
    t.is(await hello.text(), 'hello from koa at /x');
    t.is(await (await fetch(`${url}/stream`)).text(), 'abc');
    const teapot = await fetch(`${url}/throw`);
    t.is(teapot.status, 418);
  });
});

test('connect: a plain middleware chain with res.writeHead/res.end', async (t) => {
  const c = connect();
  c.use('/hi', (req: http.IncomingMessage, res: http.ServerResponse) => {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'X-Url': req.url! });
    res.end('hi');
  });
  await withAlbany(fromNodeHandler(c), async (url) => {
    const res = await fetch(`${url}/hi/there`);
    t.is(res.headers.get('x-url'), '/there');
    t.is(await res.text(), 'hi');
  });
});

test('writes turn into body messages with backpressure; the last chunk carries moreBody: false', async (t) => {
  const handler = (_req: http.IncomingMessage, res: http.ServerResponse) => {
    res.setHeader('content-type', 'text/plain');
    res.write('a');
    res.write('b');
    res.end('c');
  };
  const c = new Communicator(fromNodeHandler(handler), {
    type: 'http',
    albany: { version: '1.0', specVersion: '1.0' },
    httpVersion: '1.1',
    method: 'GET',
    scheme: 'http',
    path: '/',
    rawPath: '/',
    queryString: '',
    rootPath: '',
    headers: [['host', 'x']],
    client: null,
    server: null,
    state: {},
  });
  const start = await c.output();
  t.like(start, { type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
  const bodies: Array<[string, boolean]> = [];
  for (let i = 0; i < 3; i++) {
    const m = (await c.output()) as { body: Uint8Array; moreBody: boolean };
    bodies.push([Buffer.from(m.body).toString(), m.moreBody]);
  }
  t.deepEqual(bodies, [
    ['a', true],
    ['b', true],
    ['c', false],
  ]);
  await c.done;
});

test('a handler that throws synchronously fails the app (→ 500 from the host)', async (t) => {
  const bad = fromNodeHandler(() => {
    throw new Error('sync boom');
  });
  await withAlbany(bad, async (url) => {
    t.is((await fetch(url)).status, 500);
  });
});

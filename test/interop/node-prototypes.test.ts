// fromNodeHandler builds an Express app's req and res with the app's own prototypes (app.request,
// app.response), so Express's per-request setPrototypeOf finds them already set. These tests hold what
// the handler can observe: the prototypes, a replaced app.request, node's own classes for other handlers,
// and Express 4 and 5 behaving as before (body reading included).
import test from 'ava';
import express from 'express';
// @ts-expect-error express4 is Express 4 installed under another name; it has no type declarations.
import express4 from 'express4';
import { IncomingMessage, ServerResponse } from 'node:http';
import { fromNodeHandler } from '../../src/interop/node.js';
import { withAlbany } from './helpers.js';

test('an Express 5 app gets req/res that inherit from app.request/app.response before its handle runs', async (t) => {
  const app = express();
  const seen: boolean[] = [];
  app.post('/echo', express.text(), (req, res) => {
    res.json({ body: req.body, query: req.query, ip: req.ip });
  });
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    seen.push(Object.getPrototypeOf(req) === app.request, Object.getPrototypeOf(res) === app.response);
    seen.push(req instanceof IncomingMessage, res instanceof ServerResponse);
    app(req, res);
  };
  // The wrapper carries the app's prototypes, as the app itself does.
  Object.assign(handler, { request: app.request, response: app.response });
  await withAlbany(fromNodeHandler(handler), async (url) => {
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${url}/echo?n=${i}`, {
        method: 'POST',
        body: `hello ${i}`,
        headers: { 'content-type': 'text/plain' },
      });
      t.is(res.status, 200);
      t.deepEqual(await res.json(), { body: `hello ${i}`, query: { n: String(i) }, ip: '127.0.0.1' });
    }
  });
  t.deepEqual(seen, Array(12).fill(true));
});

test('a replaced app.request is used from the next request on', async (t) => {
  const app = express();
  app.get('/', (req, res) => {
    res.send(String((req as unknown as { marker?: string }).marker));
  });
  await withAlbany(fromNodeHandler(app), async (url) => {
    t.is(await (await fetch(url)).text(), 'undefined');
    app.request = Object.create(app.request, { marker: { value: 'replaced' } });
    t.is(await (await fetch(url)).text(), 'replaced');
  });
});

test('a handler without Express prototypes gets node IncomingMessage and ServerResponse objects', async (t) => {
  const protos: unknown[] = [];
  const handler = Object.assign(
    (req: IncomingMessage, res: ServerResponse) => {
      protos.push(Object.getPrototypeOf(req), Object.getPrototypeOf(res));
      res.end('ok');
    },
    // Not derived from node's classes: ignored.
    { request: { not: 'a request' }, response: null },
  );
  await withAlbany(fromNodeHandler(handler), async (url) => {
    t.is(await (await fetch(url)).text(), 'ok');
  });
  t.deepEqual(protos, [IncomingMessage.prototype, ServerResponse.prototype]);
});

test('Express 4: routing, body parsing and res.send behave as before', async (t) => {
  const e4 = express4 as typeof express;
  const app = e4();
  app.use(e4.json());
  app.post('/items/:id', (req, res) => {
    res.status(201).set('x-id', req.params.id).json({ id: req.params.id, body: req.body, path: req.path });
  });
  await withAlbany(fromNodeHandler(app), async (url) => {
    const res = await fetch(`${url}/items/7`, {
      method: 'POST',
      body: JSON.stringify({ a: 1 }),
      headers: { 'content-type': 'application/json' },
    });
    t.is(res.status, 201);
    t.is(res.headers.get('x-id'), '7');
    t.is(res.headers.get('x-powered-by'), 'Express');
    t.deepEqual(await res.json(), { id: '7', body: { a: 1 }, path: '/items/7' });
  });
});

// Real Express and Koa apps through fromNodeHandler on albany answer with the status line and
// framing node:http gives them: custom reason phrases (`res.statusMessage`, `ctx.message`),
// statuses past 599, Koa's 205 and its HEAD answers for stream bodies. Each app runs on a plain
// node:http server too, and the raw responses are compared.
import test from 'ava';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import express from 'express';
import Koa from 'koa';
import { fromNodeHandler, type NodeHandler } from '../../src/interop/node.js';
import { rawExchange, withAlbany } from './helpers.js';

/**
 * The raw response with header names in lower case (albany sends them so) and without the lines
 * that differ for reasons of their own (Date, Connection, Keep-Alive). The status line is kept
 * exactly: the reason phrase's case is part of what is compared.
 */
function normalized(raw: string): string {
  const lineEnd = raw.indexOf('\r\n');
  const headEnd = raw.indexOf('\r\n\r\n');
  if (lineEnd === -1 || headEnd === -1) return raw;
  const fields = raw
    .slice(lineEnd, headEnd)
    .split('\r\n')
    .filter((l) => l !== '')
    .map((l) => {
      const colon = l.indexOf(':');
      return `${l.slice(0, colon).toLowerCase()}${l.slice(colon)}`;
    })
    .filter((l) => !/^(date|connection|keep-alive):/.test(l));
  return [raw.slice(0, lineEnd), ...fields].join('\r\n') + raw.slice(headEnd);
}

/** What node:http itself answers `request` with when running `handler`. */
async function onNode(handler: NodeHandler, request: string): Promise<string> {
  const server = http.createServer(handler as http.RequestListener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return normalized(await rawExchange((server.address() as AddressInfo).port, request));
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** What albany answers `request` with when running `handler` through fromNodeHandler. */
function onAlbany(handler: NodeHandler, request: string): Promise<string> {
  return withAlbany(fromNodeHandler(handler), async (_url, server) =>
    normalized(await rawExchange(server.port, request)),
  );
}

const ask = (method: string, path: string) => `${method} ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`;

function expressApp(): NodeHandler {
  const app = express();
  app.get('/status-message', (_req, res) => {
    res.statusMessage = 'ok';
    res.send('sent');
  });
  app.get('/write-head', (_req, res) => {
    res.writeHead(299, 'Custom Thing', { 'content-type': 'text/plain' });
    res.end('custom');
  });
  app.get('/600', (_req, res) => {
    res.status(600).send('six hundred');
  });
  app.get('/205', (_req, res) => {
    res.status(205).send('dropped by express');
  });
  return app as unknown as NodeHandler;
}

function koaApp(): NodeHandler {
  const app = new Koa();
  app.use(async (ctx) => {
    switch (ctx.path) {
      case '/message':
        ctx.body = 'hello';
        ctx.message = 'ok';
        break;
      case '/600':
        ctx.status = 600;
        ctx.body = 'six hundred';
        break;
      case '/205':
        // Koa's own test: content headers are stripped for 205, and nothing is sent.
        ctx.body = { foo: 'bar' };
        ctx.set('Content-Type', 'application/json; charset=utf-8');
        ctx.set('Content-Length', '15');
        ctx.set('Transfer-Encoding', 'chunked');
        ctx.status = 205;
        break;
      case '/stream':
        ctx.body = Readable.from([Buffer.from('str'), Buffer.from('eam')]);
        break;
      case '/stream-with-length':
        ctx.body = Readable.from([Buffer.from('str'), Buffer.from('eam')]);
        ctx.length = 6;
        break;
      case '/text':
        ctx.body = 'hello';
        break;
      case '/string-then-stream':
        // Koa strips the string's content-length when a stream replaces it: node then frames the
        // one-chunk stream chunked, and albany must not size it either.
        ctx.body = 'hello';
        ctx.body = Readable.from([Buffer.from('one')]);
        break;
      default:
        ctx.status = 404;
    }
  });
  return app.callback() as unknown as NodeHandler;
}

const expressCases: Array<[string, string]> = [
  ['GET', '/status-message'],
  ['GET', '/600'],
  ['GET', '/205'],
  ['HEAD', '/status-message'],
];
const koaCases: Array<[string, string]> = [
  ['GET', '/message'],
  ['GET', '/600'],
  ['GET', '/stream'],
  ['HEAD', '/stream'],
  ['HEAD', '/stream-with-length'],
  ['GET', '/stream-with-length'],
  ['HEAD', '/text'],
  ['HEAD', '/message'],
  ['GET', '/string-then-stream'],
];

test('Express 5 through fromNodeHandler: reason phrases, 600 and 205 come out as on node:http', async (t) => {
  const app = expressApp();
  for (const [method, path] of expressCases) {
    t.is(await onAlbany(app, ask(method, path)), await onNode(app, ask(method, path)), `${method} ${path}`);
  }
  t.true((await onAlbany(app, ask('GET', '/status-message'))).startsWith('HTTP/1.1 200 ok\r\n'));
  // writeHead() then end(body): node had to frame before it saw the body (chunked); albany sizes it. Same status line.
  const written = await onAlbany(app, ask('GET', '/write-head'));
  t.true(written.startsWith('HTTP/1.1 299 Custom Thing\r\n'), written);
  t.true(written.endsWith('\r\n\r\ncustom'), written);
  t.true((await onAlbany(app, ask('GET', '/600'))).startsWith('HTTP/1.1 600 unknown\r\n'));
});

test('Koa 3 through fromNodeHandler: ctx.message, 600, 205 and HEAD with stream bodies come out as on node:http', async (t) => {
  const app = koaApp();
  for (const [method, path] of koaCases) {
    t.is(await onAlbany(app, ask(method, path)), await onNode(app, ask(method, path)), `${method} ${path}`);
  }
  const head = await onAlbany(app, ask('HEAD', '/stream'));
  t.false(/content-length/i.test(head), head);
  // 205: Koa strips content-type, content-length and transfer-encoding and sends nothing. node then
  // frames by closing the connection; albany ends an empty chunked body instead (the connection
  // may live on). What Koa's own test checks holds on both: no content headers, no content.
  for (const raw of [await onAlbany(app, ask('GET', '/205')), await onNode(app, ask('GET', '/205'))]) {
    t.true(raw.startsWith('HTTP/1.1 205 Reset Content\r\n'), raw);
    t.false(/\r\n(content-type|content-length|content-encoding):/i.test(raw), raw);
  }
  const res = await withAlbany(fromNodeHandler(app), async (url) =>
    fetch(`${url}/205`).then(async (r) => [r.status, await r.text()]),
  );
  t.deepEqual(res, [205, '']);
});

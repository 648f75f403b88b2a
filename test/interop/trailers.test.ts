// Response trailers across the interop bridges: res.addTrailers() under fromNodeHandler, and a
// gateway app's http.response.trailers under toNodeHandler, as real HTTP/1.1 trailers.
import test from 'ava';
import express from 'express';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { App, SendMessage } from '../../src/gateway/types.js';
import { fromNodeHandler, toNodeHandler, type NodeHandler } from '../../src/interop/node.js';
import { Communicator, httpScope } from '../../src/testing/communicator.js';
import { withAlbany } from './helpers.js';

interface Received {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  trailers: NodeJS.Dict<string>;
  rawTrailers: string[];
}

/** GETs `url` with node's client, which exposes trailers once the body has ended. */
function get(url: string, method = 'GET'): Promise<Received> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          headers: res.headers,
          body: Buffer.concat(chunks),
          trailers: res.trailers,
          rawTrailers: res.rawTrailers,
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const md5 = (data: string) => createHash('md5').update(data).digest('hex');

/** Runs `handler` through fromNodeHandler in-process and returns every message it sent. */
async function messages(handler: NodeHandler): Promise<SendMessage[]> {
  const c = new Communicator(fromNodeHandler(handler), httpScope({ path: '/' }));
  c.input({ type: 'http.request', body: new Uint8Array(0), moreBody: false });
  const out: SendMessage[] = [];
  for (;;) {
    try {
      out.push(await c.output(1000));
    } catch {
      break;
    }
  }
  await c.done;
  return out;
}

const expressApp = express();
expressApp.get('/stream', (_req, res) => {
  res.setHeader('Content-Type', 'text/plain');
  res.setHeader('Trailer', 'X-Checksum, X-Part');
  res.write('hello ');
  res.write('world');
  res.addTrailers({ 'X-Checksum': md5('hello world'), 'X-Part': ['a', 'b'] });
  res.end();
});
expressApp.get('/one', (_req, res) => {
  // One res.end(body): without trailers this would be sent with a content-length.
  res.writeHead(200, { 'Content-Type': 'text/plain', Trailer: 'X-Checksum' });
  res.addTrailers({ 'X-Checksum': md5('single') });
  res.end('single');
});
expressApp.get('/undeclared', (_req, res) => {
  res.addTrailers({ 'X-Checksum': 'dropped' });
  res.end('no trailer header');
});

test('fromNodeHandler: Express res.addTrailers after streamed writes reach an http client as chunked trailers', async (t) => {
  await withAlbany(fromNodeHandler(expressApp), async (url) => {
    const res = await get(`${url}/stream`);
    t.is(res.status, 200);
    t.is(res.headers['transfer-encoding'], 'chunked');
    t.is(res.headers['content-length'], undefined);
    t.is(res.headers['trailer'], 'X-Checksum, X-Part');
    t.is(res.body.toString(), 'hello world');
    t.is(res.trailers['x-checksum'], md5('hello world'));
    t.deepEqual(res.rawTrailers, ['x-checksum', md5('hello world'), 'x-part', 'a', 'x-part', 'b']);
  });
});

test('fromNodeHandler: writeHead with Trailer then a one-chunk res.end(body) goes chunked with its trailers', async (t) => {
  await withAlbany(fromNodeHandler(expressApp), async (url) => {
    const res = await get(`${url}/one`);
    t.is(res.status, 200);
    t.is(res.headers['transfer-encoding'], 'chunked');
    t.is(res.headers['content-length'], undefined);
    t.is(res.body.toString(), 'single');
    t.deepEqual(res.trailers, { 'x-checksum': md5('single') });
  });
});

test('fromNodeHandler: addTrailers without a Trailer header are dropped and the body keeps its content-length', async (t) => {
  await withAlbany(fromNodeHandler(expressApp), async (url) => {
    const res = await get(`${url}/undeclared`);
    t.is(res.headers['content-length'], String('no trailer header'.length));
    t.is(res.body.toString(), 'no trailer header');
    t.deepEqual(res.trailers, {});
  });
});

test('fromNodeHandler: a declared Trailer sends start with trailers: true, the body, then the trailer pairs', async (t) => {
  const sent = await messages((_req, res) => {
    res.setHeader('Trailer', 'X-Checksum');
    res.write('a');
    res.write('b');
    res.addTrailers({ 'X-Checksum': 'abc', 'X-Part': ['1', '2'] });
    res.end('c');
  });
  t.deepEqual(
    sent.map((m) => ({ ...m, ...('body' in m ? { body: Buffer.from(m.body!).toString() } : {}) })),
    [
      { type: 'http.response.start', status: 200, headers: [['trailer', 'X-Checksum']], trailers: true },
      { type: 'http.response.body', body: 'a', moreBody: true },
      { type: 'http.response.body', body: 'b', moreBody: true },
      { type: 'http.response.body', body: 'c', moreBody: false },
      {
        type: 'http.response.trailers',
        headers: [
          ['x-checksum', 'abc'],
          ['x-part', '1'],
          ['x-part', '2'],
        ],
        moreTrailers: false,
      },
    ],
  );
});

test('fromNodeHandler: a declared Trailer without addTrailers still ends with an empty trailers message', async (t) => {
  const sent = await messages((_req, res) => {
    res.writeHead(200, { Trailer: 'X-Checksum' });
    res.end('body');
  });
  t.deepEqual(
    sent.map((m) => m.type),
    ['http.response.start', 'http.response.body', 'http.response.trailers'],
  );
  t.is((sent[0] as { trailers?: boolean }).trailers, true);
  t.deepEqual(sent[2], { type: 'http.response.trailers', headers: [], moreTrailers: false });
});

test('fromNodeHandler: res "finish" waits until the trailers are handed over', async (t) => {
  const order: string[] = [];
  const c = new Communicator(
    fromNodeHandler((_req, res) => {
      res.setHeader('Trailer', 'X-Checksum');
      res.on('finish', () => order.push('finish'));
      res.addTrailers({ 'X-Checksum': 'abc' });
      res.end('body');
    }),
    httpScope(),
  );
  c.input({ type: 'http.request', body: new Uint8Array(0), moreBody: false });
  for (let i = 0; i < 3; i++) order.push((await c.output()).type);
  await c.done;
  t.deepEqual(order, ['http.response.start', 'http.response.body', 'http.response.trailers', 'finish']);
});

test('fromNodeHandler: a Trailer header with a content-length throws ERR_HTTP_TRAILER_INVALID, as on node:http', async (t) => {
  // What node's own socket-backed response does with the same call.
  const plain = new http.ServerResponse(new http.IncomingMessage(null as never));
  const nodeError = t.throws(() => plain.writeHead(200, { Trailer: 'X-Checksum', 'Content-Length': '4' }));
  let bridged: unknown;
  const sent = await messages((_req, res) => {
    try {
      res.writeHead(200, { Trailer: 'X-Checksum', 'Content-Length': '4' });
    } catch (error) {
      bridged = error;
      res.writeHead(500, { 'Content-Length': '0' });
    }
    res.end();
  });
  t.is((nodeError as NodeJS.ErrnoException).code, 'ERR_HTTP_TRAILER_INVALID');
  t.is((bridged as NodeJS.ErrnoException | undefined)?.code, 'ERR_HTTP_TRAILER_INVALID');
  t.is((sent[0] as { status: number }).status, 500);
});

test("toNodeHandler: a gateway app's http.response.trailers come out of Express as HTTP trailers", async (t) => {
  const gateway: App = async (scope, _receive, send) => {
    if (scope.type !== 'http') return;
    await send({
      type: 'http.response.start',
      status: 200,
      headers: [
        ['content-type', 'text/plain'],
        ['trailer', 'x-checksum'],
      ],
      trailers: true,
    });
    await send({ type: 'http.response.body', body: Buffer.from('gateway '), moreBody: true });
    await send({ type: 'http.response.body', body: Buffer.from('body'), moreBody: false });
    await send({
      type: 'http.response.trailers',
      headers: [
        ['x-checksum', md5('gateway body')],
        ['x-part', 'a'],
      ],
      moreTrailers: true,
    });
    await send({ type: 'http.response.trailers', headers: [['x-part', 'b']] });
  };
  const app = express();
  app.use('/gw', toNodeHandler(gateway));
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const res = await get(`http://127.0.0.1:${(server.address() as AddressInfo).port}/gw/x`);
    t.is(res.status, 200);
    t.is(res.headers['transfer-encoding'], 'chunked');
    t.is(res.headers['content-length'], undefined);
    t.is(res.body.toString(), 'gateway body');
    t.is(res.trailers['x-checksum'], md5('gateway body'));
    t.deepEqual(res.rawTrailers, ['x-checksum', md5('gateway body'), 'x-part', 'a', 'x-part', 'b']);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

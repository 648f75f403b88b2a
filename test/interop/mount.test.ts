// Gateway apps mounted inside Express and Fastify with toNodeHandler / fastifyPlugin.
import test from 'ava';
import express from 'express';
import Fastify from 'fastify';
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { App, HttpScope } from '../../src/gateway/types.js';
import { fastifyPlugin, toNodeHandler } from '../../src/interop/node.js';

/** Echoes what it saw: rootPath, path, method, the streamed body size and the chunk count. */
const inspectApp: App = async (scope, receive, send) => {
  if (scope.type !== 'http') return;
  const s = scope as HttpScope;
  let bytes = 0;
  let chunks = 0;
  for (;;) {
    const m = await receive();
    if (m.type !== 'http.request') break;
    bytes += m.body.length;
    if (m.body.length) chunks++;
    if (!m.moreBody) break;
  }
  if (s.path === '/fail') throw new Error('gateway app failed');
  const body = Buffer.from(
    JSON.stringify({ rootPath: s.rootPath, path: s.path, query: s.queryString, method: s.method, bytes, chunks }),
  );
  await send({
    type: 'http.response.start',
    status: 200,
    headers: [
      ['content-type', 'application/json'],
      ['x-gateway', '1'],
    ],
  });
  await send({ type: 'http.response.body', body });
};

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test('express: app.use("/legacy", toNodeHandler(app)) maps the mount to rootPath and streams the body', async (t) => {
  const app = express();
  const errors: string[] = [];
  app.use('/legacy', toNodeHandler(inspectApp));
  app.get('/', (_req, res) => res.send('express root'));
  app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    errors.push(err.message);
    res.status(502).send('handled by express');
  });
  const server = http.createServer(app);
  const url = await listen(server);
  try {
    const get = await fetch(`${url}/legacy/items/7?x=1`);
    t.is(get.headers.get('x-gateway'), '1');
    t.deepEqual(await get.json(), {
      rootPath: '/legacy',
      path: '/items/7',
      query: 'x=1',
      method: 'GET',
      bytes: 0,
      chunks: 0,
    });
    const post = await fetch(`${url}/legacy/up`, { method: 'POST', body: Buffer.alloc(300_000, 7) });
    t.like(await post.json(), { path: '/up', method: 'POST', bytes: 300_000 });
    t.is(await (await fetch(`${url}/`)).text(), 'express root');
    const failed = await fetch(`${url}/legacy/fail`);
    t.is(failed.status, 502);
    t.deepEqual(errors, ['gateway app failed']);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

test('fastify: register(fastifyPlugin(app), { prefix: "/legacy" }) serves every method under the prefix', async (t) => {
  const fastify = Fastify();
  fastify.get('/', async () => ({ fastify: true }));
  await fastify.register(fastifyPlugin(inspectApp) as never, { prefix: '/legacy' });
  const url = await fastify.listen({ port: 0, host: '127.0.0.1' });
  try {
    const get = await fetch(`${url}/legacy/a/b?y=2`);
    t.deepEqual(await get.json(), {
      rootPath: '/legacy',
      path: '/a/b',
      query: 'y=2',
      method: 'GET',
      bytes: 0,
      chunks: 0,
    });
    const post = await fetch(`${url}/legacy/json`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ big: 'x'.repeat(100_000) }),
    });
    t.like(await post.json(), { method: 'POST', path: '/json', bytes: 100_010 });
    const put = await fetch(`${url}/legacy`, { method: 'PUT', body: 'abc' });
    t.like(await put.json(), { method: 'PUT', path: '/', bytes: 3 });
    t.deepEqual(await (await fetch(`${url}/`)).json(), { fastify: true });
  } finally {
    await fastify.close();
  }
});

const legacyIndex = fileURLToPath(new URL('../../legacy-adapter/index.ts', import.meta.url));
const legacyFixture = new URL('../fixtures/legacy/wsgi-echo.ts', import.meta.url);

test('a real legacy pool mounted under /legacy in Express and in Fastify', async (t) => {
  if (!existsSync(legacyIndex) || !existsSync(fileURLToPath(legacyFixture))) {
    t.pass('legacy adapter not present');
    return;
  }
  const { legacy } = (await import('../../legacy-adapter/index.js')) as typeof import('../../legacy-adapter/index.js');
  const pooled = legacy(legacyFixture, { pool: { maxThreads: 1, minThreads: 1 }, log: () => {} });
  const app = express();
  app.use('/legacy', toNodeHandler(pooled));
  const server = http.createServer(app);
  const url = await listen(server);
  const fastify = Fastify();
  await fastify.register(fastifyPlugin(pooled) as never, { prefix: '/legacy' });
  const furl = await fastify.listen({ port: 0, host: '127.0.0.1' });
  try {
    for (const base of [url, furl]) {
      const res = await fetch(`${base}/legacy/wsgi/path?z=9`, { method: 'POST', body: 'from the client' });
      t.is(res.status, 200);
      const got = (await res.json()) as { environ: Record<string, string>; body: string };
      t.is(got.body, 'from the client');
      t.is(got.environ.SCRIPT_NAME, '/legacy');
      t.is(got.environ.PATH_INFO, '/wsgi/path');
      t.is(got.environ.QUERY_STRING, 'z=9');
    }
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await fastify.close();
    await pooled.close();
  }
});

// mount() over real sockets: a real Express app (fromNodeHandler), a legacy WSGI and plain module in
// worker pools, a gateway app at "/", websocket pass-through with the `ws` client, and the lifespan
// fan-out as the real server drives it; the rootPath arithmetic of nested mounts with the Communicator.
import test from 'ava';
import express from 'express';
import { WebSocket } from 'ws';
import { legacy } from '../../legacy-adapter/index.js';
import { AlbanyError } from '../../src/errors.js';
import type { App, HttpScope, LifespanScope, WebSocketReceiveEvent } from '../../src/gateway/types.js';
import { fromNodeHandler } from '../../src/interop/node.js';
import { mount } from '../../src/routing/mount.js';
import { serve } from '../../src/server/http.js';
import { collectResponse, Communicator, httpRequest, httpScope } from '../../src/testing/communicator.js';
import { delay, rawRequest, parseRaw, sendText, startServer } from '../helpers/server.js';

const fixture = (name: string) => new URL(`../fixtures/legacy/${name}`, import.meta.url);

/** A gateway app that answers with what it saw. */
function inspector(name: string): App {
  return async (scope, _receive, send) => {
    if (scope.type !== 'http') throw new Error(`${name} got ${scope.type}`);
    await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'application/json']] });
    await send({
      type: 'http.response.body',
      body: Buffer.from(
        JSON.stringify({
          app: name,
          rootPath: scope.rootPath,
          path: scope.path,
          rawPath: scope.rawPath,
          query: scope.queryString,
        }),
      ),
    });
  };
}

/** A real Express 5 app: it reports what Express itself made of the request. */
function expressApp() {
  const app = express();
  app.use(express.json());
  app.get('/', (req, res) => res.json({ express: 'root', url: req.url }));
  app.get('/users/:id', (req, res) =>
    res.json({ id: req.params.id, url: req.url, path: req.path, q: req.query.q ?? null }),
  );
  app.post('/echo', (req, res) => res.status(201).json({ got: req.body }));
  return app;
}

test.serial(
  'Express at /api, a legacy WSGI module at /legacy, a plain module at /legacy/plain and a gateway app at / share one server',
  async (t) => {
    const wsgi = legacy(fixture('wsgi-echo.ts'), { pool: { maxThreads: 1 } });
    const plain = legacy(fixture('plain.ts'), { pool: { maxThreads: 1 } });
    const app = mount({
      '/legacy': wsgi,
      '/api': fromNodeHandler(expressApp()),
      '/legacy/plain': plain,
      '/': inspector('gateway'),
    });
    const server = await startServer(t, app, { lifespan: 'on' });
    const url = server.url;

    const user = await fetch(`${url}/api/users/7?q=x`);
    t.is(user.status, 200);
    t.deepEqual(await user.json(), { id: '7', url: '/users/7?q=x', path: '/users/7', q: 'x' });
    const posted = await fetch(`${url}/api/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ a: 1 }),
    });
    t.is(posted.status, 201);
    t.deepEqual(await posted.json(), { got: { a: 1 } });
    t.deepEqual(
      await (await fetch(`${url}/api`)).json(),
      { express: 'root', url: '/' },
      'the mount point itself is "/" to Express',
    );
    t.deepEqual(
      await (await fetch(`${url}/api/`)).json(),
      { express: 'root', url: '/' },
      'and so is the mount point with a trailing slash',
    );

    const w = (await (await fetch(`${url}/legacy/items/a%20b?x=1`)).json()) as { environ: Record<string, string> };
    t.is(w.environ.SCRIPT_NAME, '/legacy');
    t.is(w.environ.PATH_INFO, '/items/a b');
    t.is(w.environ.QUERY_STRING, 'x=1');

    // The longest prefix wins: /legacy/plain is not the WSGI app's /plain.
    const p = await fetch(`${url}/legacy/plain/thing?a=1`, { method: 'POST', body: 'payload' });
    t.is(p.status, 201);
    t.is(await p.text(), 'POST /thing?a=1 payload');

    // Whole segments only: /apiary and /legacyx are the gateway app's, unchanged.
    t.deepEqual(await (await fetch(`${url}/apiary`)).json(), {
      app: 'gateway',
      rootPath: '',
      path: '/apiary',
      rawPath: '/apiary',
      query: '',
    });
    t.deepEqual(await (await fetch(`${url}/legacyx/y`)).json(), {
      app: 'gateway',
      rootPath: '',
      path: '/legacyx/y',
      rawPath: '/legacyx/y',
      query: '',
    });
    t.deepEqual(await (await fetch(`${url}/`)).json(), {
      app: 'gateway',
      rootPath: '',
      path: '/',
      rawPath: '/',
      query: '',
    });
    await server.close();
    // Lifespan shutdown reached the legacy mounts, which closed the pools they own: a request run
    // on one directly now is refused.
    const c = new Communicator(wsgi, httpScope({ path: '/late' }));
    c.input({ type: 'http.request', body: new Uint8Array(0), moreBody: false });
    t.is((await collectResponse(c)).status, 503);
  },
);

test.serial(
  'percent-encoded paths match on the decoded path and every style sees the path below the mount',
  async (t) => {
    const plain = legacy(fixture('plain.ts'), { pool: { maxThreads: 1 } });
    const app = mount({ '/api': fromNodeHandler(expressApp()), '/legacy': plain, '/caf\u00e9': inspector('cafe') });
    const server = await startServer(t, app, { lifespan: 'on' });
    const url = server.url;
    // "/ap%69" is "/api": Express gets the raw path below it.
    t.deepEqual(await (await fetch(`${url}/ap%69/users/%37`)).json(), {
      id: '7',
      url: '/users/%37',
      path: '/users/%37',
      q: null,
    });
    const legacyText = await (await fetch(`${url}/leg%61cy/a%20b`, { method: 'POST', body: 'x' })).text();
    t.is(legacyText, 'POST /a%20b x');
    t.deepEqual(await (await fetch(`${url}/caf%C3%A9/menu`)).json(), {
      app: 'cafe',
      rootPath: '/caf\u00e9',
      path: '/menu',
      rawPath: '/caf%C3%A9/menu',
      query: '',
    });
    // No "/" route: a path nothing owns is a 404, and /apiary is not /api.
    const miss = await fetch(`${url}/apiary`);
    t.is(miss.status, 404);
    t.is(await miss.text(), 'Not Found');
    await server.close();
  },
);

test.serial(
  'a WSGI module typed with the exported WsgiApp/WsgiEnviron types gets the environ they describe, mounted',
  async (t) => {
    const typed = legacy(fixture('typed-wsgi.ts'), { pool: { maxThreads: 1 } });
    const server = await startServer(t, mount({ '/wsgi': typed }), { lifespan: 'on' });
    const res = await fetch(`${server.url}/wsgi/a/b?z=1`, {
      method: 'POST',
      headers: { 'x-test': 'yes', 'content-type': 'text/plain' },
      body: 'line one\nline two',
    });
    t.deepEqual(await res.json(), {
      script: '/wsgi',
      pathInfo: '/a/b',
      query: 'z=1',
      header: 'yes',
      contentType: 'text/plain',
      multithread: true,
      version: [1, 0],
      firstLine: 'line one\n',
    });
  },
);

test('nested mounts add up rootPath; an existing rootPath (from --root-path) is extended', async (t) => {
  const app = mount({ '/outer': mount({ '/inner': inspector('deep'), '/': inspector('outer-root') }) });
  // What the server makes of `/base/outer/…` with rootPath "/base": the scope mount() receives.
  const get = async (path: string, queryString = '') => {
    const res = await httpRequest(app, { rootPath: '/base', path, rawPath: `/base${path}`, queryString });
    return res.status === 200 ? JSON.parse(res.body.toString()) : res.status;
  };
  t.deepEqual(await get('/outer/inner/x', 'y=1'), {
    app: 'deep',
    rootPath: '/base/outer/inner',
    path: '/x',
    rawPath: '/base/outer/inner/x',
    query: 'y=1',
  });
  t.deepEqual(await get('/outer/innerx'), {
    app: 'outer-root',
    rootPath: '/base/outer',
    path: '/innerx',
    rawPath: '/base/outer/innerx',
    query: '',
  });
  t.deepEqual(await get('/outer'), {
    app: 'outer-root',
    rootPath: '/base/outer',
    path: '/',
    rawPath: '/base/outer',
    query: '',
  });
  t.is(await get('/elsewhere'), 404);
});

test('websocket scopes pass through to the mounted app with rootPath set; an unmatched upgrade is refused', async (t) => {
  const chat: App = async (scope, receive, send) => {
    if (scope.type !== 'websocket') return sendText(send, 'not a websocket', 426);
    await receive();
    await send({ type: 'websocket.accept', subprotocol: scope.subprotocols[0] ?? null });
    await send({ type: 'websocket.send', text: JSON.stringify({ rootPath: scope.rootPath, path: scope.path }) });
    for (;;) {
      const m = (await receive()) as WebSocketReceiveEvent | { type: 'websocket.disconnect' };
      if (m.type !== 'websocket.receive') return;
      await send({ type: 'websocket.send', text: `echo ${m.text ?? ''}` });
    }
  };
  const server = await startServer(t, mount({ '/ws': chat, '/api': inspector('api') }));
  const wsUrl = server.url.replace('http:', 'ws:');
  const ws = new WebSocket(`${wsUrl}/ws/room/1`, ['chat']);
  const messages: string[] = [];
  const got = (n: number) =>
    new Promise<void>((resolve) => {
      const check = () => (messages.length >= n ? resolve() : undefined);
      ws.on('message', (data: Buffer) => {
        messages.push(data.toString());
        check();
      });
    });
  const first = got(1);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  t.is(ws.protocol, 'chat');
  await first;
  t.deepEqual(JSON.parse(messages[0]!), { rootPath: '/ws', path: '/room/1' });
  const second = got(2);
  ws.send('hi');
  await second;
  t.is(messages[1], 'echo hi');
  ws.close();

  const refused = new WebSocket(`${wsUrl}/nowhere`);
  refused.on('error', () => {});
  const status = await new Promise<number>((resolve) =>
    refused.once('unexpected-response', (_req, res) => resolve(res.statusCode!)),
  );
  refused.terminate();
  t.is(status, 403);
});

/** A lifespan-aware app that records its events into `log` and stores `key` in the state. */
function lifespanApp(
  name: string,
  log: string[],
  opts: { startupMs?: number; fail?: string; failShutdown?: string } = {},
): App {
  return async (scope, receive, send) => {
    if (scope.type === 'lifespan') {
      for (;;) {
        const m = await receive();
        if (m.type === 'lifespan.startup') {
          log.push(`${name} startup`);
          if (opts.startupMs) await delay(opts.startupMs);
          if (opts.fail) {
            log.push(`${name} failed`);
            await send({ type: 'lifespan.startup.failed', message: opts.fail });
            return;
          }
          (scope as LifespanScope).state[name] = `${name}-resource`;
          log.push(`${name} started`);
          await send({ type: 'lifespan.startup.complete' });
        } else if (m.type === 'lifespan.shutdown') {
          log.push(`${name} shutdown`);
          if (opts.failShutdown) await send({ type: 'lifespan.shutdown.failed', message: opts.failShutdown });
          else await send({ type: 'lifespan.shutdown.complete' });
          return;
        }
      }
    }
    if (scope.type === 'http') await sendText(send, JSON.stringify((scope as HttpScope).state));
  };
}

test('lifespan fans out: every app starts before the server listens, state from each reaches requests, shutdown reaches all', async (t) => {
  const log: string[] = [];
  const shared = lifespanApp('db', log, { startupMs: 150 });
  const app = mount([
    ['/a', shared],
    ['/b', lifespanApp('cache', log)],
    ['/c', shared], // the same app twice: one lifespan
    ['/n', fromNodeHandler((_req, res) => res.end('node'))], // no lifespan support: left out, not failed
  ]);
  const server = await serve(app, { host: '127.0.0.1', port: 0, lifespan: 'on', logLevel: 'silent' });
  log.push('listening');
  t.deepEqual(
    log,
    ['db startup', 'cache startup', 'cache started', 'db started', 'listening'],
    'startup went to each once, concurrently, and the server waited for the slowest',
  );
  t.deepEqual(JSON.parse(await (await fetch(`${server.url}/b/x`)).text()), {
    db: 'db-resource',
    cache: 'cache-resource',
  });
  t.is(await (await fetch(`${server.url}/n`)).text(), 'node');
  await server.close();
  t.deepEqual(log.slice(5), ['db shutdown', 'cache shutdown']);
});

test("one failed startup fails the server start with that app's message, and the apps that did start are shut down again", async (t) => {
  const log: string[] = [];
  const app = mount({
    '/ok': lifespanApp('ok', log),
    '/db': lifespanApp('db', log, { fail: 'cannot reach postgres at 10.0.0.5' }),
    '/': lifespanApp('root', log, { startupMs: 50 }),
  });
  const error = await t.throwsAsync(serve(app, { host: '127.0.0.1', port: 0, lifespan: 'on', logLevel: 'silent' }));
  t.true(AlbanyError.is(error));
  t.is(error!.message, 'lifespan startup failed: mount "/db": cannot reach postgres at 10.0.0.5');
  t.deepEqual(log.filter((l) => l.endsWith('shutdown')).sort(), ['ok shutdown', 'root shutdown']);
  t.false(log.includes('db shutdown'), 'the app that failed is not asked to shut down');
});

test('a failed shutdown is reported with its mount, after every app was asked to shut down', async (t) => {
  const log: string[] = [];
  const app = mount({ '/x': lifespanApp('x', log, { failShutdown: 'flush failed' }), '/y': lifespanApp('y', log) });
  const server = await serve(app, { host: '127.0.0.1', port: 0, lifespan: 'on', logLevel: 'silent' });
  const error = await t.throwsAsync(server.close());
  t.is(error!.message, 'lifespan shutdown failed: mount "/x": flush failed');
  t.deepEqual(
    log.filter((l) => l.endsWith('shutdown')),
    ['x shutdown', 'y shutdown'],
  );
});

const BAD_ROUTES: Array<[string, unknown, RegExp]> = [
  ['a prefix with a trailing slash', { '/api/': inspector('x') }, /prefix "\/api\/" must be "\/" or a path/],
  ['a prefix without a leading slash', { api: inspector('x') }, /prefix "api" must be/],
  ['a prefix with a query', { '/a?b': inspector('x') }, /prefix "\/a\?b" must be/],
  ['an empty segment', { '/a//b': inspector('x') }, /no empty segment/],
  [
    '"/" and "" together',
    [
      ['/', inspector('x')],
      ['', inspector('y')],
    ],
    /prefix "" is given twice/,
  ],
  [
    'an app that is not a function',
    { '/a': { fetch() {} } },
    /the app for "\/a" must be a gateway App function .* got object/,
  ],
  ['no routes', {}, /no routes given/],
  ['not an object', 'nope', /expected an object, Map or array/],
];
for (const [name, routes, message] of BAD_ROUTES) {
  test(`mount() refuses ${name} with ERR_ALBANY_INVALID_CONFIG`, (t) => {
    const error = t.throws(() => mount(routes as never));
    t.is((error as AlbanyError).code, 'ERR_ALBANY_INVALID_CONFIG');
    t.regex(error!.message, message);
  });
}

test('a Host that is not an authority is refused before mount() dispatches anything', async (t) => {
  let ran = 0;
  const server = await startServer(
    t,
    mount({
      '/': async (_s, _r, send) => {
        ran++;
        await sendText(send, 'ran');
      },
    }),
  );
  const { text } = await rawRequest(
    server.port,
    'GET /public HTTP/1.1\r\nHost: example.com/admin\r\nConnection: close\r\n\r\n',
  );
  t.is(parseRaw(text).status, 400);
  t.is(ran, 0);
});

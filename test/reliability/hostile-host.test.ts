// Hostile Host headers against every front: the HTTP host (raw sockets), a real Hono app through
// fromFetch (direct path, gateway path, hosted by plain node:http), FastCGI, WebSocket upgrades and
// toFetch. Each answers 400 and no app code runs; the server keeps serving afterwards.
import test from 'ava';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Hono } from 'hono';
import type { App } from '../../src/gateway/types.js';
import { fromFetch, toFetch } from '../../src/interop/fetch.js';
import { toNodeHandler } from '../../src/interop/node.js';
import { serveFastCGI } from '../../src/server/fastcgi.js';
import { FcgiClient, cgiParams } from '../server/fastcgi-client.js';
import { parseRaw, rawRequest, sendText, startServer } from '../helpers/server.js';

const latin1 = (s: string) => Buffer.from(s, 'latin1');

// Values a client can put after "Host: ". Each one is refused; the ones node's parser refuses itself
// (control bytes) are refused before albany sees them, which the test accepts as long as it is a 400.
const HOSTILE: Array<[name: string, value: string]> = [
  ['a path (Host: example.com/admin)', 'example.com/admin'],
  ['a path after a port', 'example.com:80/admin'],
  ['a query', 'example.com?admin=1'],
  ['a fragment', 'example.com#frag'],
  ['userinfo', 'user:pass@example.com'],
  ['a space (Host: a b)', 'a b'],
  ['a tab', 'a\tb'],
  ['a backslash', 'example.com\\admin'],
  ['an encoded slash', 'example.com%2Fadmin'],
  ['an empty value', ''],
  ['a non-ASCII byte', 'caf\u00e9.example'],
  ['a control byte', 'a\u0001b'],
  ['DEL', 'a\u007fb'],
  ['a port over 65535', 'example.com:99999'],
  ['a non-digit port', 'example.com:http'],
  ['an IPv4 octet over 255', '10.0.0.999'],
  ['an unclosed IPv6 bracket', '[::1'],
  ['an IPv6 zone ID', '[fe80::1%25eth0]'],
];

/** The raw GET for `path` with `hostLines` (each a full "Host: …" line, or none). */
const get = (path: string, hostLines: string[], version = '1.1') =>
  latin1(`GET ${path} HTTP/${version}\r\n${hostLines.map((l) => `${l}\r\n`).join('')}Connection: close\r\n\r\n`);

const ROWS: Array<[name: string, bytes: Buffer]> = [
  ...HOSTILE.map(([name, value]): [string, Buffer] => [name, get('/public', [`Host: ${value}`])]),
  ['two Host headers', get('/public', ['Host: example.com', 'Host: evil.example'])],
  ['no Host on HTTP/1.1', get('/public', [])],
];

test(`HTTP host: ${ROWS.length} hostile Host headers each get a 400 before the app runs; a good request still works after`, async (t) => {
  const seen: string[] = [];
  const server = await startServer(t, async (scope, _receive, send) => {
    if (scope.type !== 'http') return;
    seen.push(scope.path);
    await sendText(send, 'ran');
  });
  for (const [name, bytes] of ROWS) {
    const { text } = await rawRequest(server.port, bytes);
    const { status, body } = parseRaw(text);
    t.is(status, 400, name);
    t.false(body.includes('ran'), name);
  }
  t.deepEqual(seen, [], 'the app never ran');
  const ok = parseRaw((await rawRequest(server.port, get('/public', ['Host: example.com:8080']))).text);
  t.is(ok.status, 200);
  t.is(ok.body, 'ran');
  const old = parseRaw((await rawRequest(server.port, get('/public', [], '1.0'))).text);
  t.is(old.status, 200, 'HTTP/1.0 may still omit Host');
});

test('HTTP host: the 400 for a bad Host names the rule and does not echo the value back', async (t) => {
  const server = await startServer(t, async (_scope, _receive, send) => sendText(send, 'ran'));
  const { text } = await rawRequest(server.port, get('/', ['Host: <script>x</script>']));
  const { status, headers, body } = parseRaw(text);
  t.is(status, 400);
  t.is(headers.connection, 'close');
  t.regex(body, /Host .* must be host\[:port\]/);
  t.false(body.includes('<script>'));
});

/** A real Hono app that records every handler it runs, with an /admin area a proxy might filter out. */
function honoApp(ran: string[]): Hono {
  const app = new Hono();
  app.use('*', async (c, next) => {
    ran.push(`middleware ${c.req.path}`);
    await next();
  });
  app.get('/public', (c) => c.text(`public at ${c.req.url}`));
  app.get('/admin/*', (c) => c.text('ADMIN AREA'));
  return app;
}

for (const directApps of [true, false]) {
  test(`Hono via fromFetch on serve() (${directApps ? 'direct' : 'gateway'} path): Host: example.com/admin never reaches the /admin route, nor any handler`, async (t) => {
    const ran: string[] = [];
    const server = await startServer(t, fromFetch(honoApp(ran)), { directApps });
    for (const [name, bytes] of ROWS) {
      const { status, body } = parseRaw((await rawRequest(server.port, bytes)).text);
      t.is(status, 400, name);
      t.false(body.includes('ADMIN'), name);
    }
    t.deepEqual(ran, [], 'no Hono middleware or handler ran');
    const ok = parseRaw((await rawRequest(server.port, get('/public', ['Host: example.com']))).text);
    t.is(ok.status, 200);
    t.is(ok.body, 'public at http://example.com/public');
  });
}

test('Hono via fromFetch hosted by a plain node:http server (toNodeHandler): the gateway path refuses the bad Host itself', async (t) => {
  const ran: string[] = [];
  const server = http.createServer(toNodeHandler(fromFetch(honoApp(ran))));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const port = (server.address() as AddressInfo).port;
  // node's server itself refuses control bytes, a missing Host and nothing else: the rest is ours.
  for (const [name, bytes] of ROWS) {
    const { status, body } = parseRaw((await rawRequest(port, bytes)).text);
    t.is(status, 400, name);
    t.false(body.includes('ADMIN'), name);
  }
  t.deepEqual(ran, []);
  const ok = parseRaw((await rawRequest(port, get('/public', ['Host: example.com']))).text);
  t.is(ok.body, 'public at http://example.com/public');
});

test('toFetch: a Request carrying a bad Host header of its own gets a 400 and the app never runs', async (t) => {
  let ran = 0;
  const handler = toFetch(async (_scope, _receive, send) => {
    ran++;
    await sendText(send, 'ran');
  });
  for (const [name, value] of HOSTILE) {
    // undici's Headers refuses control bytes and leading/trailing whitespace itself.
    let request: Request;
    try {
      request = new Request('http://example.com/public', { headers: { host: value } });
    } catch {
      continue;
    }
    const response = await handler(request);
    t.is(response.status, 400, name);
  }
  t.is(ran, 0);
  const ok = await handler(new Request('http://example.com/public', { headers: { host: 'example.com' } }));
  t.is(await ok.text(), 'ran');
});

test('FastCGI: a hostile HTTP_HOST gets a 400 (and END_REQUEST) without running the app; the connection goes on serving', async (t) => {
  const seen: string[] = [];
  const app: App = async (scope, _receive, send) => {
    if (scope.type !== 'http') return;
    seen.push(scope.path);
    await sendText(send, 'ran');
  };
  const server = await serveFastCGI(app, { port: 0, lifespan: 'off', logLevel: 'silent' });
  const client = await FcgiClient.connect({ port: server.port });
  t.teardown(async () => {
    client.close();
    await server.close();
  });
  const hostParams = (value: string) =>
    cgiParams('GET', '/public').map(([k, v]): [string, string] => [k, k === 'HTTP_HOST' ? value : v]);
  const cases: Array<[string, Array<[string, string]>]> = [
    ...HOSTILE.map(([name, value]): [string, Array<[string, string]>] => [name, hostParams(value)]),
    ['two HTTP_HOST params', [...cgiParams('GET', '/public'), ['HTTP_HOST', 'evil.example']]],
  ];
  let id = 1;
  for (const [name, params] of cases) {
    client.request(id, params);
    const r = await client.response(id);
    t.is(r.status, 400, name);
    t.regex(r.body.toString(), /must be host\[:port\]/, name);
    id++;
  }
  t.deepEqual(seen, []);
  client.request(id, cgiParams('GET', '/public'));
  const ok = await client.response(id);
  t.is(ok.status, 200);
  t.is(ok.body.toString(), 'ran');
});

test('FastCGI: a regex SERVER_NAME is not taken as the server address (SERVER_ADDR is), and the request is served', async (t) => {
  let server: unknown;
  const app: App = async (scope, _receive, send) => {
    if (scope.type !== 'http') return;
    server = scope.server;
    await sendText(send, 'ran');
  };
  const fcgi = await serveFastCGI(app, { port: 0, lifespan: 'off', logLevel: 'silent' });
  const client = await FcgiClient.connect({ port: fcgi.port });
  t.teardown(async () => {
    client.close();
    await fcgi.close();
  });
  const params = cgiParams('GET', '/').map(([k, v]): [string, string] => [
    k,
    k === 'SERVER_NAME' ? '~^(www\\.)?(?<d>.+)$' : v,
  ]);
  client.request(1, [...params, ['SERVER_ADDR', '10.1.2.3']]);
  const r = await client.response(1);
  t.is(r.status, 200);
  t.deepEqual(server, ['10.1.2.3', 80]);
});

/** A raw WebSocket upgrade with the given Host lines. */
const upgrade = (hostLines: string[]) =>
  latin1(
    `GET /chat HTTP/1.1\r\n${hostLines.map((l) => `${l}\r\n`).join('')}Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );

test('WebSocket: an upgrade with a hostile Host, two Hosts or none gets a 400 and the app never sees the websocket scope', async (t) => {
  const scopes: string[] = [];
  const server = await startServer(t, async (scope, receive, send) => {
    scopes.push(scope.type);
    if (scope.type === 'websocket') {
      await receive();
      await send({ type: 'websocket.accept' });
      await send({ type: 'websocket.close', code: 1000 });
    } else if (scope.type === 'http') await sendText(send, 'ran');
  });
  const rows: Array<[string, Buffer]> = [
    ...HOSTILE.map(([name, value]): [string, Buffer] => [name, upgrade([`Host: ${value}`])]),
    ['two Host headers', upgrade(['Host: example.com', 'Host: evil.example'])],
    ['no Host on HTTP/1.1', upgrade([])],
  ];
  for (const [name, bytes] of rows) {
    const { text } = await rawRequest(server.port, bytes, { timeoutMs: 3000 });
    t.is(parseRaw(text).status, 400, name);
  }
  t.deepEqual(scopes, []);
  const ok = await rawRequest(server.port, upgrade(['Host: example.com']), { until: (s) => s.includes('\r\n\r\n') });
  t.regex(ok.text, /^HTTP\/1\.1 101 /);
  t.deepEqual(scopes, ['websocket']);
});

test('--proxy-headers: a malformed X-Forwarded-Host gets a 400 on HTTP and FastCGI; a well-formed list passes; without proxy headers it is left alone', async (t) => {
  const seen: Array<string | undefined> = [];
  const app: App = async (scope, _receive, send) => {
    if (scope.type !== 'http') return;
    seen.push(scope.headers.find(([n]) => n === 'x-forwarded-host')?.[1]);
    await sendText(send, 'ran');
  };
  const withXfh = (value: string) =>
    latin1(`GET / HTTP/1.1\r\nHost: example.com\r\nX-Forwarded-Host: ${value}\r\nConnection: close\r\n\r\n`);
  const trusting = await startServer(t, app, { proxyHeaders: true, forwardedAllowIps: ['127.0.0.1'] });
  t.is(parseRaw((await rawRequest(trusting.port, withXfh('evil.example/admin'))).text).status, 400);
  t.is(parseRaw((await rawRequest(trusting.port, withXfh('a.example, b b'))).text).status, 400);
  t.is(parseRaw((await rawRequest(trusting.port, withXfh('a.example, b.example:8443'))).text).status, 200);
  const plain = await startServer(t, app);
  t.is(parseRaw((await rawRequest(plain.port, withXfh('evil.example/admin'))).text).status, 200);
  t.deepEqual(seen, ['a.example, b.example:8443', 'evil.example/admin']);

  const fcgi = await serveFastCGI(app, {
    port: 0,
    lifespan: 'off',
    logLevel: 'silent',
    proxyHeaders: true,
    forwardedAllowIps: ['203.0.113.9'],
  });
  const client = await FcgiClient.connect({ port: fcgi.port });
  t.teardown(async () => {
    client.close();
    await fcgi.close();
  });
  client.request(1, cgiParams('GET', '/', [['HTTP_X_FORWARDED_HOST', 'evil.example/admin']]));
  t.is((await client.response(1)).status, 400);
  client.request(2, cgiParams('GET', '/', [['HTTP_X_FORWARDED_HOST', 'good.example']]));
  t.is((await client.response(2)).status, 200);
});

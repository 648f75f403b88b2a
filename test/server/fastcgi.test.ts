// The FastCGI responder over real sockets: request/response, streaming with backpressure,
// multiplexing, aborts, keep-conn, management records, and hostile bytes that must not crash it.
import test, { type ExecutionContext } from 'ava';
import net from 'node:net';
import type { App, HttpScope } from '../../src/gateway/types.js';
import { serveFastCGI, type FastCGIServer } from '../../src/server/fastcgi.js';
import { RecordType, encodeNameValuePairs, encodeRecord } from '../../src/server/fastcgi-records.js';
import type { Logger } from '../../src/server/options.js';
import { FcgiClient, cgiParams } from './fastcgi-client.js';
import { readBody } from '../../src/gateway/helpers.js';

function captureLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const push = (m: string) => lines.push(m);
  return { lines, debug: () => {}, info: () => {}, warn: push, error: push };
}

async function start(
  t: ExecutionContext,
  app: App,
  extra: Parameters<typeof serveFastCGI>[1] = {},
): Promise<{ server: FastCGIServer; logger: ReturnType<typeof captureLogger>; client(): Promise<FcgiClient> }> {
  const logger = captureLogger();
  const server = await serveFastCGI(app, { port: 0, lifespan: 'off', logger, gracefulTimeoutMs: 2000, ...extra });
  const clients: FcgiClient[] = [];
  t.teardown(async () => {
    for (const c of clients) c.close();
    await server.close();
  });
  return {
    server,
    logger,
    client: async () => {
      const c = await FcgiClient.connect({ port: server.port });
      clients.push(c);
      return c;
    },
  };
}

const echo: App = async (scope, receive, send) => {
  const s = scope as HttpScope;
  const body = await readBody(receive);
  if (body === null) return;
  await send({
    type: 'http.response.start',
    status: 201,
    headers: [
      ['x-path', s.path],
      ['x-query', s.queryString],
      ['x-len', String(body.length)],
      ['x-client', String(s.client)],
    ],
  });
  await send({ type: 'http.response.body', body });
};

test('GET: scope from params, CGI Status header, content-length, END_REQUEST', async (t) => {
  const { client } = await start(t, echo);
  const c = await client();
  c.request(1, cgiParams('GET', '/hello%20w?x=1'));
  const r = await c.response(1);
  t.is(r.status, 201);
  t.deepEqual(r.headers, [
    ['x-path', '/hello w'],
    ['x-query', 'x=1'],
    ['x-len', '0'],
    ['x-client', '203.0.113.9,5555'],
    ['content-length', '0'],
  ]);
  t.is(r.protocolStatus, 0);
});

test('POST body over many STDIN records reaches the app whole; a large response is split into ≤ 65535-byte records', async (t) => {
  const { client } = await start(t, echo);
  const c = await client();
  const body = Buffer.alloc(300_000);
  for (let i = 0; i < body.length; i++) body[i] = i % 251;
  c.request(5, cgiParams('POST', '/up', [['CONTENT_LENGTH', String(body.length)]]), body);
  const r = await c.response(5);
  t.is(r.status, 201);
  t.true(r.body.equals(body));
  const sizes = c.records.filter((x) => x.type === RecordType.STDOUT).map((x) => x.content.length);
  t.true(sizes.every((n) => n <= 65535));
  t.is(sizes[sizes.length - 1], 0);
});

test('request ids are multiplexed on one connection and answered independently', async (t) => {
  const order: string[] = [];
  const app: App = async (scope, receive, send) => {
    const s = scope as HttpScope;
    await receive();
    if (s.path === '/slow') await new Promise((r) => setTimeout(r, 150));
    order.push(s.path);
    await send({ type: 'http.response.start', status: 200 });
    await send({ type: 'http.response.body', body: Buffer.from(s.path) });
  };
  const { client } = await start(t, app);
  const c = await client();
  // Interleave the two requests' records.
  c.begin(1);
  c.begin(2);
  c.params(1, cgiParams('GET', '/slow'));
  c.params(2, cgiParams('GET', '/fast'));
  c.stdin(2);
  c.stdin(1);
  const [a, b] = await Promise.all([c.response(1), c.response(2)]);
  t.is(a.body.toString(), '/slow');
  t.is(b.body.toString(), '/fast');
  t.deepEqual(order, ['/fast', '/slow']);
  // The connection stays usable, and an id can be reused once its END_REQUEST is out.
  c.records.length = 0;
  c.request(1, cgiParams('GET', '/again'));
  t.is((await c.response(1)).body.toString(), '/again');
});

test('FCGI_ABORT_REQUEST → http.disconnect for that request only; END_REQUEST answers it', async (t) => {
  let disconnected: () => void;
  const sawDisconnect = new Promise<void>((r) => (disconnected = r));
  const app: App = async (scope, receive, send) => {
    if ((scope as HttpScope).path === '/hang') {
      await receive();
      const m = await receive();
      if (m.type === 'http.disconnect') disconnected();
      return;
    }
    await send({ type: 'http.response.start', status: 200 });
    await send({ type: 'http.response.body', body: Buffer.from('ok') });
  };
  const { client } = await start(t, app);
  const c = await client();
  c.request(3, cgiParams('GET', '/hang'));
  await new Promise((r) => setTimeout(r, 50));
  c.abort(3);
  await sawDisconnect;
  const ended = await c.response(3);
  t.is(ended.body.length, 0);
  c.request(4, cgiParams('GET', '/other'));
  t.is((await c.response(4)).body.toString(), 'ok');
});

test('without FCGI_KEEP_CONN the connection is closed after the response; with it, it stays open', async (t) => {
  const { client } = await start(t, echo);
  const once = await client();
  once.begin(1, false);
  once.params(1, cgiParams('GET', '/'));
  once.stdin(1);
  t.is((await once.response(1)).status, 201);
  await once.closed;
  const kept = await client();
  kept.request(1, cgiParams('GET', '/'));
  await kept.response(1);
  await new Promise((r) => setTimeout(r, 50));
  t.false(kept.socket.destroyed || kept.socket.readableEnded);
});

test('FCGI_GET_VALUES is answered; unknown management records get UNKNOWN_TYPE; other roles get UNKNOWN_ROLE', async (t) => {
  const { client } = await start(t, echo);
  const c = await client();
  c.raw(
    encodeRecord(
      RecordType.GET_VALUES,
      0,
      encodeNameValuePairs([
        ['FCGI_MPXS_CONNS', ''],
        ['FCGI_MAX_REQS', ''],
        ['NOPE', ''],
      ]),
    ),
  );
  c.raw(encodeRecord(42, 0, Buffer.alloc(8)));
  c.begin(9, true, 3);
  await c.until(() => c.records.length >= 3);
  const values = c.records.find((r) => r.type === RecordType.GET_VALUES_RESULT)!;
  const text = values.content.toString('latin1');
  t.true(text.includes('FCGI_MPXS_CONNS1'));
  t.true(text.includes('FCGI_MAX_REQS'));
  t.false(text.includes('NOPE'));
  t.is(c.records.find((r) => r.type === RecordType.UNKNOWN_TYPE)!.content[0], 42);
  t.is(c.records.find((r) => r.type === RecordType.END_REQUEST && r.requestId === 9)!.content[4], 3);
});

const hostile: Array<{ name: string; bytes: () => Buffer; reason: RegExp; endWrite?: boolean }> = [
  {
    name: 'HTTP sent to the FastCGI port',
    bytes: () => Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
    reason: /version 71/,
  },
  { name: 'random garbage', bytes: () => Buffer.from([0x99, 1, 2, 3, 4, 5, 6, 7, 8]), reason: /version 153/ },
  {
    name: 'a truncated record then EOF',
    bytes: () => encodeRecord(RecordType.BEGIN_REQUEST, 1, Buffer.alloc(8)).subarray(0, 11),
    reason: /ended inside a record/,
    endWrite: true,
  },
  {
    name: 'a bad BEGIN_REQUEST length',
    bytes: () => encodeRecord(RecordType.BEGIN_REQUEST, 1, Buffer.alloc(3)),
    reason: /BEGIN_REQUEST body must be 8 bytes/,
  },
  {
    name: 'a duplicate BEGIN_REQUEST',
    bytes: () =>
      Buffer.concat([
        encodeRecord(RecordType.BEGIN_REQUEST, 1, Buffer.from([0, 1, 1, 0, 0, 0, 0, 0])),
        encodeRecord(RecordType.BEGIN_REQUEST, 1, Buffer.from([0, 1, 1, 0, 0, 0, 0, 0])),
      ]),
    reason: /already active/,
  },
  {
    name: 'STDOUT sent by the web server',
    bytes: () =>
      Buffer.concat([
        encodeRecord(RecordType.BEGIN_REQUEST, 1, Buffer.from([0, 1, 1, 0, 0, 0, 0, 0])),
        encodeRecord(RecordType.STDOUT, 1, Buffer.from('x')),
      ]),
    reason: /record type 6/,
  },
  {
    name: 'name-value pairs longer than the stream',
    bytes: () =>
      Buffer.concat([
        encodeRecord(RecordType.BEGIN_REQUEST, 1, Buffer.from([0, 1, 1, 0, 0, 0, 0, 0])),
        encodeRecord(RecordType.PARAMS, 1, Buffer.from([0x80, 0, 1, 0, 1, 65])),
        encodeRecord(RecordType.PARAMS, 1),
      ]),
    reason: /name-value pair/,
  },
  {
    name: 'oversized PARAMS',
    bytes: () =>
      Buffer.concat([
        encodeRecord(RecordType.BEGIN_REQUEST, 1, Buffer.from([0, 1, 1, 0, 0, 0, 0, 0])),
        ...Array.from({ length: 3 }, () => encodeRecord(RecordType.PARAMS, 1, Buffer.alloc(0xffff, 0x41))),
      ]),
    reason: /PARAMS for request 1 exceed 131072 bytes/,
  },
];

for (const h of hostile) {
  test(`hostile input (${h.name}) closes that connection with a logged reason; others keep being served`, async (t) => {
    const { client, logger } = await start(t, echo, { maxParamsSize: 128 * 1024 });
    const good = await client();
    const bad = await client();
    bad.raw(h.bytes());
    if (h.endWrite) bad.socket.end();
    await bad.closed;
    t.true(
      logger.lines.some((l) => h.reason.test(l)),
      logger.lines.join('\n'),
    );
    t.true(
      logger.lines.every((l) => l.startsWith('fastcgi: closing connection')),
      logger.lines.join('\n'),
    );
    good.request(1, cgiParams('GET', '/still-here'));
    t.is((await good.response(1)).headers[0]![1], '/still-here');
  });
}

test('fuzz: random record streams never crash the server', async (t) => {
  const { client, server } = await start(t, echo);
  let seed = 12345;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
  for (let i = 0; i < 40; i++) {
    const c = await client();
    const parts: Buffer[] = [];
    for (let k = 0; k < 6; k++) {
      const type = rand(13);
      const len = rand(3) === 0 ? 8 : rand(40);
      const body = Buffer.alloc(len);
      for (let j = 0; j < len; j++) body[j] = rand(256);
      parts.push(encodeRecord(type, rand(3), body));
    }
    c.raw(Buffer.concat(parts));
    c.socket.end();
    await Promise.race([c.closed, new Promise((r) => setTimeout(r, 300))]);
    c.close();
  }
  const c = await FcgiClient.connect({ port: server.port });
  c.request(1, cgiParams('GET', '/alive'));
  t.is((await c.response(1)).status, 201);
  c.close();
});

test('STDIN is not read ahead for an app that does not read: the socket pauses, then all bytes arrive in order', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const app: App = async (_scope, receive, send) => {
    await gate;
    let n = 0;
    let sum = 0;
    for (;;) {
      const m = await receive();
      if (m.type !== 'http.request') return;
      n += m.body.length;
      for (const b of m.body) sum = (sum + b) % 65521;
      if (!m.moreBody) break;
    }
    await send({ type: 'http.response.start', status: 200 });
    await send({ type: 'http.response.body', body: Buffer.from(`${n}:${sum}`) });
  };
  const { client } = await start(t, app, { maxBodySize: 0 });
  const c = await client();
  const total = 8 * 1024 * 1024;
  c.begin(1);
  c.params(1, cgiParams('POST', '/', [['CONTENT_LENGTH', String(total)]]));
  const chunk = Buffer.alloc(0xffff, 7);
  let sent = 0;
  let blocked = false;
  while (sent < total) {
    const n = Math.min(chunk.length, total - sent);
    sent += n;
    if (!c.stdin(1, chunk.subarray(0, n))) {
      // Give the server time to drain if it were reading ahead.
      const drained = await Promise.race([
        new Promise((r) => c.socket.once('drain', () => r(true))),
        new Promise((r) => setTimeout(() => r(false), 300)),
      ]);
      if (!drained) {
        blocked = true;
        break;
      }
    }
  }
  t.true(blocked, 'the client should be blocked by the paused server socket');
  t.true(sent < total);
  release();
  while (sent < total) {
    const n = Math.min(chunk.length, total - sent);
    sent += n;
    if (!c.stdin(1, chunk.subarray(0, n))) await new Promise((r) => c.socket.once('drain', r));
  }
  c.stdin(1);
  const r = await c.response(1);
  t.is(r.body.toString(), `${total}:${(total * 7) % 65521}`);
});

test('CONTENT_LENGTH over maxBodySize → 413 without running the app', async (t) => {
  let ran = false;
  const { client } = await start(
    t,
    async () => {
      ran = true;
    },
    { maxBodySize: 10 },
  );
  const c = await client();
  c.request(1, cgiParams('POST', '/', [['CONTENT_LENGTH', '11']]), Buffer.alloc(11));
  t.is((await c.response(1)).status, 413);
  t.false(ran);
});

test('an app that throws before starting gets a 500; the connection lives on', async (t) => {
  const app: App = async (scope) => {
    if ((scope as HttpScope).path === '/boom') throw new Error('boom');
  };
  const { client, logger } = await start(t, app);
  const c = await client();
  c.request(1, cgiParams('GET', '/boom'));
  t.is((await c.response(1)).status, 500);
  t.true(logger.lines.some((l) => l.includes('boom')));
});

test('an app that fails mid-body aborts the connection (no cut body passed off as complete)', async (t) => {
  const app: App = async (_scope, _receive, send) => {
    await send({ type: 'http.response.start', status: 200 });
    await send({ type: 'http.response.body', body: Buffer.from('part'), moreBody: true });
    throw new Error('mid-body');
  };
  const { client } = await start(t, app);
  const c = await client();
  c.request(1, cgiParams('GET', '/'));
  await c.closed;
  t.false(c.records.some((r) => r.type === RecordType.END_REQUEST));
});

test('serves on a Unix socket, replacing a stale socket file; close() waits for in-flight requests', async (t) => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'albany-fcgi-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'app.sock');
  // A stale socket: bound and closed without unlink.
  const stale = net.createServer();
  await new Promise<void>((r) => stale.listen(path, r));
  (stale as unknown as { _handle: { close(): void } })._handle.close();
  let entered!: () => void;
  const inApp = new Promise<void>((resolve) => (entered = resolve));
  const slow: App = async (_s, receive, send) => {
    await receive();
    entered();
    await new Promise((r) => setTimeout(r, 200));
    await send({ type: 'http.response.start', status: 200 });
    await send({ type: 'http.response.body', body: Buffer.from('done') });
  };
  const server = await serveFastCGI(slow, { path, lifespan: 'off', logger: captureLogger() });
  t.regex(server.url, /^fastcgi\+unix:/);
  const c = await FcgiClient.connect({ path });
  c.request(1, cgiParams('GET', '/'));
  // Close while the request is in the app (after a fixed sleep, a loaded machine had not read it yet).
  await inApp;
  const closing = server.close();
  t.is((await c.response(1)).body.toString(), 'done');
  await c.closed;
  await closing;
});

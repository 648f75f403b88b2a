// Responses over real sockets: framing, HEAD, trailers, pathsend, backpressure, failures, logging.
import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { Agent, request } from 'undici';
import type { Address } from '../../src/gateway/types.js';
import {
  collect,
  connect,
  deferred,
  delay,
  hasCompleteResponse,
  httpApp,
  parseRaw,
  rawRequest,
  sendText,
  startServer,
} from '../helpers/server.js';

const get = (path = '/') => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;

/** A client that asks for `/`, waits for the first bytes of the answer, then goes away. */
async function leaveAfterFirstBytes(port: number): Promise<void> {
  const socket = await connect(port);
  const firstData = new Promise((resolve) => socket.once('data', resolve));
  socket.write(get());
  await firstData;
  socket.destroy();
}

test('a one-chunk body goes out with a content-length', async (t) => {
  const server = await startServer(
    t,
    httpApp(async (_s, _r, send) => sendText(send, 'hello')),
  );
  const r = await rawRequest(server.port, get(), { until: (x) => hasCompleteResponse(x) });
  const res = parseRaw(r.text);
  t.is(res.status, 200);
  t.is(res.headers['content-length'], '5');
  t.is(res.headers['transfer-encoding'], undefined);
  t.is(res.body, 'hello');
});

test('a streamed body without content-length goes out chunked', async (t) => {
  const server = await startServer(
    t,
    httpApp(async (_s, _r, send) => {
      await send({ type: 'http.response.start', status: 200, headers: [] });
      for (const part of ['a', 'b', 'c'])
        await send({ type: 'http.response.body', body: Buffer.from(part), moreBody: true });
      await send({ type: 'http.response.body' });
    }),
  );
  const r = await rawRequest(server.port, get(), { until: (x) => hasCompleteResponse(x) });
  const res = parseRaw(r.text);
  t.is(res.headers['transfer-encoding'], 'chunked');
  t.is(res.headers['content-length'], undefined);
  t.is(res.body, '1\r\na\r\n1\r\nb\r\n1\r\nc\r\n0\r\n\r\n');
});

test("status, header order and duplicates reach the client as sent; the app's content-length is kept", async (t) => {
  const server = await startServer(
    t,
    httpApp(async (_s, _r, send) => {
      await send({
        type: 'http.response.start',
        status: 418,
        headers: [
          ['x-b', '1'],
          ['set-cookie', 'a=1'],
          ['set-cookie', 'b=2'],
          ['content-length', '2'],
        ],
      });
      await send({ type: 'http.response.body', body: Buffer.from('hi'), moreBody: true });
      await send({ type: 'http.response.body' });
    }),
  );
  const res = await fetch(server.url);
  t.is(res.status, 418);
  t.deepEqual(res.headers.getSetCookie(), ['a=1', 'b=2']);
  t.is(res.headers.get('content-length'), '2');
  t.is(await res.text(), 'hi');
});

test('204 and 304 carry no content-length and no body', async (t) => {
  const server = await startServer(
    t,
    httpApp(async (scope, _r, send) => {
      await send({ type: 'http.response.start', status: scope.path === '/304' ? 304 : 204 });
      await send({ type: 'http.response.body' });
    }),
  );
  for (const path of ['/204', '/304']) {
    const r = await rawRequest(server.port, get(path), { timeoutMs: 1000, until: (x) => x.includes('\r\n\r\n') });
    const res = parseRaw(r.text);
    t.is(res.status, Number(path.slice(1)));
    t.is(res.headers['content-length'], undefined, path);
    t.is(res.body, '');
  }
});

test('HEAD keeps the content-length and sends no body bytes (the next response on the socket parses)', async (t) => {
  const server = await startServer(
    t,
    httpApp(async (scope, _r, send) => sendText(send, scope.method === 'HEAD' ? 'head-body' : 'get-body!')),
  );
  const socket = await connect(server.port);
  const reply = collect(socket, { until: (x) => x.includes('get-body!') });
  socket.write(`HEAD / HTTP/1.1\r\nHost: x\r\n\r\n${get()}`);
  const { text } = await reply;
  socket.destroy();
  const [headPart, getPart] = text.split(/(?=HTTP\/1\.1 )/);
  const head = parseRaw(headPart!);
  t.is(head.status, 200);
  t.is(head.headers['content-length'], '9');
  t.is(head.body, '', 'HEAD response carried body bytes');
  t.is(parseRaw(getPart!).body, 'get-body!');
});

test('trailers: true sends a chunked body followed by the trailer fields', async (t) => {
  const server = await startServer(
    t,
    httpApp(async (_s, _r, send) => {
      await send({
        type: 'http.response.start',
        status: 200,
        headers: [['trailer', 'x-checksum, x-count']],
        trailers: true,
      });
      await send({ type: 'http.response.body', body: Buffer.from('data'), moreBody: false });
      await send({ type: 'http.response.trailers', headers: [['x-checksum', 'abc']], moreTrailers: true });
      await send({ type: 'http.response.trailers', headers: [['x-count', '1']] });
    }),
  );
  const r = await rawRequest(server.port, get(), { until: (x) => /0\r\n[\s\S]*\r\n\r\n$/.test(x) });
  const res = parseRaw(r.text);
  t.is(res.headers['transfer-encoding'], 'chunked');
  t.regex(res.body, /^4\r\ndata\r\n0\r\n/);
  t.regex(res.body, /x-checksum: abc\r\n/i);
  t.regex(res.body, /x-count: 1\r\n\r\n$/i);
  const viaUndici = await request(server.url);
  await viaUndici.body.text();
  t.deepEqual(viaUndici.trailers, { 'x-checksum': 'abc', 'x-count': '1' });
});

test('pathsend streams a file with its size as content-length', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'albany-pathsend-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'blob.bin');
  const content = Buffer.alloc(1_500_000);
  for (let i = 0; i < content.length; i++) content[i] = (i * 7) & 0xff;
  await writeFile(file, content);
  const server = await startServer(
    t,
    httpApp(async (_s, _r, send) => {
      await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'application/octet-stream']] });
      await send({ type: 'http.response.pathsend', path: file });
    }),
  );
  const res = await fetch(server.url);
  t.is(res.headers.get('content-length'), String(content.length));
  t.true(Buffer.from(await res.arrayBuffer()).equals(content));
  // and a HEAD of it sends the length without the bytes
  const r = await rawRequest(server.port, `HEAD / HTTP/1.1\r\nHost: x\r\n\r\n`, {
    timeoutMs: 2000,
    until: (x) => x.includes('\r\n\r\n'),
  });
  t.is(parseRaw(r.text).headers['content-length'], String(content.length));
  t.is(parseRaw(r.text).body, '');
});

test('pathsend of a missing file rejects in the app and the client gets an error status, not a hang', async (t) => {
  const appError = deferred<unknown>();
  const server = await startServer(
    t,
    httpApp(async (_s, _r, send) => {
      await send({ type: 'http.response.start', status: 200 });
      await send({ type: 'http.response.pathsend', path: '/definitely/not/here' }).catch((e: unknown) => {
        appError.resolve(e);
        throw e;
      });
    }),
  );
  const res = await fetch(server.url, { signal: AbortSignal.timeout(5000) });
  t.is(res.status, 404);
  t.is(((await appError.promise) as { code?: string }).code, 'ENOENT');
});

test('pathsend of a directory rejects in the app with ERR_ALBANY_INVALID_MESSAGE naming the path', async (t) => {
  const appError = deferred<unknown>();
  const dir = tmpdir();
  const server = await startServer(
    t,
    httpApp(async (_s, _r, send) => {
      await send({ type: 'http.response.start', status: 200 });
      await send({ type: 'http.response.pathsend', path: dir }).catch((e: unknown) => {
        appError.resolve(e);
        throw e;
      });
    }),
  );
  const res = await fetch(server.url, { signal: AbortSignal.timeout(5000) });
  t.is(res.status, 404);
  const err = (await appError.promise) as Error & { code?: string };
  t.is(err.code, 'ERR_ALBANY_INVALID_MESSAGE');
  t.true(err.message.includes(`${dir} is not a regular file`), err.message);
});

test("a slow reader makes the app's send() wait instead of buffering the whole body", async (t) => {
  const chunk = Buffer.alloc(64 * 1024, 'z');
  const chunks = 800; // 50 MiB: more than loopback socket buffers can hold
  let sent = 0;
  const server = await startServer(
    t,
    httpApp(async (_s, _r, send) => {
      await send({
        type: 'http.response.start',
        status: 200,
        headers: [['content-length', String(chunk.length * chunks)]],
      });
      for (let i = 0; i < chunks; i++) {
        await send({ type: 'http.response.body', body: chunk, moreBody: i < chunks - 1 });
        sent++;
      }
    }),
  );
  const socket = await connect(server.port);
  socket.pause();
  socket.write(get());
  await delay(700);
  const sentBeforeReading = sent;
  let received = 0;
  const finished = new Promise<void>((resolve) => {
    socket.on('data', (d: Buffer) => {
      received += d.length;
      if (received >= chunk.length * chunks) resolve();
    });
    socket.on('close', () => resolve());
  });
  socket.resume();
  await finished;
  socket.destroy();
  t.log(`sent ${sentBeforeReading} of ${chunks} chunks before the client read`);
  t.true(sentBeforeReading < chunks / 2, `${sentBeforeReading} of ${chunks} chunks were accepted while nobody read`);
  t.true(received > chunk.length * chunks, 'the whole body arrived once the client read');
  t.is(sent, chunks);
});

test("a client that disconnects mid-download makes the app's send() reject with ERR_ALBANY_CLIENT_DISCONNECTED", async (t) => {
  const failure = deferred<unknown>();
  const server = await startServer(
    t,
    httpApp(async (_s, _r, send) => {
      await send({ type: 'http.response.start', status: 200 });
      try {
        for (;;) await send({ type: 'http.response.body', body: Buffer.alloc(16 * 1024), moreBody: true });
      } catch (error) {
        failure.resolve(error);
        throw error;
      }
    }),
  );
  await leaveAfterFirstBytes(server.port);
  const error = await failure.promise;
  t.is((error as { code?: string }).code, 'ERR_ALBANY_CLIENT_DISCONNECTED');
  await delay(50);
  t.deepEqual(server.log.errors(), [], 'a client going away is not logged as an app error');
});

test('a header with CR/LF from the app: the app gets the error and the client a clean 500 without it', async (t) => {
  const appError = deferred<unknown>();
  const server = await startServer(
    t,
    httpApp(async (_s, _r, send) => {
      try {
        await send({ type: 'http.response.start', status: 200, headers: [['x-evil', 'a\r\nx-injected: yes']] });
      } catch (error) {
        appError.resolve(error);
        throw error;
      }
    }),
  );
  const r = await rawRequest(server.port, get(), { until: (x) => hasCompleteResponse(x) });
  t.is(((await appError.promise) as { code?: string }).code, 'ERR_ALBANY_INVALID_MESSAGE');
  const res = parseRaw(r.text);
  t.is(res.status, 500);
  t.false(r.text.toLowerCase().includes('x-injected'));
  t.false(r.text.toLowerCase().includes('x-evil'));
});

for (const [label, value] of [
  ['a control byte', 'a\u0001b'],
  ['a character past U+00FF', 'a\u20acb'],
] as const) {
  test(`a header value with ${label}: the app gets ERR_ALBANY_INVALID_MESSAGE and the client a clean 500`, async (t) => {
    // albany's check is the only one on the way out (node's writeHead is not asked to check again),
    // so it must refuse what node would.
    const appError = deferred<unknown>();
    const server = await startServer(
      t,
      httpApp(async (_s, _r, send) => {
        try {
          await send({
            type: 'http.response.start',
            status: 200,
            headers: [
              ['x-ok', '1'],
              ['x-bad', value],
            ],
          });
        } catch (error) {
          appError.resolve(error);
          throw error;
        }
      }),
    );
    const r = await rawRequest(server.port, get(), { until: (x) => hasCompleteResponse(x) });
    t.is(((await appError.promise) as { code?: string }).code, 'ERR_ALBANY_INVALID_MESSAGE');
    t.is(parseRaw(r.text).status, 500);
    t.false(r.text.toLowerCase().includes('x-bad'));
    t.false(r.text.toLowerCase().includes('x-ok'));
  });
}

test("response headers go out in the app's order and case, repeated names included", async (t) => {
  const server = await startServer(
    t,
    httpApp(async (scope, _r, send) => {
      const headers: Array<[string, string]> =
        scope.path === '/repeat'
          ? [
              ['X-B', '1'],
              ['a-name', '2'],
              ['x-b', '3'],
            ]
          : [
              ['X-Upper', 'v'],
              ['content-type', 'text/plain'],
              ['x-last', 'é'],
            ];
      await send({ type: 'http.response.start', status: 200, headers });
      await send({ type: 'http.response.body', body: Buffer.from('ok') });
    }),
  );
  const lines = async (path: string) => {
    const r = await rawRequest(server.port, get(path), { until: (x) => hasCompleteResponse(x) });
    const head = r.text.slice(0, r.text.indexOf('\r\n\r\n')).split('\r\n').slice(1);
    return head.filter((l) => !/^(date|connection|keep-alive):/i.test(l));
  };
  t.deepEqual(await lines('/'), ['X-Upper: v', 'content-type: text/plain', 'x-last: é', 'content-length: 2']);
  t.deepEqual(await lines('/repeat'), ['X-B: 1', 'a-name: 2', 'x-b: 3', 'content-length: 2']);
});

test("a head node refuses as a whole (trailer on a sized response) is a clean 500 without the app's headers", async (t) => {
  const appError = deferred<unknown>();
  const server = await startServer(
    t,
    httpApp(async (_s, _r, send) => {
      await send({
        type: 'http.response.start',
        status: 200,
        headers: [
          ['trailer', 'x-t'],
          ['x-app', '1'],
        ],
      });
      await send({ type: 'http.response.body', body: Buffer.from('ok') }).catch((e: unknown) => {
        appError.resolve(e);
        throw e;
      });
    }),
  );
  const r = await rawRequest(server.port, get(), { until: (x) => hasCompleteResponse(x) });
  t.is(((await appError.promise) as { code?: string }).code, 'ERR_HTTP_TRAILER_INVALID');
  t.is(parseRaw(r.text).status, 500);
  t.false(r.text.toLowerCase().includes('x-app'));
});

test('an invalid message mid-body: the app gets the error and nothing of it is written', async (t) => {
  const appError = deferred<unknown>();
  const server = await startServer(
    t,
    httpApp(async (_s, _r, send) => {
      await send({ type: 'http.response.start', status: 200 });
      await send({ type: 'http.response.body', body: Buffer.from('ok'), moreBody: false });
      await send({ type: 'http.response.body', body: Buffer.from('EXTRA') }).catch((e: unknown) => appError.resolve(e));
    }),
  );
  const socket = await connect(server.port);
  // Read until the app has its error (the extra body was refused by then) and the whole response is
  // in, then 200 ms more for any bytes that would follow: a fixed 500 ms window came back empty on a
  // loaded machine.
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.write(get());
  const error = await appError.promise;
  const text = () => Buffer.concat(chunks).toString('latin1');
  for (let waited = 0; !hasCompleteResponse(text()) && waited < 5000; waited += 20)
    await new Promise((resolve) => setTimeout(resolve, 20));
  await new Promise((resolve) => setTimeout(resolve, 200));
  socket.destroy();
  const r = { text: text() };
  t.is((error as { code?: string }).code, 'ERR_ALBANY_INVALID_MESSAGE');
  t.is(parseRaw(r.text).body, 'ok');
  t.false(r.text.includes('EXTRA'));
});

test('the app throwing before start gives a 500', async (t) => {
  const server = await startServer(
    t,
    httpApp(async () => {
      throw new Error('early');
    }),
  );
  const res = await fetch(server.url);
  t.is(res.status, 500);
  t.is(await res.text(), 'Internal Server Error');
});

test('the app throwing after start aborts the connection: no terminating chunk', async (t) => {
  const server = await startServer(
    t,
    httpApp(async (_s, _r, send) => {
      await send({ type: 'http.response.start', status: 200 });
      await send({ type: 'http.response.body', body: Buffer.from('partial'), moreBody: true });
      await delay(20);
      throw new Error('late');
    }),
  );
  const r = await rawRequest(server.port, get(), { timeoutMs: 3000 });
  t.not(r.ended, 'timeout', 'the server must close the connection');
  t.is(parseRaw(r.text).status, 200);
  t.true(r.text.includes('partial'));
  t.false(r.text.endsWith('0\r\n\r\n'), 'an aborted response must not look complete');
  await t.throwsAsync(fetch(server.url).then((res) => res.text()));
});

test('the app returning without a response gives a 500', async (t) => {
  const server = await startServer(
    t,
    httpApp(async () => {}),
  );
  t.is((await fetch(server.url)).status, 500);
});

test('the app returning after start but before the first body gives no 200', async (t) => {
  const server = await startServer(
    t,
    httpApp(async (_s, _r, send) => {
      await send({ type: 'http.response.start', status: 200 });
    }),
  );
  const r = await rawRequest(server.port, get(), { timeoutMs: 3000 });
  t.not(r.ended, 'timeout');
  t.false(r.text.startsWith('HTTP/1.1 200'));
});

test('an app error is logged once, with the request line and never the request body', async (t) => {
  const server = await startServer(
    t,
    httpApp(async (_s, receive) => {
      await receive();
      throw new Error('kaput');
    }),
  );
  const res = await fetch(`${server.url}/the/path?q=1`, { method: 'POST', body: 'SECRET-BODY-TEXT' });
  t.is(res.status, 500);
  await delay(20);
  const errors = server.log.errors();
  t.is(errors.length, 1);
  t.true(errors[0]!.includes('POST /the/path?q=1 HTTP/1.1'), errors[0]);
  t.true(errors[0]!.includes('kaput'));
  t.false(server.log.lines.some((l) => l.msg.includes('SECRET-BODY-TEXT')));
});

test('keep-alive: two requests on one socket are both answered', async (t) => {
  const clients: Address[] = [];
  const server = await startServer(
    t,
    httpApp(async (scope, _r, send) => {
      clients.push(scope.client);
      await sendText(send, scope.path);
    }),
  );
  let connections = 0;
  server.server.on('connection', (_s: Socket) => connections++);
  const socket = await connect(server.port);
  const first = collect(socket, { until: (x) => hasCompleteResponse(x) });
  socket.write(get('/one'));
  const r1 = await first;
  const second = collect(socket, { until: (x) => hasCompleteResponse(x) });
  socket.write(get('/two'));
  const r2 = await second;
  socket.destroy();
  t.is(parseRaw(r1.text).body, '/one');
  t.is(parseRaw(r2.text).body, '/two');
  t.not(parseRaw(r1.text).headers.connection, 'close');
  t.is(connections, 1);
  t.deepEqual(clients[0], clients[1]);

  // and a pooled client reuses its connection too
  const agent = new Agent({ connections: 1 });
  t.teardown(() => agent.close());
  for (const p of ['/a', '/b', '/c'])
    t.is(await (await request(`${server.url}${p}`, { dispatcher: agent })).body.text(), p);
  t.is(connections, 2);
});

test('a malformed request line gets 400 and the app never runs', async (t) => {
  let called = false;
  const server = await startServer(
    t,
    httpApp(async (_s, _r, send) => {
      called = true;
      await sendText(send, 'x');
    }),
  );
  for (const bad of [
    'GARBAGE\r\n\r\n',
    'GET / HTTP/1.1 junk\r\nHost: x\r\n\r\n',
    'GET /a\0b HTTP/1.1\r\n\r\n',
    'GET / HTTP/9.x\r\nHost: x\r\n\r\n',
    'GET / HTTP/1.1\r\nBad Header\r\n\r\n',
  ]) {
    const r = await rawRequest(server.port, bad, { timeoutMs: 3000 });
    t.regex(r.text, /^HTTP\/1\.1 400 /, JSON.stringify(bad));
    t.not(r.ended, 'timeout');
  }
  t.false(called);
});

test('a request head over maxHeaderSize gets 431', async (t) => {
  const server = await startServer(
    t,
    httpApp(async (_s, _r, send) => sendText(send, 'x')),
    { maxHeaderSize: 1024 },
  );
  const r = await rawRequest(server.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(2000)}\r\n\r\n`, {
    timeoutMs: 3000,
  });
  t.regex(r.text, /^HTTP\/1\.1 431 /);
});

test('headersTimeout cuts a slowloris client that trickles its head', async (t) => {
  const server = await startServer(
    t,
    httpApp(async (_s, _r, send) => sendText(send, 'x')),
    { headersTimeoutMs: 400, requestTimeoutMs: 1000 },
  );
  const socket = await connect(server.port);
  socket.on('error', () => {});
  const started = Date.now();
  socket.write('GET / HTTP/1.1\r\nHost: x\r\n');
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const reply = collect(socket, { timeoutMs: 8000 });
  let n = 0;
  const trickle = setInterval(() => {
    if (!socket.destroyed) socket.write(`X-${n++}: y\r\n`);
  }, 100);
  const r = await reply;
  clearInterval(trickle);
  await closed;
  const elapsed = Date.now() - started;
  t.not(r.ended, 'timeout', 'the server never cut the client');
  t.true(elapsed < 5000, `cut after ${elapsed} ms`);
  t.true(r.text === '' || /^HTTP\/1\.1 408 /.test(r.text), r.text);
});

// Every message rule over a real socket: the app's send() rejects with ERR_ALBANY_INVALID_MESSAGE
// and not one byte of the bad message (marked with "BAD") reaches the wire.
const wireRules: Array<[label: string, before: unknown[], bad: unknown]> = [
  ['body before start', [], { type: 'http.response.body', body: Buffer.from('BAD-BODY') }],
  ['status 99', [], { type: 'http.response.start', status: 99, headers: [['x-bad', 'BAD']] }],
  ['status 1000', [], { type: 'http.response.start', status: 1000, headers: [['x-bad', 'BAD']] }],
  [
    'CR/LF in the reason phrase',
    [],
    { type: 'http.response.start', status: 200, reason: 'ok\r\nx-bad: BAD', headers: [] },
  ],
  ['header name not a token', [], { type: 'http.response.start', status: 200, headers: [['x BAD', 'v']] }],
  ['LF in a header value', [], { type: 'http.response.start', status: 200, headers: [['x-a', 'v\nBAD: 1']] }],
  ['NUL in a header value', [], { type: 'http.response.start', status: 200, headers: [['x-a', 'BAD\0']] }],
  [
    'start twice',
    [{ type: 'http.response.start', status: 200 }],
    { type: 'http.response.start', status: 201, headers: [['x-bad', 'BAD']] },
  ],
  [
    'body after the last body',
    [
      { type: 'http.response.start', status: 200 },
      { type: 'http.response.body', body: Buffer.from('ok') },
    ],
    { type: 'http.response.body', body: Buffer.from('BAD') },
  ],
  [
    'trailers not announced',
    [
      { type: 'http.response.start', status: 200 },
      { type: 'http.response.body', body: Buffer.from('ok'), moreBody: true },
    ],
    { type: 'http.response.trailers', headers: [['x-bad', 'BAD']] },
  ],
  [
    'CR/LF in a trailer',
    [
      { type: 'http.response.start', status: 200, trailers: true },
      { type: 'http.response.body', body: Buffer.from('ok') },
    ],
    { type: 'http.response.trailers', headers: [['x-t', 'v\r\nBAD: 1']] },
  ],
];
for (const [label, before, bad] of wireRules) {
  test(`on the wire: ${label} throws in the app and nothing of it is sent`, async (t) => {
    const appError = deferred<unknown>();
    const server = await startServer(
      t,
      httpApp(async (_s, _r, send) => {
        for (const m of before) await send(m as never);
        try {
          await send(bad as never);
        } catch (error) {
          appError.resolve(error);
          throw error;
        }
        appError.resolve(undefined);
      }),
    );
    const socket = await connect(server.port);
    const reply = collect(socket, { timeoutMs: 3000 });
    socket.write(get());
    t.is(((await appError.promise) as { code?: string } | undefined)?.code, 'ERR_ALBANY_INVALID_MESSAGE');
    await delay(100); // anything the server would write for the bad message has had time to arrive
    socket.destroy();
    const r = await reply;
    t.false(r.text.includes('BAD'), r.text);
    t.is(server.log.errors().length, 1, 'the app error is logged once');
  });
}

test('a client that disconnects during pathsend makes send() reject with ERR_ALBANY_CLIENT_DISCONNECTED, not an app error', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'albany-pathsend-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'big.bin');
  await writeFile(file, Buffer.alloc(16 * 1024 * 1024)); // far more than socket buffers hold
  const failure = deferred<unknown>();
  const server = await startServer(
    t,
    httpApp(async (_s, _r, send) => {
      await send({ type: 'http.response.start', status: 200 });
      await send({ type: 'http.response.pathsend', path: file }).then(
        () => failure.resolve(undefined),
        (error: unknown) => {
          failure.resolve(error);
          throw error;
        },
      );
    }),
  );
  await leaveAfterFirstBytes(server.port);
  const error = await failure.promise;
  t.is((error as { code?: string } | undefined)?.code, 'ERR_ALBANY_CLIENT_DISCONNECTED');
  await delay(50);
  t.deepEqual(server.log.errors(), []);
});

test('a header the transport refuses (trailer without trailers: true) fails that request with a 500, not a hang', async (t) => {
  let sendError: unknown;
  const server = await startServer(
    t,
    httpApp(async (_s, _r, send) => {
      await send({ type: 'http.response.start', status: 200, headers: [['trailer', 'x-sum']] });
      try {
        await send({ type: 'http.response.body', body: Buffer.from('hi') });
      } catch (error) {
        sendError = error;
        throw error;
      }
    }),
  );
  const r = await rawRequest(server.port, get(), { until: (x) => hasCompleteResponse(x), timeoutMs: 3000 });
  const res = parseRaw(r.text);
  t.is(res.status, 500);
  t.is(res.body, 'Internal Server Error');
  t.true(sendError instanceof Error, "the app's send() rejected");
  t.is(server.log.errors().length, 1);
});

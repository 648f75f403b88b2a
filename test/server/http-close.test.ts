// Graceful close over real sockets: in-flight requests finish, new connections are refused.
import test from 'ava';
import { Agent, request } from 'undici';
import {
  collect,
  connect,
  deferred,
  delay,
  hasCompleteResponse,
  httpApp,
  parseRaw,
  sendText,
  startServer,
} from '../helpers/server.js';

test('close() lets an in-flight request finish, refuses new connections, then resolves', async (t) => {
  const entered = deferred();
  const release = deferred();
  const server = await startServer(
    t,
    httpApp(async (_s, _r, send) => {
      entered.resolve();
      await release.promise;
      await sendText(send, 'finished');
    }),
  );
  const inFlight = fetch(server.url);
  await entered.promise;
  let closed = false;
  const closing = server.close().then(() => (closed = true));
  await delay(100);
  t.false(closed, 'close() must wait for the in-flight request');
  await t.throwsAsync(connect(server.port), { code: 'ECONNREFUSED' });
  release.resolve();
  const res = await inFlight;
  t.is(res.status, 200);
  t.is(await res.text(), 'finished');
  await closing;
  t.true(closed);
});

test('close() cuts requests still running after gracefulTimeoutMs', async (t) => {
  const entered = deferred();
  const server = await startServer(
    t,
    httpApp(async () => {
      entered.resolve();
      await new Promise(() => {});
    }),
    { gracefulTimeoutMs: 300 },
  );
  const inFlight = fetch(server.url).then((r) => r.text());
  await entered.promise;
  const started = Date.now();
  await server.close();
  t.true(Date.now() - started < 3000);
  await t.throwsAsync(inFlight);
});

test('close() does not wait for idle keep-alive connections', async (t) => {
  const server = await startServer(
    t,
    httpApp(async (_s, _r, send) => sendText(send, 'ok')),
    { keepAliveTimeoutMs: 30_000 },
  );
  const agent = new Agent({ keepAliveTimeout: 30_000 });
  t.teardown(() => agent.destroy());
  t.is(await (await request(server.url, { dispatcher: agent })).body.text(), 'ok');
  const started = Date.now();
  await server.close();
  t.true(Date.now() - started < 3000, `close took ${Date.now() - started} ms`);
});

test('a request in flight when close() starts is answered with connection: close, so the client does not reuse the socket', async (t) => {
  const entered = deferred();
  const release = deferred();
  const server = await startServer(
    t,
    httpApp(async (scope, _r, send) => {
      if (scope.path === '/slow') {
        entered.resolve();
        await release.promise;
      }
      await sendText(send, scope.path);
    }),
  );
  const agent = new Agent({ connections: 2 });
  t.teardown(() => agent.destroy());
  t.is(await (await request(`${server.url}/warm`, { dispatcher: agent })).body.text(), '/warm');
  const slow = request(`${server.url}/slow`, { dispatcher: agent });
  await entered.promise;
  const closing = server.close();
  release.resolve();
  const res = await slow;
  t.is(await res.body.text(), '/slow');
  t.is(res.headers.connection, 'close');
  await closing;
});

test('close() is idempotent', async (t) => {
  const server = await startServer(
    t,
    httpApp(async (_s, _r, send) => sendText(send, 'ok')),
  );
  const a = server.close();
  const b = server.close();
  t.is(a, b);
  await a;
});

test('close() does not wait on a connection that never sent a request, nor on a half-sent head past gracefulTimeoutMs', async (t) => {
  const server = await startServer(
    t,
    httpApp(async (_s, _r, send) => sendText(send, 'ok')),
    { gracefulTimeoutMs: 500, keepAliveTimeoutMs: 30_000, headersTimeoutMs: 30_000 },
  );
  const silent = await connect(server.port);
  const partial = await connect(server.port);
  silent.on('error', () => {});
  partial.on('error', () => {});
  partial.write('GET / HTTP/1.1\r\nHost: x\r\n');
  await delay(50);
  const started = Date.now();
  await server.close();
  t.true(Date.now() - started < 3000, `close took ${Date.now() - started} ms`);
  silent.destroy();
  partial.destroy();
});

test('a port already in use makes serve() reject, after running lifespan shutdown for the started app', async (t) => {
  const events: string[] = [];
  const app = async (
    scope: { type: string },
    receive: () => Promise<{ type: string }>,
    send: (m: { type: string }) => Promise<void>,
  ) => {
    if (scope.type !== 'lifespan') return;
    for (;;) {
      const m = await receive();
      events.push(m.type);
      if (m.type === 'lifespan.startup') await send({ type: 'lifespan.startup.complete' });
      else return send({ type: 'lifespan.shutdown.complete' });
    }
  };
  const first = await startServer(
    t,
    httpApp(async (_s, _r, send) => sendText(send, 'first')),
  );
  const { serve } = await import('../../src/server/http.js');
  const err = await t.throwsAsync(
    serve(app as never, { host: '127.0.0.1', port: first.port, lifespan: 'on', logger: first.log }),
  );
  t.is((err as { code?: string }).code, 'EADDRINUSE');
  t.deepEqual(events, ['lifespan.startup', 'lifespan.shutdown']);
});

test('requestTimeoutMs without access log or metrics: a hung app gets 504 no earlier than the timeout, and http.disconnect', async (t) => {
  // The untimed path: requests carry no clock reading, the sweep stamps them on its first look.
  const seen = deferred<string>();
  const server = await startServer(
    t,
    httpApp(async (_s, receive) => {
      await receive();
      seen.resolve((await receive()).type);
    }),
    { requestTimeoutMs: 600, headersTimeoutMs: 600 },
  );
  const started = Date.now();
  const res = await fetch(server.url, { signal: AbortSignal.timeout(8000) });
  const took = Date.now() - started;
  t.is(res.status, 504);
  t.is(await res.text(), 'Gateway Timeout');
  t.true(took >= 590 && took < 4000, `took ${took} ms`);
  t.is(await seen.promise, 'http.disconnect');
  // A fresh request on the same server is timed from its own start, not from the server's first tick.
  const again = Date.now();
  t.is((await fetch(server.url, { signal: AbortSignal.timeout(8000) })).status, 504);
  t.true(Date.now() - again >= 590, `took ${Date.now() - again} ms`);
});

test('after retire(), close() does not cut a connection kept alive: its next request is answered with connection: close', async (t) => {
  const server = await startServer(
    t,
    httpApp(async (scope, _r, send) => sendText(send, scope.path)),
    { keepAliveTimeoutMs: 30_000, gracefulTimeoutMs: 10_000 },
  );
  const socket = await connect(server.port);
  t.teardown(() => socket.destroy());
  const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;
  const first = collect(socket, { until: (text) => hasCompleteResponse(text) });
  socket.write(get('/first'));
  const one = parseRaw((await first).text);
  t.is(one.body, '/first');
  t.is(one.headers.connection, 'keep-alive');
  // The successor is ready: the server retires and closes while this connection is idle between
  // requests. Its client may be sending the next request at this instant (here: just after).
  server.retire();
  let closed = false;
  const closing = server.close().then(() => (closed = true));
  const second = collect(socket);
  socket.write(get('/second'));
  const reply = await second;
  t.is(reply.ended, 'close', 'the server closes the connection after the answer');
  const two = parseRaw(reply.text);
  t.is(two.status, 200);
  t.is(two.body, '/second');
  t.is(two.headers.connection, 'close');
  await closing;
  t.true(closed);
});

test('after retire(), close() lets an idle kept-alive connection end at the keep-alive timeout, not later', async (t) => {
  const server = await startServer(
    t,
    httpApp(async (_s, _r, send) => sendText(send, 'ok')),
    { keepAliveTimeoutMs: 1000, gracefulTimeoutMs: 10_000 },
  );
  const socket = await connect(server.port);
  t.teardown(() => socket.destroy());
  const first = collect(socket, { until: (text) => hasCompleteResponse(text) });
  socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  t.is(parseRaw((await first).text).headers['keep-alive'], 'timeout=1');
  server.retire();
  const started = Date.now();
  const ended = collect(socket, { timeoutMs: 8000 });
  await server.close();
  const took = Date.now() - started;
  t.is((await ended).ended, 'close');
  // Not cut at once (the keep-alive timer runs from the response), and not held to gracefulTimeoutMs.
  t.true(took >= 500 && took < 5000, `close took ${took} ms`);
});

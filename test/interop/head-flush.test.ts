// When the response head leaves albany's node:http host: with the first body message when that is
// sent in the same turn (one sized write), else at the end of the turn in which the app sent
// http.response.start — never held until a slow first chunk. Gateway apps, fromFetch streams and
// fromNodeHandler's flushHeaders(), each checked with a client that records arrival times.
import test from 'ava';
import type http from 'node:http';
import type { App } from '../../src/gateway/types.js';
import { fromFetch } from '../../src/interop/fetch.js';
import { fromNodeHandler } from '../../src/interop/node.js';
import { timedGet } from './framework-checks.js';
import { sleep, withAlbany } from './helpers.js';

// Long enough that a head held for the body is told apart from one sent at once on a loaded machine.
const SLOW_MS = 1200;

test('a gateway app: the head leaves when start is sent, not with a slow first chunk', async (t) => {
  const app: App = async (scope, _receive, send) => {
    if (scope.type !== 'http') return;
    await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/event-stream']] });
    await sleep(SLOW_MS);
    await send({ type: 'http.response.body', body: Buffer.from('data: 1\n\n'), moreBody: false });
  };
  await withAlbany(app, async (url) => {
    const timed = await timedGet(url);
    t.is(timed.body, 'data: 1\n\n');
    t.true(timed.headAt < SLOW_MS / 2, `head at ${timed.headAt.toFixed(0)} ms`);
    t.true(timed.chunks[0]!.at > SLOW_MS * 0.8, `body at ${timed.chunks[0]!.at.toFixed(0)} ms`);
    t.is(timed.headers['transfer-encoding'], 'chunked');
  });
});

test('a gateway app: start and body in the same turn (each send awaited) still go out as one sized write', async (t) => {
  const app: App = async (scope, _receive, send) => {
    if (scope.type !== 'http') return;
    await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
    await Promise.resolve();
    await send({ type: 'http.response.body', body: Buffer.from('whole'), moreBody: false });
  };
  await withAlbany(app, async (url) => {
    const timed = await timedGet(url);
    t.is(timed.body, 'whole');
    t.is(timed.headers['content-length'], '5');
    t.is(timed.headers['transfer-encoding'], undefined);
  });
});

test('fromFetch: a stream whose first chunk is slow gets its head out at once', async (t) => {
  const app = fromFetch(
    () =>
      new Response(
        new ReadableStream({
          async start(controller) {
            await sleep(SLOW_MS);
            controller.enqueue(new TextEncoder().encode('late'));
            controller.close();
          },
        }),
        { headers: { 'content-type': 'text/plain' } },
      ),
  );
  await withAlbany(app, async (url) => {
    const timed = await timedGet(url);
    t.is(timed.body, 'late');
    t.true(timed.headAt < SLOW_MS / 2, `head at ${timed.headAt.toFixed(0)} ms`);
    t.true(timed.chunks[0]!.at > SLOW_MS * 0.8, `body at ${timed.chunks[0]!.at.toFixed(0)} ms`);
  });
});

test('fromNodeHandler: flushHeaders() sends the head now; writeHead alone waits for a body, as on node:http', async (t) => {
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    if (req.url === '/flush') res.flushHeaders();
    setTimeout(() => res.end('late'), SLOW_MS);
  };
  await withAlbany(fromNodeHandler(handler), async (url) => {
    const flushed = await timedGet(`${url}/flush`);
    t.is(flushed.body, 'late');
    t.true(flushed.headAt < SLOW_MS / 2, `flushHeaders: head at ${flushed.headAt.toFixed(0)} ms`);
    const held = await timedGet(`${url}/wait`);
    t.is(held.body, 'late');
    t.true(held.headAt > SLOW_MS * 0.8, `writeHead only: head at ${held.headAt.toFixed(0)} ms`);
    // Held with its body, the response still goes out sized.
    t.is(held.headers['content-length'], '4');
  });
});

test('fromNodeHandler: res.write() leaves at once, each write as its own chunk', async (t) => {
  const handler = (_req: http.IncomingMessage, res: http.ServerResponse) => {
    res.write('first;');
    setTimeout(() => res.write('second;'), SLOW_MS);
    setTimeout(() => res.end('third'), SLOW_MS * 2);
  };
  await withAlbany(fromNodeHandler(handler), async (url) => {
    const timed = await timedGet(url);
    t.is(timed.body, 'first;second;third');
    t.true(timed.chunks[0]!.at < SLOW_MS / 2, `first write at ${timed.chunks[0]!.at.toFixed(0)} ms`);
    t.true(timed.chunks[0]!.text.startsWith('first;'));
    const second = timed.chunks.find((c) => c.text.includes('second;'))!;
    t.true(second.at > SLOW_MS * 0.8 && second.at < SLOW_MS * 1.6, `second write at ${second.at.toFixed(0)} ms`);
  });
});

// Slow clients: a head dribbled byte by byte (slowloris) and a body dribbled the same way are cut by
// the server's timeouts; a client that stops reading a large response holds the app's send() instead
// of growing the server's memory.
import test from 'ava';
import type net from 'node:net';
import { collect, connect, delay, httpApp, startServer } from '../helpers/server.js';
import { bounded } from './helpers.js';

// Small timeouts so each cut happens within ~1-2 s: node checks them every connectionsCheckingInterval
// (albany sets it to half the smaller timeout), so a cut lands at most 1.5× the timeout after the start.
const HEADERS_TIMEOUT_MS = 600;
const REQUEST_TIMEOUT_MS = 1200;

/** Writes `text` one byte every `everyMs` until done or the socket closes; returns the bytes written. */
async function dribble(socket: net.Socket, text: string, everyMs: number): Promise<number> {
  let sent = 0;
  for (const ch of text) {
    if (socket.destroyed || socket.writableEnded) break;
    socket.write(ch);
    sent++;
    await delay(everyMs);
  }
  return sent;
}

test('slowloris: a head dribbled at 1 byte / 50 ms is cut after headersTimeout (600 ms) and the app never runs', async (t) => {
  let calls = 0;
  const server = await startServer(
    t,
    httpApp(async (_scope, _receive, send) => {
      calls++;
      await send({ type: 'http.response.start', status: 200 });
      await send({ type: 'http.response.body', body: Buffer.from('ok') });
    }),
    { headersTimeoutMs: HEADERS_TIMEOUT_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS },
  );
  // Five slowloris clients at once, each would need 300 × 50 ms = 15 s to finish its head.
  const head = `GET / HTTP/1.1\r\nHost: x\r\n${'X-Pad: aaaaaaaaaaaaaaaaaaaaaaaa\r\n'.repeat(10)}\r\n`;
  const started = Date.now();
  const outcomes = await bounded(
    Promise.all(
      Array.from({ length: 5 }, async () => {
        const socket = await connect(server.port);
        const result = collect(socket, { timeoutMs: 6000 });
        const sent = await dribble(socket, head, 50);
        const r = await result;
        return { ...r, sent, ms: Date.now() - started };
      }),
    ),
    10_000,
    'slowloris clients',
  );
  for (const o of outcomes) {
    t.not(o.ended, 'timeout', 'the server closed the connection itself');
    t.true(o.sent < head.length, `cut before the head was complete (${o.sent}/${head.length} bytes)`);
    t.true(
      o.text === '' || /^HTTP\/1\.1 408 /.test(o.text),
      `nothing or a 408: ${JSON.stringify(o.text.slice(0, 40))}`,
    );
    t.true(o.ms < HEADERS_TIMEOUT_MS * 1.5 + 1500, `cut in ${o.ms} ms`);
  }
  t.is(calls, 0);
  const res = await fetch(server.url);
  t.is(res.status, 200, 'the server still serves');
});

test('slow body: a 2,000-byte body dribbled at 1 byte / 50 ms is cut after requestTimeout (1,200 ms); the app sees http.disconnect', async (t) => {
  const seen: string[] = [];
  const server = await startServer(
    t,
    httpApp(async (_scope, receive, send) => {
      for (;;) {
        const m = await receive();
        if (m.type === 'http.disconnect') {
          seen.push('disconnect');
          return;
        }
        if (!m.moreBody) break;
      }
      seen.push('complete');
      await send({ type: 'http.response.start', status: 200 });
      await send({ type: 'http.response.body', body: Buffer.from('ok') });
    }),
    { headersTimeoutMs: HEADERS_TIMEOUT_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS },
  );
  const socket = await connect(server.port);
  const started = Date.now();
  const result = collect(socket, { timeoutMs: 6000 });
  socket.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n');
  const sent = await bounded(dribble(socket, 'b'.repeat(2000), 50), 10_000, 'dribble');
  const r = await result;
  const ms = Date.now() - started;
  t.not(r.ended, 'timeout', 'the server closed the connection itself');
  t.true(sent < 2000, `cut after ${sent} body bytes`);
  t.true(r.text === '' || /^HTTP\/1\.1 408 /.test(r.text), `nothing or a 408: ${JSON.stringify(r.text.slice(0, 40))}`);
  t.true(ms < REQUEST_TIMEOUT_MS * 1.5 + 1500, `cut in ${ms} ms`);
  t.true(
    await bounded(
      (async () => {
        while (seen.length === 0) await delay(10);
        return true;
      })(),
      3000,
      'app end',
    ),
  );
  t.deepEqual(seen, ['disconnect']);
  t.is((await fetch(server.url, { method: 'POST', body: 'x' })).status, 200, 'the server still serves');
});

// 32 MiB offered in 64 KiB chunks. Loopback socket buffers (sender + receiver, autotuned) hold a few
// MiB at most, so a reader that stops must stall the app well before 12 MiB have been sent.
const CHUNK = 64 * 1024;
const CHUNKS = 512;
const STALL_BOUND = 12 * 1024 * 1024;

test("a client that stops reading a 32 MiB response stalls the app's send() (chunks-sent plateaus under 12 MiB, RSS flat); reading again gets every byte", async (t) => {
  let sentChunks = 0;
  let done = false;
  const chunk = Buffer.alloc(CHUNK, 0x61);
  const server = await startServer(
    t,
    httpApp(async (_scope, _receive, send) => {
      await send({
        type: 'http.response.start',
        status: 200,
        headers: [
          ['content-type', 'application/octet-stream'],
          ['content-length', String(CHUNK * CHUNKS)],
        ],
      });
      for (let i = 0; i < CHUNKS; i++) {
        await send({ type: 'http.response.body', body: chunk, moreBody: i < CHUNKS - 1 });
        sentChunks++;
      }
      done = true;
    }),
  );
  const socket = await connect(server.port);
  let received = 0;
  let headEnd = -1;
  let paused = false;
  const head: Buffer[] = [];
  socket.on('data', (d: Buffer) => {
    received += d.length;
    if (headEnd === -1) {
      head.push(d);
      headEnd = Buffer.concat(head).indexOf('\r\n\r\n');
    }
    if (!paused) {
      paused = true;
      socket.pause();
    }
  });
  socket.write('GET /big HTTP/1.1\r\nHost: x\r\n\r\n');
  global.gc?.();
  const rssBefore = process.memoryUsage.rss();
  // Wait until the app has stalled: the counter stops moving for 500 ms.
  let last = -1;
  const stallDeadline = Date.now() + 8000;
  while (sentChunks !== last && Date.now() < stallDeadline) {
    last = sentChunks;
    await delay(500);
  }
  const stalledAt = sentChunks;
  const rssGrew = process.memoryUsage.rss() - rssBefore;
  t.log(
    `app stalled after ${stalledAt} of ${CHUNKS} chunks (${((stalledAt * CHUNK) / 2 ** 20).toFixed(1)} MiB); RSS +${(rssGrew / 2 ** 20).toFixed(1)} MiB`,
  );
  t.false(done);
  t.true(stalledAt * CHUNK < STALL_BOUND, `send() kept going to ${stalledAt} chunks`);
  t.true(rssGrew < 24 * 1024 * 1024, `RSS grew ${(rssGrew / 2 ** 20).toFixed(1)} MiB`);

  // Reading again lets the app finish, and every byte arrives.
  const ended = new Promise<void>((resolve) =>
    socket.on('data', () => {
      if (received - (headEnd + 4) >= CHUNK * CHUNKS) resolve();
    }),
  );
  socket.resume();
  await bounded(ended, 15_000, 'the rest of the body');
  socket.destroy();
  t.is(received - (headEnd + 4), CHUNK * CHUNKS);
  t.true(
    await bounded(
      (async () => {
        while (!done) await delay(10);
        return true;
      })(),
      3000,
      'the app',
    ),
  );
});

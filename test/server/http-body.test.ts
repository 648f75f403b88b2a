// Request bodies over real sockets: streaming, backpressure, limits, disconnects.
import test from 'ava';
import type { Socket } from 'node:net';
import { request } from 'undici';
import type { HttpReceiveMessage } from '../../src/gateway/types.js';
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

/** Reads the whole request body through receive(), returning the chunks' sizes and the bytes. */
async function readAll(receive: () => Promise<unknown>): Promise<{ messages: HttpReceiveMessage[]; body: Buffer }> {
  const messages: HttpReceiveMessage[] = [];
  const parts: Uint8Array[] = [];
  for (;;) {
    const m = (await receive()) as HttpReceiveMessage;
    messages.push(m);
    if (m.type !== 'http.request') break;
    parts.push(m.body);
    if (!m.moreBody) break;
  }
  return { messages, body: Buffer.concat(parts) };
}

test('a body with content-length arrives whole, the last chunk saying moreBody: false', async (t) => {
  let seen: HttpReceiveMessage[] = [];
  const server = await startServer(
    t,
    httpApp(async (_scope, receive, send) => {
      const { messages, body } = await readAll(receive);
      seen = messages;
      await sendText(send, `${body.length}:${body.subarray(0, 5).toString()}`);
    }),
  );
  const payload = Buffer.alloc(300_000, 'abcde');
  const res = await fetch(server.url, { method: 'POST', body: payload });
  t.is(await res.text(), '300000:abcde');
  t.is(seen.at(-1)!.type, 'http.request');
  t.false((seen.at(-1) as { moreBody: boolean }).moreBody);
  t.true(seen.slice(0, -1).every((m) => m.type === 'http.request' && m.moreBody));
});

test('a chunked upload streams through receive() and ends with moreBody: false', async (t) => {
  const server = await startServer(
    t,
    httpApp(async (_scope, receive, send) => {
      const { messages, body } = await readAll(receive);
      await sendText(send, `${messages.length > 1 ? 'many' : 'one'}:${body.toString()}`);
    }),
  );
  const parts = ['alpha-', 'beta-', 'gamma'];
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = parts.shift();
      if (next === undefined) return controller.close();
      await delay(30);
      controller.enqueue(Buffer.from(next));
    },
  });
  const res = await fetch(server.url, { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
  t.is(await res.text(), 'many:alpha-beta-gamma');
});

test('a request without a body yields one empty chunk with moreBody: false, then waits for disconnect', async (t) => {
  const first = deferred<HttpReceiveMessage>();
  const server = await startServer(
    t,
    httpApp(async (_scope, receive, send) => {
      first.resolve(await receive());
      await sendText(send, 'ok');
    }),
  );
  const res = await fetch(server.url);
  t.is(await res.text(), 'ok');
  const m = await first.promise;
  t.deepEqual(
    { ...m, body: Buffer.from((m as { body: Uint8Array }).body) },
    { type: 'http.request', body: Buffer.alloc(0), moreBody: false },
  );
});

test('a slowly-read upload is not read ahead: the server pulls only a little more than the app took', async (t) => {
  const total = 50 * 1024 * 1024;
  let appBytes = 0;
  let serverSocket: Socket | undefined;
  let stopped = false;
  const server = await startServer(
    t,
    httpApp(async (_scope, receive, send) => {
      for (;;) {
        const m = await receive();
        if (m.type !== 'http.request') return;
        appBytes += m.body.length;
        if (!m.moreBody) break;
        // One chunk per 20 ms: far slower than the client can write.
        await delay(20);
        if (stopped) return;
      }
      await sendText(send, String(appBytes));
    }),
    { maxBodySize: 0 },
  );
  server.server.on('connection', (s: Socket) => (serverSocket = s));

  const client = await connect(server.port);
  client.on('error', () => {});
  client.write(`POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${total}\r\n\r\n`);
  let written = 0;
  let writing = true;
  const chunk = Buffer.alloc(64 * 1024, 1);
  void (async () => {
    while (writing && written < total) {
      const ok = client.write(chunk);
      written += chunk.length;
      if (!ok)
        await new Promise<void>((resolve) => {
          client.once('drain', resolve);
          client.once('close', resolve);
        });
    }
  })();

  const samples: Array<{ pulled: number; app: number }> = [];
  for (let i = 0; i < 10; i++) {
    await delay(100);
    samples.push({ pulled: serverSocket?.bytesRead ?? 0, app: appBytes });
  }
  writing = false;
  stopped = true;
  client.destroy();
  t.log(`client wrote ${written}, last sample ${JSON.stringify(samples.at(-1))}`);

  t.true(appBytes > 0, 'the app read something');
  t.true(written < total, `client managed to write all ${total} bytes: the server never pushed back`);
  for (const { pulled, app } of samples) {
    // Node's own buffers (socket + request stream) are tens of KiB; 2 MiB is a generous bound.
    t.true(pulled - app < 2 * 1024 * 1024, `server read ${pulled} bytes while the app had taken only ${app}`);
  }
  t.true(samples.at(-1)!.pulled < total / 4, `server pulled ${samples.at(-1)!.pulled} of ${total} bytes in one second`);
});

test('413 before reading the body when content-length is over maxBodySize; the app never runs', async (t) => {
  let called = false;
  const server = await startServer(
    t,
    httpApp(async (_scope, _receive, send) => {
      called = true;
      await sendText(send, 'no');
    }),
    { maxBodySize: 1000 },
  );
  // Only the head is sent: the 413 must come without waiting for the body.
  const r = await rawRequest(server.port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n', {
    timeoutMs: 3000,
  });
  const res = parseRaw(r.text);
  t.is(res.status, 413);
  t.is(res.body, 'Payload Too Large');
  t.is(res.headers.connection, 'close');
  t.is(r.ended, 'close', 'the connection is closed so the rest of the body is never read');
  t.false(called);
  // The server is still healthy afterwards.
  t.is((await fetch(server.url)).status, 200);
});

test('413 on a chunked body that grows past maxBodySize; the app sees http.disconnect', async (t) => {
  const seen = deferred<HttpReceiveMessage[]>();
  const server = await startServer(
    t,
    httpApp(async (_scope, receive, send) => {
      const { messages } = await readAll(receive);
      seen.resolve(messages);
      await send({ type: 'http.response.start', status: 200 }).catch(() => {});
    }),
    { maxBodySize: 1000 },
  );
  const client = await connect(server.port);
  const reply = collect(client, { timeoutMs: 5000 });
  const piece = 'x'.repeat(600);
  client.write('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
  client.write(`${piece.length.toString(16)}\r\n${piece}\r\n`);
  await delay(50);
  client.write(`${piece.length.toString(16)}\r\n${piece}\r\n`);
  const r = await reply;
  t.is(parseRaw(r.text).status, 413);
  const messages = await seen.promise;
  t.is(messages.at(-1)!.type, 'http.disconnect');
  t.deepEqual(server.log.errors(), []);
  client.destroy();
});

test('a body exactly at maxBodySize is accepted', async (t) => {
  const server = await startServer(
    t,
    httpApp(async (_scope, receive, send) => {
      const { body } = await readAll(receive);
      await sendText(send, String(body.length));
    }),
    { maxBodySize: 1000 },
  );
  const res = await request(server.url, { method: 'POST', body: Buffer.alloc(1000) });
  t.is(res.statusCode, 200);
  t.is(await res.body.text(), '1000');
});

test('a client that disconnects mid-upload: receive() yields http.disconnect and send() then rejects', async (t) => {
  const result = deferred<{ messages: HttpReceiveMessage[]; sendError: unknown }>();
  const gotSome = deferred();
  const server = await startServer(
    t,
    httpApp(async (_scope, receive, send) => {
      const messages: HttpReceiveMessage[] = [];
      for (;;) {
        const m = await receive();
        messages.push(m);
        if (m.type === 'http.request') gotSome.resolve();
        if (m.type !== 'http.request' || !m.moreBody) break;
      }
      const sendError = await send({ type: 'http.response.start', status: 200 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      result.resolve({ messages, sendError });
    }),
  );
  const client = await connect(server.port);
  client.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n');
  client.write(Buffer.alloc(10_000));
  await gotSome.promise;
  client.destroy();
  const { messages, sendError } = await result.promise;
  t.is(messages.at(-1)!.type, 'http.disconnect');
  t.is((sendError as { code?: string }).code, 'ERR_ALBANY_CLIENT_DISCONNECTED');
  await delay(50);
  t.deepEqual(server.log.errors(), [], 'a client going away is not an app error');
});

test('an app that ignores the body still answers, and the connection stays usable', async (t) => {
  const server = await startServer(
    t,
    httpApp(async (_scope, _receive, send) => {
      await sendText(send, 'ignored');
    }),
  );
  const client = await connect(server.port);
  const reply = collect(client, { timeoutMs: 5000, until: (text) => (text.match(/ignored/g) ?? []).length === 2 });
  client.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello');
  client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  const r = await reply;
  t.is((r.text.match(/HTTP\/1\.1 200/g) ?? []).length, 2);
  client.destroy();
});

test('receive() after the response is done resolves http.disconnect once the response is sent', async (t) => {
  const late = deferred<string>();
  const server = await startServer(
    t,
    httpApp(async (_scope, receive, send) => {
      await receive();
      await sendText(send, 'done');
      const m = await Promise.race([receive(), delay(3000).then(() => ({ type: 'timeout' }))]);
      late.resolve(m.type);
    }),
  );
  t.is(await (await fetch(server.url)).text(), 'done');
  t.is(await late.promise, 'http.disconnect');
});

test('Expect: 100-continue with an oversized content-length gets 413 without ever inviting the body', async (t) => {
  const server = await startServer(
    t,
    httpApp(async (_s, receive, send) => {
      await readAll(receive);
      await sendText(send, 'read');
    }),
    { maxBodySize: 100 },
  );
  const r = await rawRequest(
    server.port,
    'POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n',
    { timeoutMs: 3000 },
  );
  t.regex(r.text, /^HTTP\/1\.1 413 /);
  t.false(r.text.includes('100 Continue'));
});

test('Expect: 100-continue: 100 Continue goes out when the app reads, then the body flows', async (t) => {
  const server = await startServer(
    t,
    httpApp(async (_s, receive, send) => {
      await delay(100); // the app takes its time before reading: no 100 yet
      const { body } = await readAll(receive);
      await sendText(send, `got ${body.toString()}`);
    }),
  );
  const socket = await connect(server.port);
  const interim = collect(socket, { timeoutMs: 3000, until: (x) => x.includes('\r\n\r\n') });
  const sentAt = Date.now();
  socket.write('POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n');
  const first = await interim;
  t.regex(first.text, /^HTTP\/1\.1 100 Continue\r\n\r\n$/);
  t.true(Date.now() - sentAt >= 80, '100 Continue was sent before the app asked for the body');
  const final = collect(socket, { timeoutMs: 3000, until: (x) => hasCompleteResponse(x) });
  socket.write('hello');
  const res = parseRaw((await final).text);
  t.is(res.status, 200);
  t.is(res.body, 'got hello');
  socket.destroy();
});

test('Expect: 100-continue and an app that answers without reading: no 100, and the connection closes', async (t) => {
  const server = await startServer(
    t,
    httpApp(async (_s, _r, send) => sendText(send, 'no thanks', 403)),
  );
  const r = await rawRequest(
    server.port,
    'POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n',
    { timeoutMs: 3000 },
  );
  const res = parseRaw(r.text);
  t.is(res.status, 403);
  t.is(res.headers.connection, 'close');
  t.not(r.ended, 'timeout');
});

// request.signal in fromFetch aborts when the client goes away, for every method: a POST whose body
// the handler never reads, a PUT without a body, a chunked PATCH. In the gateway protocol the
// disconnect only comes from receive() after the body, so the signal's watcher reads the body
// ahead (bounded) and hands it to the body readers unchanged.
import test from 'ava';
import net from 'node:net';
import { fromFetch } from '../../src/interop/fetch.js';
import { Communicator, httpScope } from '../../src/testing/communicator.js';
import type { App, HttpResponseBodyMessage } from '../../src/gateway/types.js';
import { sleep, withAlbany } from './helpers.js';

// Handlers waiting for their client to leave, by request id: told when the handler listens, and
// when the abort reached it.
const listening = new Map<string, () => void>();
const aborted = new Map<string, () => void>();
// Signals kept by /keep-signal, by request id.
const signals = new Map<string, AbortSignal>();

async function handler(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.pathname === '/wait') {
    const id = url.searchParams.get('id')!;
    const gone = new Promise<void>((resolve) =>
      request.signal.addEventListener('abort', () => resolve(), { once: true }),
    );
    listening.get(id)?.();
    await gone;
    aborted.get(id)?.();
    return new Response('too late');
  }
  if (url.pathname === '/signal-then-body') {
    // The signal first (its watcher starts reading ahead), then the whole body: nothing lost or reordered.
    const signal = request.signal;
    const body = new Uint8Array(await request.arrayBuffer());
    let sum = 0;
    for (const b of body) sum = (sum + b) % 65521;
    return new Response(`${body.length} ${sum} ${signal.aborted}`);
  }
  if (url.pathname === '/keep-signal') {
    // The signal is kept for a look after the response; a streamed answer if asked for.
    signals.set(url.searchParams.get('id')!, request.signal);
    if (url.searchParams.has('stream')) {
      let n = 0;
      return new Response(
        new ReadableStream<Uint8Array>({
          async pull(c) {
            await sleep(10);
            if (n++ < 3) c.enqueue(new TextEncoder().encode(`part${n} `));
            else c.close();
          },
        }),
      );
    }
    return new Response(`answered ${request.method}`);
  }
  if (url.pathname === '/endless') {
    const id = url.searchParams.get('id')!;
    request.signal.addEventListener('abort', () => aborted.get(id)?.(), { once: true });
    return new Response(
      new ReadableStream<Uint8Array>({
        async pull(c) {
          await sleep(20);
          c.enqueue(new TextEncoder().encode('tick '));
        },
      }),
    );
  }
  if (url.pathname === '/signal-then-refuse') {
    // Asks for the signal, then answers without the body (an auth check): no upload is invited.
    void request.signal;
    await sleep(100);
    return new Response('no', { status: 401 });
  }
  if (url.pathname === '/signal-then-echo') {
    void request.signal;
    return new Response(`got ${await request.text()}`);
  }
  return new Response('no such route', { status: 404 });
}

const heads: Record<string, (path: string) => string> = {
  'POST with a body the handler never reads': (path) =>
    `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello`,
  'PUT without a body': (path) => `PUT ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`,
  'DELETE without a content-length': (path) => `DELETE ${path} HTTP/1.1\r\nHost: x\r\n\r\n`,
  'chunked PATCH, body unread and not finished': (path) =>
    `PATCH ${path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n`,
  'GET (as before)': (path) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`,
};

for (const directApps of [true, false]) {
  const where = directApps ? 'direct path' : 'gateway path';
  for (const [label, head] of Object.entries(heads)) {
    test(`${where}: ${label}: request.signal aborts when the client's socket is destroyed`, async (t) => {
      await withAlbany(
        fromFetch(handler),
        async (_url, server) => {
          const id = `${where}-${label}`;
          const seen = new Promise<void>((resolve) => aborted.set(id, resolve));
          const started = new Promise<void>((resolve) => listening.set(id, resolve));
          const socket = net.connect(server.port, '127.0.0.1');
          socket.on('error', () => {});
          socket.write(head(`/wait?id=${encodeURIComponent(id)}`));
          // Destroy only once the handler listens: a loaded machine may not have read the request yet.
          await started;
          socket.destroy();
          const outcome = await Promise.race([seen.then(() => 'aborted'), sleep(3000).then(() => 'still waiting')]);
          t.is(outcome, 'aborted');
        },
        { directApps },
      );
    });
  }

  test(`${where}: a 1 MiB upload read after the signal was asked for arrives whole and in order`, async (t) => {
    await withAlbany(
      fromFetch(handler),
      async (url) => {
        const body = new Uint8Array(1024 * 1024);
        for (let i = 0; i < body.length; i++) body[i] = (i * 7 + (i >> 10)) & 0xff;
        let sum = 0;
        for (const b of body) sum = (sum + b) % 65521;
        // Streamed (chunked), so the server sees it in many pieces.
        const stream = new ReadableStream<Uint8Array>({
          start(c) {
            for (let at = 0; at < body.length; at += 50_000) c.enqueue(body.subarray(at, at + 50_000));
            c.close();
          },
        });
        const res = await fetch(`${url}/signal-then-body`, {
          method: 'POST',
          body: stream,
          duplex: 'half',
        } as RequestInit);
        t.is(await res.text(), `${body.length} ${sum} false`);
      },
      { directApps },
    );
  });
}

for (const directApps of [true, false]) {
  const where = directApps ? 'direct path' : 'gateway path';

  test(`${where}: Expect: 100-continue and a handler that takes the signal but not the body: no 100 Continue, just the answer`, async (t) => {
    await withAlbany(
      fromFetch(handler),
      async (_url, server) => {
        const socket = net.connect(server.port, '127.0.0.1');
        socket.on('error', () => {});
        let text = '';
        socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
        const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
        socket.write(
          'POST /signal-then-refuse HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n',
        );
        await Promise.race([closed, sleep(3000)]);
        socket.destroy();
        t.true(text.startsWith('HTTP/1.1 401 '), JSON.stringify(text));
        t.false(text.includes('100 Continue'), JSON.stringify(text));
      },
      { directApps },
    );
  });

  test(`${where}: Expect: 100-continue and a handler that takes the signal, then reads the body: 100 Continue, then the answer`, async (t) => {
    await withAlbany(
      fromFetch(handler),
      async (_url, server) => {
        const socket = net.connect(server.port, '127.0.0.1');
        socket.on('error', () => {});
        let text = '';
        let sawContinue!: () => void;
        const continued = new Promise<void>((resolve) => (sawContinue = resolve));
        socket.on('data', (d: Buffer) => {
          text += d.toString('latin1');
          if (text.includes('100 Continue\r\n\r\n')) sawContinue();
        });
        const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
        socket.write(
          'POST /signal-then-echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n',
        );
        t.is(
          await Promise.race([continued.then(() => 'continued'), sleep(3000).then(() => 'no 100 Continue')]),
          'continued',
        );
        socket.write('hello');
        await Promise.race([closed, sleep(3000)]);
        socket.destroy();
        t.true(text.startsWith('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n'), JSON.stringify(text));
        t.true(text.endsWith('got hello'), JSON.stringify(text));
      },
      { directApps },
    );
  });
}

for (const directApps of [true, false]) {
  const where = directApps ? 'direct path' : 'gateway path';

  test(`${where}: a response that went out completely leaves the signal quiet, as on @hono/node-server`, async (t) => {
    await withAlbany(
      fromFetch(handler),
      async (url) => {
        const cases: Array<[string, RequestInit, string]> = [
          ['get', {}, 'answered GET'],
          ['post', { method: 'POST', body: 'x'.repeat(1000) }, 'answered POST'],
          ['stream', {}, 'part1 part2 part3 '],
        ];
        for (const [name, init, text] of cases) {
          const id = `${where}-${name}`;
          const res = await fetch(
            `${url}/keep-signal?id=${encodeURIComponent(id)}${name === 'stream' ? '&stream' : ''}`,
            { ...init, headers: { connection: 'close' } },
          );
          t.is(await res.text(), text);
          await sleep(100); // the connection closes; a signal that took that for the client leaving would be aborted by now
          t.false(signals.get(id)!.aborted, `${name}: the signal was aborted after a complete response`);
        }
      },
      { directApps },
    );
  });

  test(`${where}: a client that leaves in the middle of a streamed response aborts the signal`, async (t) => {
    await withAlbany(
      fromFetch(handler),
      async (_url, server) => {
        const id = `${where}-endless`;
        const seen = new Promise<void>((resolve) => aborted.set(id, resolve));
        const socket = net.connect(server.port, '127.0.0.1');
        socket.on('error', () => {});
        const firstBytes = new Promise<void>((resolve) => socket.once('data', () => resolve()));
        socket.write(`POST /endless?id=${encodeURIComponent(id)} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi`);
        await firstBytes;
        socket.destroy();
        t.is(await Promise.race([seen.then(() => 'aborted'), sleep(3000).then(() => 'still streaming')]), 'aborted');
      },
      { directApps },
    );
  });
}

test('the watcher behind request.signal reads at most about 64 KiB ahead of a handler that does not read the body', async (t) => {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const fetchApp = fromFetch(
    async (request) => {
      void request.signal;
      await released;
      const text = await request.text();
      return new Response(`${text.length} ${text.slice(0, 3)}${text.slice(-3)}`);
    },
    { lightResponse: false },
  );
  let receives = 0;
  // The real protocol, counted: each receive() the app makes.
  const counted: App = (scope, receive, send) =>
    fetchApp(
      scope,
      () => {
        receives++;
        return receive();
      },
      send,
    );
  const c = new Communicator(counted, httpScope({ method: 'POST', headers: [['host', 'x']] }));
  const chunk = 16 * 1024;
  for (let i = 0; i < 20; i++) {
    const body = new Uint8Array(chunk).fill(0x61 + (i % 26));
    c.input({ type: 'http.request', body, moreBody: i < 19 });
  }
  await sleep(200);
  t.true(receives >= 4 && receives <= 5, `receives before the handler read: ${receives}`);
  release();
  const start = await c.output();
  t.is((start as { status: number }).status, 200);
  const out = await c.output();
  t.is(Buffer.from((out as HttpResponseBodyMessage).body!).toString(), `${20 * chunk} aaattt`);
});

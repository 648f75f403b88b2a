// fromFetch takes any object that behaves as a Response, whichever library made it: undici's own
// copy, a @whatwg-node ponyfill, @hono/node-server's replaced global. Their classes are not this
// realm's Response, so an `instanceof` check refused them with a 500. Also: a Response's
// statusText is the reason phrase on the wire, and toFetch carries `reason` into statusText.
// This file installs @hono/node-server's global Response, so it runs in its own worker (as every
// ava file does) and nothing else sees the replaced global.
import test from 'ava';
import { createRequire } from 'node:module';
import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import { Response as UndiciResponse } from 'undici';
import { fromFetch, toFetch } from '../../src/interop/fetch.js';
import { NativeResponse } from '../../src/interop/light-response.js';
import type { App } from '../../src/gateway/types.js';
import type { Logger } from '../../src/server/options.js';
import { rawExchange, withAlbany } from './helpers.js';

// Loaded untyped: the package's types pull the DOM lib into the whole typecheck (`/// <reference lib="dom">`).
const { Response: WhatwgResponse } = createRequire(import.meta.url)('@whatwg-node/fetch') as {
  Response: typeof Response;
};

// @hono/node-server replaces the global Response the first time it builds a listener, as in any
// app served by it; its Response is then what `new Response()` makes everywhere in this process.
getRequestListener(() => new Response('unused'));
const NodeServerResponse = globalThis.Response;

const encoder = new TextEncoder();

function capture(): { logger: Logger; errors: string[] } {
  const errors: string[] = [];
  const quiet = () => {};
  return { errors, logger: { debug: quiet, info: quiet, warn: quiet, error: (m) => errors.push(m) } };
}

function streamOf(...parts: string[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      for (const p of parts) c.enqueue(encoder.encode(p));
      c.close();
    },
  });
}

const app = new Hono();
app.get(
  '/undici',
  () =>
    new UndiciResponse('from undici', {
      status: 201,
      headers: { 'x-lib': 'undici', 'content-type': 'text/x-undici' },
    }) as unknown as Response,
);
app.get(
  '/undici-stream',
  () => new UndiciResponse(streamOf('un', 'dici'), { headers: { 'x-lib': 'undici' } }) as unknown as Response,
);
app.get('/whatwg', () => {
  const headers = new Headers([
    ['x-lib', 'whatwg'],
    ['set-cookie', 'a=1'],
    ['set-cookie', 'b=2'],
  ]);
  return new WhatwgResponse('from whatwg', { status: 202, headers }) as unknown as Response;
});
app.get(
  '/whatwg-stream',
  () => new WhatwgResponse(streamOf('what', 'wg'), { headers: { 'x-lib': 'whatwg' } }) as unknown as Response,
);
app.get(
  '/node-server',
  () => new NodeServerResponse('from node-server', { status: 203, headers: { 'x-lib': 'node-server' } }),
);
app.get('/hono', (c) => c.json({ via: 'hono' }, 200));
app.get('/status-text', () => new NativeResponse('fine', { status: 200, statusText: 'Fine Thanks' }));
app.get('/status-text-light', () => new Response('fine', { status: 299, statusText: 'Custom Thing' }));
app.get('/not-a-response', () => ({ status: 200, body: 'no headers' }) as unknown as Response);

for (const directApps of [true, false]) {
  const path = directApps ? 'direct path' : 'gateway path';

  test(`${path}: an undici Response (not this realm's class) is sent as is, streamed or whole`, async (t) => {
    await withAlbany(
      fromFetch(app),
      async (url) => {
        const whole = await fetch(`${url}/undici`);
        t.is(whole.status, 201);
        t.is(whole.headers.get('x-lib'), 'undici');
        t.is(whole.headers.get('content-type'), 'text/x-undici');
        t.is(await whole.text(), 'from undici');
        const streamed = await fetch(`${url}/undici-stream`);
        t.is(streamed.status, 200);
        t.is(streamed.headers.get('x-lib'), 'undici');
        t.is(await streamed.text(), 'undici');
      },
      { directApps },
    );
  });

  test(`${path}: a @whatwg-node/fetch ponyfill Response is sent as is, set-cookie kept apart`, async (t) => {
    await withAlbany(
      fromFetch(app),
      async (url) => {
        const whole = await fetch(`${url}/whatwg`);
        t.is(whole.status, 202);
        t.is(whole.headers.get('x-lib'), 'whatwg');
        t.deepEqual(whole.headers.getSetCookie(), ['a=1', 'b=2']);
        t.is(await whole.text(), 'from whatwg');
        const streamed = await fetch(`${url}/whatwg-stream`);
        t.is(streamed.headers.get('x-lib'), 'whatwg');
        t.is(await streamed.text(), 'whatwg');
      },
      { directApps },
    );
  });

  test(`${path}: with @hono/node-server's global Response in place, its Responses and Hono's answers keep status, headers and the text content-type`, async (t) => {
    t.not(NodeServerResponse, NativeResponse, '@hono/node-server has replaced the global Response');
    await withAlbany(
      fromFetch(app),
      async (url) => {
        const res = await fetch(`${url}/node-server`);
        t.is(res.status, 203);
        t.is(res.headers.get('x-lib'), 'node-server');
        t.regex(res.headers.get('content-type') ?? '', /^text\/plain; ?charset=UTF-8$/i);
        t.is(await res.text(), 'from node-server');
        const hono = await fetch(`${url}/hono`);
        t.is(hono.headers.get('content-type'), 'application/json');
        t.deepEqual(await hono.json(), { via: 'hono' });
      },
      { directApps },
    );
  });

  test(`${path}: a Response's statusText is the reason phrase of the status line`, async (t) => {
    await withAlbany(
      fromFetch(app),
      async (_url, server) => {
        const native = await rawExchange(
          server.port,
          'GET /status-text HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
        );
        t.true(native.startsWith('HTTP/1.1 200 Fine Thanks\r\n'), JSON.stringify(native));
        t.true(native.endsWith('\r\n\r\nfine'), JSON.stringify(native));
        const light = await rawExchange(
          server.port,
          'GET /status-text-light HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
        );
        t.true(light.startsWith('HTTP/1.1 299 Custom Thing\r\n'), JSON.stringify(light));
      },
      { directApps },
    );
  });

  test(`${path}: HEAD on a Hono route answers the headers @hono/node-server answers, with no content-length: 0`, async (t) => {
    const { createServer } = await import('node:http');
    const peer = createServer(getRequestListener(app.fetch));
    await new Promise<void>((resolve) => peer.listen(0, '127.0.0.1', resolve));
    t.teardown(() => new Promise<void>((resolve) => peer.close(() => resolve())));
    const headersOf = (raw: string) =>
      raw
        .split('\r\n\r\n')[0]!
        .split('\r\n')
        .slice(1)
        .map((l) => l.toLowerCase())
        .filter((l) => !/^(date|connection|keep-alive):/.test(l))
        .sort();
    const ask = 'HEAD /hono HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
    const theirs = await rawExchange((peer.address() as { port: number }).port, ask);
    await withAlbany(
      fromFetch(app),
      async (_url, server) => {
        const ours = await rawExchange(server.port, ask);
        t.true(ours.startsWith('HTTP/1.1 200 OK\r\n'), ours);
        t.true(ours.endsWith('\r\n\r\n'), ours);
        t.deepEqual(headersOf(ours), headersOf(theirs));
        t.false(/content-length/i.test(ours), ours);
      },
      { directApps },
    );
  });

  test(`${path}: an answer that does not behave as a Response is a logged 500 saying what came back`, async (t) => {
    const { logger, errors } = capture();
    await withAlbany(
      fromFetch(app),
      async (url) => {
        const res = await fetch(`${url}/not-a-response`);
        t.is(res.status, 500);
        t.is(await res.text(), 'Internal Server Error');
      },
      { directApps, logger },
    );
    t.is(errors.length, 1);
    t.regex(
      errors[0]!,
      /GET \/not-a-response HTTP\/1\.1.*returned an object \(Object\), not a Response \(expected a numeric status, iterable headers/s,
    );
  });
}

test('a response-like object with iterable headers and only arrayBuffer() is accepted', async (t) => {
  const handler = () =>
    ({
      status: 200,
      headers: new Map([
        ['x-kind', 'map'],
        ['content-type', 'text/plain'],
      ]),
      arrayBuffer: async () => encoder.encode('from arrayBuffer').buffer,
    }) as unknown as Response;
  await withAlbany(fromFetch(handler), async (url) => {
    const res = await fetch(url);
    t.is(res.headers.get('x-kind'), 'map');
    t.is(await res.text(), 'from arrayBuffer');
  });
});

test("toFetch: the app's reason phrase becomes the Response's statusText", async (t) => {
  const gateway: App = async (_scope, _receive, send) => {
    await send({ type: 'http.response.start', status: 200, reason: 'All Good', headers: [] });
    await send({ type: 'http.response.body', body: encoder.encode('ok') });
  };
  const res = await toFetch(gateway)(new Request('http://x/'));
  t.is(res.status, 200);
  t.is(res.statusText, 'All Good');
  t.is(await res.text(), 'ok');
});

test("toFetch: a status a fetch Response cannot hold (600) is a 500, and the app's send() says why", async (t) => {
  let appError: unknown;
  const gateway: App = async (_scope, _receive, send) => {
    try {
      await send({ type: 'http.response.start', status: 600, headers: [] });
    } catch (error) {
      appError = error;
      throw error;
    }
  };
  const res = await toFetch(gateway, { logError: () => {} })(new Request('http://x/'));
  t.is(res.status, 500);
  t.is((appError as { code?: string }).code, 'ERR_ALBANY_INVALID_MESSAGE');
  t.regex(
    (appError as Error).message,
    /status 600 cannot be answered as a fetch Response \(toFetch\), which allows 200 to 599/,
  );
});

test('@hono/node-server serving toFetch(fromFetch(hono)) answers a ponyfill Response like Hono itself', async (t) => {
  // The configuration the node-server test suite ran: its listener, albany in between.
  const { createServer } = await import('node:http');
  const server = createServer(getRequestListener(toFetch(fromFetch(app))));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as { port: number };
  const res = await fetch(`http://127.0.0.1:${port}/whatwg`);
  t.is(res.status, 202);
  t.deepEqual(res.headers.getSetCookie(), ['a=1', 'b=2']);
  t.is(await res.text(), 'from whatwg');
});

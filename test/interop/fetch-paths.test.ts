// fromFetch answers the same on albany's node:http host whether it takes the direct path (the
// default: a light whole Response is written without the gateway's messages) or the gateway path
// (`directApps: false`). Every case below runs on both and must give the same answer.
import test from 'ava';
import { Hono } from 'hono';
import { fromFetch } from '../../src/interop/fetch.js';
import { NativeResponse } from '../../src/interop/light-response.js';
import type { Logger } from '../../src/server/options.js';
import { rawExchange, sleep, withAlbany } from './helpers.js';

// Requests whose handler is waiting for the client to go away, by request id: told when the
// handler starts waiting, and when the abort reached it.
const waiting = new Map<string, () => void>();
const aborted = new Map<string, () => void>();

async function handler(request: Request): Promise<Response> {
  const url = new URL(request.url);
  switch (url.pathname) {
    case '/text':
      return new Response('Hello Hono!');
    case '/json':
      return new Response(JSON.stringify({ ok: true }), {
        status: 201,
        headers: { 'Content-Type': 'application/json', 'X-A': '1' },
      });
    case '/bytes':
      return new Response(new Uint8Array([1, 2, 3]), { headers: [['content-type', 'application/octet-stream']] });
    case '/empty':
      return new Response(null, { status: 204 });
    case '/later':
      await sleep(5);
      return new Response('later');
    case '/url':
      return new Response(
        `${request.method} ${request.url} ${request.headers.get('x-y') ?? '-'} ${request.headers.get('cookie') ?? '-'}`,
      );
    case '/echo':
      return new Response(await request.text(), {
        headers: { 'content-type': request.headers.get('content-type') ?? 'text/plain' },
      });
    case '/native':
      return new NativeResponse(
        new ReadableStream({
          start(c) {
            c.enqueue(new TextEncoder().encode('streamed'));
            c.close();
          },
        }),
        { headers: { 'x-native': 'yes' } },
      );
    case '/600':
      // A light Response keeps any status node:http writes, as @hono/node-server's does.
      return new Response('six hundred', { status: 600 });
    case '/status-text':
      return new Response('fine', { statusText: 'Fine Thanks' });
    case '/bad-header':
      return new Response('x', { headers: { 'x-bad': 'a\r\nb' } });
    case '/reject':
      throw new Error('async failure');
    case '/wait-abort': {
      const id = url.searchParams.get('id')!;
      const gone = new Promise<void>((resolve) =>
        request.signal.addEventListener('abort', () => resolve(), { once: true }),
      );
      waiting.get(id)?.();
      await gone;
      aborted.get(id)?.();
      return new Response('too late');
    }
    default:
      return new Response('no such route', { status: 404 });
  }
}

function syncThrower(request: Request): Response {
  if (new URL(request.url).pathname === '/throw') throw new Error('sync failure');
  return new Response('fine');
}

function capture(): { logger: Logger; errors: string[] } {
  const errors: string[] = [];
  const quiet = () => {};
  return { errors, logger: { debug: quiet, info: quiet, warn: quiet, error: (m) => errors.push(m) } };
}

for (const directApps of [true, false]) {
  const path = directApps ? 'direct path' : 'gateway path';

  test(`${path}: text, JSON with status and headers, bytes and 204 come out alike`, async (t) => {
    await withAlbany(
      fromFetch(handler),
      async (url) => {
        const text = await fetch(`${url}/text`);
        t.is(text.status, 200);
        t.is(text.headers.get('content-type'), 'text/plain;charset=UTF-8');
        t.is(text.headers.get('content-length'), '11');
        t.is(await text.text(), 'Hello Hono!');

        const json = await fetch(`${url}/json`);
        t.is(json.status, 201);
        t.is(json.headers.get('content-type'), 'application/json');
        t.is(json.headers.get('x-a'), '1');
        t.is(json.headers.get('content-length'), '11');
        t.deepEqual(await json.json(), { ok: true });

        const bytes = await fetch(`${url}/bytes`);
        t.is(bytes.headers.get('content-type'), 'application/octet-stream');
        t.deepEqual([...new Uint8Array(await bytes.arrayBuffer())], [1, 2, 3]);

        const empty = await fetch(`${url}/empty`);
        t.is(empty.status, 204);
        t.is(empty.headers.get('content-length'), null);
        t.is(await empty.text(), '');

        const later = await fetch(`${url}/later`);
        t.is(await later.text(), 'later');
      },
      { directApps },
    );
  });

  test(`${path}: statuses past 599 and a statusText reach the status line`, async (t) => {
    await withAlbany(
      fromFetch(handler),
      async (_url, server) => {
        const six = await rawExchange(server.port, 'GET /600 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
        t.true(six.startsWith('HTTP/1.1 600 unknown\r\n'), six);
        t.regex(six, /\r\ncontent-length: 11\r\n/i);
        t.true(six.endsWith('\r\n\r\nsix hundred'), six);
        const text = await rawExchange(
          server.port,
          'GET /status-text HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
        );
        t.true(text.startsWith('HTTP/1.1 200 Fine Thanks\r\n'), text);
        t.true(text.endsWith('\r\n\r\nfine'), text);
      },
      { directApps },
    );
  });

  test(`${path}: Hono's c.text(…, 600) and c.json(…, 999) are served with that status, as on @hono/node-server`, async (t) => {
    const app = new Hono();
    app.get('/text', (c) => c.text('six', 600 as never));
    app.get('/json', (c) => c.json({ a: 1 }, 999 as never));
    await withAlbany(
      fromFetch(app),
      async (_url, server) => {
        const text = await rawExchange(server.port, 'GET /text HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
        t.true(text.startsWith('HTTP/1.1 600 unknown\r\n'), text);
        t.true(text.endsWith('\r\n\r\nsix'), text);
        const json = await rawExchange(server.port, 'GET /json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
        t.true(json.startsWith('HTTP/1.1 999 unknown\r\n'), json);
        t.regex(json, /\r\ncontent-type: application\/json\r\n/i);
        t.true(json.endsWith('\r\n\r\n{"a":1}'), json);
      },
      { directApps },
    );
  });

  test(`${path}: HEAD keeps the length and sends no body`, async (t) => {
    await withAlbany(
      fromFetch(handler),
      async (_url, server) => {
        const raw = await rawExchange(server.port, 'HEAD /text HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
        t.regex(raw, /^HTTP\/1\.1 200 OK\r\n/);
        t.regex(raw, /\r\ncontent-length: 11\r\n/i);
        t.true(raw.endsWith('\r\n\r\n'), JSON.stringify(raw));
      },
      { directApps },
    );
  });

  test(`${path}: a Hono app's whole bodies are framed by one content-length of their UTF-8 size, over keep-alive`, async (t) => {
    const app = new Hono();
    app.get('/ascii', (c) => c.text('Hello Hono!'));
    app.get('/utf8', (c) => c.text('h\u00e9llo \u2713'));
    app.get('/json', (c) => c.json({ a: 1 }));
    app.get('/bytes', () => new Response(new Uint8Array([0, 1, 2, 255])));
    app.get('/empty', () => new Response(null));
    app.get('/created', () => new Response('made', { status: 201 }));
    // Pipelined on one connection: a wrong length would shift every response after it.
    const asks: Array<[string, string]> = [
      ['GET', '/ascii'],
      ['GET', '/utf8'],
      ['HEAD', '/ascii'],
      ['GET', '/json'],
      ['GET', '/bytes'],
      ['GET', '/empty'],
      ['GET', '/created'],
      ['GET', '/ascii'],
    ];
    await withAlbany(
      fromFetch(app),
      async (_url, server) => {
        const wire = Buffer.from(
          await rawExchange(
            server.port,
            asks
              .map(([method, target], i) => {
                const close = i === asks.length - 1 ? 'Connection: close\r\n' : '';
                return `${method} ${target} HTTP/1.1\r\nHost: x\r\n${close}\r\n`;
              })
              .join(''),
          ),
          'latin1',
        );
        const responses = splitResponses(
          wire,
          asks.map(([method]) => method === 'HEAD'),
        );
        t.is(responses.length, asks.length);
        const expect = [
          [200, 'text/plain;charset=UTF-8', 'Hello Hono!', 11],
          [200, 'text/plain;charset=UTF-8', 'h\u00e9llo \u2713', 10],
          // Hono answers HEAD with its GET response minus the body: no length, as on @hono/node-server.
          [200, 'text/plain;charset=UTF-8', '', undefined],
          [200, 'application/json', '{"a":1}', 7],
          [200, undefined, '\u0000\u0001\u0002\u00ff', 4],
          [200, undefined, '', 0],
          [201, 'text/plain;charset=UTF-8', 'made', 4],
          [200, 'text/plain;charset=UTF-8', 'Hello Hono!', 11],
        ] as const;
        for (const [i, [status, type, body, length]] of expect.entries()) {
          const r = responses[i]!;
          const what = `${asks[i]!.join(' ')}: ${JSON.stringify(r.head)}`;
          t.is(r.status, status, what);
          t.deepEqual(r.headers['content-length'], length === undefined ? undefined : [String(length)], what);
          t.deepEqual(r.headers['content-type'], type === undefined ? undefined : [type], what);
          t.is(r.headers['transfer-encoding'], undefined, what);
          const text = asks[i]![1] === '/bytes' ? r.body.toString('latin1') : r.body.toString('utf8');
          t.is(text, body, what);
        }
        // The connection stayed open (keep-alive) for all but the last, which asked to close.
        t.deepEqual(
          responses.map((r) => r.headers.connection?.[0]),
          [...Array(asks.length - 1).fill('keep-alive'), 'close'],
        );
      },
      { directApps },
    );
  });

  test(`${path}: an HTTP/1.0 request gets its whole body with a content-length`, async (t) => {
    const app = new Hono();
    app.get('/ascii', (c) => c.text('Hello Hono!'));
    await withAlbany(
      fromFetch(app),
      async (_url, server) => {
        const raw = await rawExchange(server.port, 'GET /ascii HTTP/1.0\r\n\r\n');
        t.regex(raw, /^HTTP\/1\.1 200 OK\r\n/);
        t.is(raw.match(/\r\ncontent-length: 11\r\n/gi)?.length, 1, raw);
        t.true(raw.endsWith('\r\n\r\nHello Hono!'), raw);
      },
      { directApps },
    );
  });

  test(`${path}: the URL, headers and body reach the handler`, async (t) => {
    await withAlbany(
      fromFetch(handler),
      async (url, server) => {
        const res = await fetch(`${url}/url?q=1&r=%20`, { headers: { 'x-y': 'z', cookie: 'a=1' } });
        t.is(await res.text(), `GET ${url}/url?q=1&r=%20 z a=1`);
        // Absolute-form target: the authority in the target is dropped, as in the scope's rawPath.
        const absolute = await rawExchange(
          server.port,
          'GET http://elsewhere/url?x HTTP/1.1\r\nHost: h.example\r\nConnection: close\r\n\r\n',
        );
        t.true(absolute.endsWith('GET http://h.example/url?x - -'), absolute);
        // An empty query drops its "?"; no Host (HTTP/1.0) falls back to the server's address.
        const noHost = await rawExchange(server.port, 'GET /url? HTTP/1.0\r\n\r\n');
        t.true(noHost.endsWith(`GET http://127.0.0.1:${server.port}/url - -`), noHost);
        const echo = await fetch(`${url}/echo`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"n":1}',
        });
        t.is(echo.headers.get('content-type'), 'application/json');
        t.is(await echo.text(), '{"n":1}');
      },
      { directApps },
    );
  });

  test(`${path}: X-Forwarded-Proto from a trusted proxy sets the URL's scheme`, async (t) => {
    await withAlbany(
      fromFetch(handler),
      async (url) => {
        const res = await fetch(`${url}/url`, { headers: { 'x-forwarded-proto': 'https' } });
        t.is(await res.text(), `GET ${url.replace(/^http:/, 'https:')}/url - -`);
      },
      { directApps, proxyHeaders: true },
    );
  });

  test(`${path}: a native streamed Response is streamed through`, async (t) => {
    await withAlbany(
      fromFetch(handler),
      async (url) => {
        const res = await fetch(`${url}/native`);
        t.is(res.headers.get('x-native'), 'yes');
        t.is(await res.text(), 'streamed');
      },
      { directApps },
    );
  });

  test(`${path}: a handler that throws or rejects, or a header node refuses, is a logged 500`, async (t) => {
    const { logger, errors } = capture();
    await withAlbany(
      fromFetch(syncThrower),
      async (url) => {
        const res = await fetch(`${url}/throw`);
        t.is(res.status, 500);
        t.is(await res.text(), 'Internal Server Error');
        t.is(await (await fetch(`${url}/ok`)).text(), 'fine');
      },
      { directApps, logger },
    );
    await withAlbany(
      fromFetch(handler),
      async (url) => {
        t.is((await fetch(`${url}/reject`)).status, 500);
        const bad = await fetch(`${url}/bad-header`);
        t.is(bad.status, 500);
        t.is(bad.headers.get('x-bad'), null);
      },
      { directApps, logger },
    );
    t.is(errors.length, 3, errors.join('\n'));
    t.regex(errors[0]!, /GET \/throw HTTP\/1\.1.*sync failure/s);
    t.regex(errors[1]!, /GET \/reject HTTP\/1\.1.*async failure/s);
    t.regex(errors[2]!, /GET \/bad-header HTTP\/1\.1/);
  });

  test(`${path}: onError answers instead of a 500`, async (t) => {
    const app = fromFetch(syncThrower, {
      onError: (error) => new Response(`sorry: ${(error as Error).message}`, { status: 503 }),
    });
    await withAlbany(
      app,
      async (url) => {
        const res = await fetch(`${url}/throw`);
        t.is(res.status, 503);
        t.is(await res.text(), 'sorry: sync failure');
      },
      { directApps },
    );
  });

  test(`${path}: a body over maxBodySize is refused with 413`, async (t) => {
    await withAlbany(
      fromFetch(handler),
      async (url, server) => {
        const declared = await fetch(`${url}/echo`, { method: 'POST', body: 'x'.repeat(100) });
        t.is(declared.status, 413);
        // Chunked: found out while the handler reads it.
        const chunked = await rawExchange(
          server.port,
          `POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n64\r\n${'y'.repeat(100)}\r\n0\r\n\r\n`,
        );
        t.regex(chunked, /^HTTP\/1\.1 413 /);
      },
      { directApps, maxBodySize: 50 },
    );
  });

  test(`${path}: request.signal aborts when the client goes away`, async (t) => {
    await withAlbany(
      fromFetch(handler),
      async (url) => {
        const id = `${path}-${Math.random()}`;
        const seen = new Promise<void>((resolve) => aborted.set(id, resolve));
        const started = new Promise<void>((resolve) => waiting.set(id, resolve));
        const client = new AbortController();
        const pending = fetch(`${url}/wait-abort?id=${encodeURIComponent(id)}`, { signal: client.signal }).catch(
          (e: unknown) => e,
        );
        // Abort only once the handler listens: a loaded machine may not have read the request yet.
        await started;
        client.abort();
        await pending;
        const outcome = await Promise.race([seen.then(() => 'aborted'), sleep(3000).then(() => 'still waiting')]);
        t.is(outcome, 'aborted');
      },
      { directApps },
    );
  });
}

test('the direct path is what serve() uses by default', async (t) => {
  // Same answer either way (above); here only that the option exists and defaults to on.
  const { resolveServerOptions } = await import('../../src/server/options.js');
  t.true(resolveServerOptions({}).directApps);
  t.false(resolveServerOptions({ directApps: false }).directApps);
  t.truthy((await import('../../src/server/direct.js')).directNodeHandlerOf(fromFetch(syncThrower)));
});

interface ParsedResponse {
  status: number;
  head: string;
  /** Lower-case names, every value in order. */
  headers: Record<string, string[]>;
  body: Buffer;
}

/**
 * Splits pipelined HTTP/1.1 responses by their own framing (content-length only: a response this
 * file expects to be chunked would fail to parse). `head[i]`: the i-th answers HEAD, no body.
 */
function splitResponses(wire: Buffer, head: boolean[]): ParsedResponse[] {
  const out: ParsedResponse[] = [];
  let at = 0;
  for (let i = 0; i < head.length && at < wire.length; i++) {
    const end = wire.indexOf('\r\n\r\n', at, 'latin1');
    if (end === -1) break;
    const text = wire.toString('latin1', at, end);
    const [statusLine, ...lines] = text.split('\r\n');
    const headers: Record<string, string[]> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).toLowerCase();
      (headers[name] ??= []).push(line.slice(colon + 1).trim());
    }
    const length = head[i] ? 0 : Number(headers['content-length']?.[0] ?? 0);
    out.push({
      status: Number(statusLine!.split(' ')[1]),
      head: text,
      headers,
      body: wire.subarray(end + 4, end + 4 + length),
    });
    at = end + 4 + length;
  }
  return out;
}

import test from 'ava';
import http from 'node:http';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { legacy } from '../../legacy-adapter/index.js';
import { hasCode } from '../../src/errors.js';
import { getHeader } from '../../src/gateway/helpers.js';
import { Communicator, httpRequest, httpScope } from '../../src/testing/communicator.js';
import { delay, fixture, withServer } from './helpers.js';
import { statusLine as rawStatusLine } from '../helpers/server.js';

const quietLog = (): void => {};

test.serial('the WSGI environ carries the request line, query, joined repeated headers and the body', async (t) => {
  const app = legacy(fixture('wsgi-echo.ts'), { pool: { maxThreads: 1 } });
  await withServer(app, async (url) => {
    const port = new URL(url).port;
    const body = await new Promise<string>((resolve, reject) => {
      const req = http.request(
        `${url}/items/42?q=a%20b&x=1`,
        {
          method: 'PUT',
          headers: {
            'Content-Type': 'text/plain',
            Accept: ['text/html', 'application/json'],
            Cookie: ['a=1', 'b=2'],
            'X-Custom-Header': 'v',
          },
        },
        (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve(text));
        },
      );
      req.on('error', reject);
      req.end('hello body');
    });
    const {
      environ,
      body: read,
      version,
    } = JSON.parse(body) as { environ: Record<string, string>; body: string; version: number[] };
    t.is(read, 'hello body');
    t.deepEqual(version, [1, 0]);
    t.like(environ, {
      REQUEST_METHOD: 'PUT',
      SCRIPT_NAME: '',
      PATH_INFO: '/items/42',
      QUERY_STRING: 'q=a%20b&x=1',
      CONTENT_TYPE: 'text/plain',
      CONTENT_LENGTH: '10',
      SERVER_NAME: '127.0.0.1',
      SERVER_PORT: port,
      SERVER_PROTOCOL: 'HTTP/1.1',
      REMOTE_ADDR: '127.0.0.1',
      HTTP_ACCEPT: 'text/html, application/json',
      HTTP_COOKIE: 'a=1; b=2',
      HTTP_X_CUSTOM_HEADER: 'v',
      'wsgi.url_scheme': 'http',
    });
    t.regex(environ.REMOTE_PORT ?? '', /^\d+$/);
  });
});

test.serial('startResponse follows the WSGI rules', async (t) => {
  // No socket: these are the adapter's rules, driven with the Communicator.
  const app = legacy(fixture('start-response.ts'), { pool: { maxThreads: 1 }, log: quietLog });
  t.teardown(() => app.close());
  const run = (path: string) => httpRequest(app, { path }, undefined, 20_000);
  t.is((await run('/twice')).status, 500, 'a second call without excInfo is an error');
  const replaced = await run('/exc-before');
  t.is(replaced.status, 503, 'with excInfo before the body, the status is replaced');
  t.is(getHeader(replaced.headers, 'x-replaced'), 'yes');
  t.is(replaced.body.toString(), 'replaced');
  t.is((await run('/write')).body.toString(), 'abcd', 'write() output comes before the iterable');
  const empty = await run('/empty-chunks');
  t.is(empty.status, 202);
  t.is(empty.body.toString(), '');
  t.is((await run('/no-start')).status, 500, 'a body without startResponse is an error');
  // After the first body byte, excInfo is re-raised: the app fails after 200 and 'partial ', never completing.
  const c = new Communicator(app, httpScope({ path: '/exc-after' }));
  c.input({ type: 'http.request', body: new Uint8Array(0), moreBody: false });
  t.like(await c.output(20_000), { type: 'http.response.start', status: 200 });
  const partial = await c.output();
  t.is(partial.type === 'http.response.body' ? Buffer.from(partial.body ?? []).toString() : partial.type, 'partial ');
  const failure = await c.done.then(
    () => undefined,
    (e: unknown) => e,
  );
  t.true(hasCode(failure, 'ERR_ALBANY_HANDLER'), String(failure));
  t.is((await run('/write')).status, 200, 'the worker serves on');
});

test.serial('a streamed upload is read in three small blocking reads', async (t) => {
  const app = legacy(fixture('upload.ts'), { pool: { maxThreads: 1 } });
  await withServer(app, async (url) => {
    const text = await new Promise<string>((resolve, reject) => {
      const req = http.request(`${url}/`, { method: 'POST', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
        let out = '';
        res.on('data', (c) => (out += c));
        res.on('end', () => resolve(out));
      });
      req.on('error', reject);
      const parts = ['aa', 'aabb', 'bbc', 'ccc', 'line\nrest', 'x'.repeat(100_000)];
      const next = (): void => {
        const part = parts.shift();
        if (part === undefined) return void req.end();
        req.write(part);
        setTimeout(next, 30);
      };
      next();
    });
    t.deepEqual(JSON.parse(text), {
      reads: ['aaaa', 'bbbb', 'cccc'],
      line: 'line\n',
      restLength: 100_004,
      contentLength: null,
    });
  });
});

test.serial('a generator of 1,000 chunks arrives complete and in order', async (t) => {
  const app = legacy(fixture('stream.ts'), { pool: { maxThreads: 1 }, ackMessages: 16 });
  await withServer(app, async (url) => {
    const res = await fetch(`${url}/?count=1000`);
    const lines = (await res.text()).trimEnd().split('\n');
    t.is(lines.length, 1000);
    t.true(lines.every((line, i) => line === String(i)));
  });
});

test.serial('close() on the iterable is called when the client disconnects mid-stream', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'albany-legacy-'));
  const marker = join(dir, 'closed');
  const app = legacy(fixture('stream.ts'), { pool: { maxThreads: 1 }, ackMessages: 4 });
  await withServer(app, async (url) => {
    const controller = new AbortController();
    const res = await fetch(`${url}/?count=100000&delay=5&closed=${encodeURIComponent(marker)}`, {
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    controller.abort();
    const deadline = Date.now() + 5000;
    while (!existsSync(marker) && Date.now() < deadline) await delay(20);
    t.true(existsSync(marker), 'close() ran');
    t.is((await fetch(`${url}/?count=3`)).status, 200, 'the worker was released');
  });
});

test.serial('close() on the iterable is called after a complete response too', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'albany-legacy-'));
  const marker = join(dir, 'closed');
  const app = legacy(fixture('stream.ts'), { pool: { maxThreads: 1 } });
  await withServer(app, async (url) => {
    t.is(await (await fetch(`${url}/?count=2&closed=${encodeURIComponent(marker)}`)).text(), '0\n1\n');
    t.true(existsSync(marker));
  });
});

/** The status line a GET of `path` on the server at `url` gets. */
const statusLine = (url: string, path: string) => rawStatusLine(Number(new URL(url).port), path);

test.serial(
  "a node-style handler's own reason phrase (statusMessage, writeHead) reaches the wire from the pool",
  async (t) => {
    const app = legacy(fixture('node-reason.ts'), { style: 'node', pool: { maxThreads: 1 } });
    await withServer(app, async (url) => {
      t.is(await statusLine(url, '/'), 'HTTP/1.1 299 Fine');
      t.is(await statusLine(url, '/streamed'), 'HTTP/1.1 202 Streaming Along');
      const streamed = await fetch(`${url}/streamed`);
      t.is(streamed.statusText, 'Streaming Along');
      t.is(await streamed.text(), 'ab');
    });
  },
);

test.serial(
  "startResponse's reason phrase is the one on the wire: custom, streamed, past 599, latin1; the standard one where none is given",
  async (t) => {
    const logged: string[] = [];
    const app = legacy(fixture('status-line.ts'), {
      pool: { maxThreads: 1 },
      log: (m: string, e?: unknown) => void logged.push(`${m}: ${(e as Error | undefined)?.message}`),
    });
    await withServer(app, async (url) => {
      t.is(await statusLine(url, '/custom'), 'HTTP/1.1 299 Custom Thing');
      t.is(await statusLine(url, '/streamed'), 'HTTP/1.1 200 ok');
      t.is(await statusLine(url, '/standard'), 'HTTP/1.1 200 OK');
      t.is(await statusLine(url, '/code-only'), 'HTTP/1.1 404 Not Found');
      t.is(await statusLine(url, '/beyond'), 'HTTP/1.1 600 Beyond');
      t.is(await statusLine(url, '/latin1'), 'HTTP/1.1 200 caf\u00e9');
      const streamed = await fetch(`${url}/streamed`);
      t.is(streamed.statusText, 'ok');
      t.is(await streamed.text(), 'ab');
      // CR/LF in the status: refused at startResponse, a 500, and the log names the problem.
      t.is(await statusLine(url, '/injected'), 'HTTP/1.1 500 Internal Server Error');
      t.true(
        logged.some((m) => m.includes('handler failed') && m.includes('has character U+000D at 2')),
        logged.join('\n'),
      );
    });
  },
);

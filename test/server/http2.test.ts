// TLS and HTTP/2 over real sockets: node's http2 client, curl --http2, and https.get for HTTP/1.1
// on the same port, all against a self-signed certificate made for the test (test/helpers/tls.ts).
import test from 'ava';
import { execFile } from 'node:child_process';
import https from 'node:https';
import tlsClient from 'node:tls';
import http2, {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type IncomingHttpHeaders as H2Headers,
  type IncomingHttpStatusHeader,
} from 'node:http2';

type IncomingHttpHeaders = H2Headers & IncomingHttpStatusHeader;
import { AlbanyError } from '../../src/errors.js';
import { serve } from '../../src/server/http.js';
import type { HttpReceiveMessage } from '../../src/gateway/types.js';
import { deferred, delay, httpApp, sendText, startServer } from '../helpers/server.js';
import { testCert } from '../helpers/tls.js';

const cert = testCert();
const tls = { key: cert.key, cert: cert.cert };

function connect(t: { teardown(fn: () => void): void }, url: string): ClientHttp2Session {
  const session = http2.connect(url, { ca: cert.cert });
  session.on('error', () => {});
  t.teardown(() => session.destroy());
  return session;
}

/** Reads one stream to its end: headers, body text, trailers. */
function response(
  stream: ClientHttp2Stream,
): Promise<{ headers: IncomingHttpHeaders; body: string; trailers: IncomingHttpHeaders | undefined }> {
  return new Promise((resolve, reject) => {
    let headers: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders | undefined;
    let body = '';
    stream.on('response', (h) => (headers = h));
    stream.on('trailers', (h) => (trailers = h));
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => (body += d));
    stream.on('end', () => resolve({ headers, body, trailers }));
    stream.on('error', reject);
  });
}

async function readAll(
  receive: () => Promise<HttpReceiveMessage>,
): Promise<{ text: string; messages: number; disconnected: boolean }> {
  let text = '';
  let messages = 0;
  for (;;) {
    const m = await receive();
    if (m.type === 'http.disconnect') return { text, messages, disconnected: true };
    messages++;
    text += Buffer.from(m.body ?? new Uint8Array()).toString();
    if (!m.moreBody) return { text, messages, disconnected: false };
  }
}

const echo = httpApp(async (scope, receive, send) => {
  const { text } = await readAll(receive);
  await send({
    type: 'http.response.start',
    status: 200,
    headers: [
      ['content-type', 'application/json'],
      ['connection', 'keep-alive'],
      ['transfer-encoding', 'chunked'],
    ],
  });
  await send({
    type: 'http.response.body',
    body: Buffer.from(
      JSON.stringify({
        httpVersion: scope.httpVersion,
        scheme: scope.scheme,
        method: scope.method,
        path: scope.path,
        query: scope.queryString,
        headers: scope.headers,
        body: text,
        client: scope.client,
      }),
    ),
  });
});

test('HTTP/2 by ALPN: scope says httpVersion 2 and https, pseudo-headers become method/path and host', async (t) => {
  const server = await startServer(t, echo, { tls });
  t.regex(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const session = connect(t, server.url);
  const stream = session.request({ ':method': 'POST', ':path': '/a%20b?x=1', 'x-test': 'yes' });
  stream.end('hello');
  const res = await response(stream);
  t.is(res.headers[':status'], 200);
  // The app's connection and transfer-encoding headers mean nothing on HTTP/2 and are dropped.
  t.is(res.headers.connection, undefined);
  t.is(res.headers['transfer-encoding'], undefined);
  const seen = JSON.parse(res.body) as {
    httpVersion: string;
    scheme: string;
    method: string;
    path: string;
    query: string;
    headers: Array<[string, string]>;
    body: string;
    client: [string, number];
  };
  t.is(seen.httpVersion, '2');
  t.is(seen.scheme, 'https');
  t.is(seen.method, 'POST');
  t.is(seen.path, '/a b');
  t.is(seen.query, 'x=1');
  t.is(seen.body, 'hello');
  t.is(seen.client[0], '127.0.0.1');
  t.deepEqual(
    seen.headers.find(([n]) => n === 'host'),
    ['host', `127.0.0.1:${server.port}`],
  );
  t.deepEqual(
    seen.headers.find(([n]) => n === 'x-test'),
    ['x-test', 'yes'],
  );
  t.false(
    seen.headers.some(([n]) => n.startsWith(':')),
    'no pseudo-header reaches the app',
  );
  t.deepEqual(server.log.errors(), []);
});

test('HTTPS/1.1 on the same port: https.get without ALPN h2 is served as HTTP/1.1', async (t) => {
  const server = await startServer(t, echo, { tls });
  const body = await new Promise<string>((resolve, reject) => {
    https
      .get(`${server.url}/one`, { ca: cert.cert }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve(`${res.statusCode} ${res.httpVersion} ${text}`));
      })
      .on('error', reject);
  });
  const [status, version, json] = [body.slice(0, 3), body.slice(4, 7), body.slice(8)];
  t.is(status, '200');
  t.is(version, '1.1');
  const seen = JSON.parse(json) as { httpVersion: string; scheme: string; path: string };
  t.is(seen.httpVersion, '1.1');
  t.is(seen.scheme, 'https');
  t.is(seen.path, '/one');
});

test('curl --http2 -k negotiates HTTP/2 and gets the body', async (t) => {
  const server = await startServer(
    t,
    httpApp(async (scope, _receive, send) => sendText(send, `hi over ${scope.httpVersion}`)),
    { tls },
  );
  const out = await new Promise<string>((resolve, reject) => {
    execFile('curl', ['-sk', '--http2', '-w', '\n%{http_version} %{http_code}', `${server.url}/`], (error, stdout) =>
      error ? reject(error) : resolve(stdout),
    );
  });
  t.is(out, 'hi over 2\n2 200');
});

test('bodies stream both ways on one HTTP/2 stream: each request chunk is answered before the next is sent', async (t) => {
  const server = await startServer(
    t,
    httpApp(async (_scope, receive, send) => {
      await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
      for (;;) {
        const m = await receive();
        if (m.type !== 'http.request') return;
        if (m.body.length > 0)
          await send({
            type: 'http.response.body',
            body: Buffer.from(`got ${Buffer.from(m.body).toString()};`),
            moreBody: true,
          });
        if (!m.moreBody) break;
      }
      await send({ type: 'http.response.body', body: Buffer.from('end') });
    }),
    { tls },
  );
  const session = connect(t, server.url);
  const stream = session.request({ ':method': 'POST', ':path': '/stream' });
  stream.setEncoding('utf8');
  const chunks: string[] = [];
  let next = deferred<string>();
  stream.on('data', (d: string) => {
    chunks.push(d);
    next.resolve(d);
  });
  const ended = new Promise<void>((resolve) => stream.on('end', resolve));
  for (const word of ['one', 'two', 'three']) {
    next = deferred<string>();
    stream.write(word);
    // The echo of this chunk arrives while the request body is still open.
    t.is(await next.promise, `got ${word};`);
  }
  stream.end();
  await ended;
  t.is(chunks.join(''), 'got one;got two;got three;end');
});

test('maxBodySize holds on HTTP/2: 413 by content-length up front, and for a streamed body past the limit', async (t) => {
  let reads = 0;
  const server = await startServer(
    t,
    httpApp(async (_scope, receive, send) => {
      reads++;
      const { text, disconnected } = await readAll(receive);
      if (!disconnected) await sendText(send, `read ${text.length}`);
    }),
    { tls, maxBodySize: 1000 },
  );
  const session = connect(t, server.url);
  const declared = session.request({ ':method': 'POST', ':path': '/', 'content-length': '5000' });
  declared.end(Buffer.alloc(5000, 97));
  const a = await response(declared).catch((error: Error) => ({ headers: { ':status': error.message }, body: '' }));
  t.is(a.headers[':status'], 413);
  t.is(reads, 0, 'the app never ran for a declared oversize body');

  const streamed = session.request({ ':method': 'POST', ':path': '/' });
  streamed.write(Buffer.alloc(600, 97));
  await delay(50);
  streamed.end(Buffer.alloc(600, 97));
  const b = await response(streamed);
  t.is(b.headers[':status'], 413);
  t.is(reads, 1);

  const fits = session.request({ ':method': 'POST', ':path': '/' });
  fits.end(Buffer.alloc(900, 97));
  t.is((await response(fits)).body, 'read 900', 'the session still serves after the 413s');
});

test('a stream the client resets gives the app http.disconnect while other streams on the session go on', async (t) => {
  const verdicts = new Map<string, ReturnType<typeof deferred<string>>>([
    ['/mid-body', deferred<string>()],
    ['/after-body', deferred<string>()],
  ]);
  const started = deferred();
  const server = await startServer(
    t,
    httpApp(async (scope, receive, send) => {
      const verdict = verdicts.get(scope.path);
      if (verdict === undefined) return sendText(send, 'fine');
      started.resolve();
      const seen: string[] = [];
      // Read until the client is gone: past the body's end, receive() waits for the disconnect.
      for (;;) {
        const m = await receive();
        seen.push(m.type === 'http.request' ? `request(${m.body.length},${m.moreBody ? 'more' : 'last'})` : m.type);
        if (m.type === 'http.disconnect') break;
      }
      verdict.resolve(seen.join(' '));
    }),
    { tls },
  );
  const session = connect(t, server.url);
  // Reset mid-body: the app's next receive() is the disconnect.
  const mid = session.request({ ':method': 'POST', ':path': '/mid-body' });
  mid.on('error', () => {});
  mid.write('partial');
  await started.promise;
  await delay(50);
  mid.destroy();
  t.is(await verdicts.get('/mid-body')!.promise, 'request(7,more) http.disconnect');
  // Reset after the whole body, before the response: the waiting receive() gets the disconnect.
  const after = session.request({ ':method': 'POST', ':path': '/after-body' });
  after.on('error', () => {});
  after.end('whole');
  await delay(100);
  after.close(http2.constants.NGHTTP2_CANCEL);
  t.regex(
    await verdicts.get('/after-body')!.promise,
    /^request\(5,(more|last)\) (request\(0,last\) )?http\.disconnect$/,
  );
  const other = session.request({ ':path': '/other' });
  other.end();
  t.is((await response(other)).body, 'fine');
  t.deepEqual(server.log.errors(), []);
});

test('requestTimeoutMs holds on HTTP/2: a body that stalls gets 408', async (t) => {
  const server = await startServer(
    t,
    httpApp(async (_scope, receive, send) => {
      const { disconnected } = await readAll(receive);
      if (!disconnected) await sendText(send, 'read it');
    }),
    { tls, requestTimeoutMs: 400, headersTimeoutMs: 400 },
  );
  const session = connect(t, server.url);
  const stream = session.request({ ':method': 'POST', ':path': '/' });
  stream.on('error', () => {});
  stream.write('start');
  const started = Date.now();
  const res = await response(stream).catch(() => ({ headers: { ':status': 0 }, body: '' }));
  t.is(res.headers[':status'], 408);
  t.true(Date.now() - started < 5000);
});

test('trailers and pathsend work on HTTP/2', async (t) => {
  const server = await startServer(
    t,
    httpApp(async (scope, _receive, send) => {
      if (scope.path === '/file') {
        await send({ type: 'http.response.start', status: 200, headers: [] });
        await send({ type: 'http.response.pathsend', path: new URL(import.meta.url).pathname });
        return;
      }
      await send({
        type: 'http.response.start',
        status: 200,
        headers: [['content-type', 'text/plain']],
        trailers: true,
      });
      await send({ type: 'http.response.body', body: Buffer.from('body') });
      await send({ type: 'http.response.trailers', headers: [['x-checksum', 'abc']] });
    }),
    { tls },
  );
  const session = connect(t, server.url);
  const s1 = session.request({ ':path': '/t' });
  s1.end();
  const r1 = await response(s1);
  t.is(r1.body, 'body');
  t.is(r1.trailers?.['x-checksum'], 'abc');
  const s2 = session.request({ ':path': '/file' });
  s2.end();
  const r2 = await response(s2);
  t.true(r2.body.includes('trailers and pathsend work on HTTP/2'));
});

test('close() sends GOAWAY, lets the in-flight HTTP/2 stream finish, then resolves', async (t) => {
  const entered = deferred();
  const release = deferred();
  const server = await startServer(
    t,
    httpApp(async (_scope, _receive, send) => {
      entered.resolve();
      await release.promise;
      await sendText(send, 'finished');
    }),
    { tls, gracefulTimeoutMs: 5000 },
  );
  const session = connect(t, server.url);
  const goaway = new Promise<void>((resolve) => session.once('goaway', () => resolve()));
  const stream = session.request({ ':path': '/' });
  stream.end();
  const answered = response(stream);
  await entered.promise;
  let closed = false;
  const closing = server.close().then(() => (closed = true));
  await goaway;
  await delay(100);
  t.false(closed, 'close() waits for the open stream');
  release.resolve();
  t.is((await answered).body, 'finished');
  await closing;
  t.true(closed);
});

test('a tls option without a key or with a bad certificate is refused with ERR_ALBANY_INVALID_CONFIG', async (t) => {
  const app = httpApp(async (_s, _r, send) => sendText(send, 'x'));
  const missing = await t.throwsAsync(serve(app, { port: 0, lifespan: 'off', tls: { cert: cert.cert } as never }));
  t.true(AlbanyError.is(missing));
  t.regex(missing!.message, /options\.tls\.key must be the private key/);
  const bad = await t.throwsAsync(
    serve(app, { port: 0, lifespan: 'off', tls: { key: 'not a key', cert: 'not a cert' } }),
  );
  t.true(AlbanyError.is(bad));
  t.regex(bad!.message, /TLS key or certificate refused/);
});

test('WebSocket over TLS (wss://, an HTTP/1.1 upgrade) reaches the app with scheme wss', async (t) => {
  const { WebSocket } = await import('ws');
  const server = await startServer(
    t,
    async (scope, receive, send) => {
      if (scope.type !== 'websocket') return;
      await receive();
      await send({ type: 'websocket.accept' });
      const m = await receive();
      if (m.type === 'websocket.receive')
        await send({ type: 'websocket.send', text: `${scope.scheme}:${m.text ?? ''}` });
      await send({ type: 'websocket.close', code: 1000 });
    },
    { tls },
  );
  const ws = new WebSocket(server.url.replace('https', 'wss'), { ca: cert.cert });
  const reply = await new Promise<string>((resolve, reject) => {
    ws.on('open', () => ws.send('ping'));
    ws.on('message', (data: Buffer) => resolve(data.toString()));
    ws.on('error', reject);
  });
  ws.close();
  t.is(reply, 'wss:ping');
});

test('header limits and the head timeout hold over TLS: 431 on HTTP/2 and HTTPS/1.1, 408 for a slow HTTPS/1.1 head', async (t) => {
  const server = await startServer(
    t,
    httpApp(async (_s, _r, send) => sendText(send, 'ok')),
    { tls, maxHeaderSize: 2000, headersTimeoutMs: 500, requestTimeoutMs: 1000 },
  );
  const session = connect(t, server.url);
  const big = session.request({ ':path': '/', 'x-big': 'a'.repeat(5000) });
  big.end();
  t.is((await response(big)).headers[':status'], 431);
  const small = session.request({ ':path': '/' });
  small.end();
  t.is((await response(small)).body, 'ok');
  const h1 = await new Promise<number | undefined>((resolve, reject) => {
    https
      .get(server.url, { ca: cert.cert, headers: { 'x-big': 'a'.repeat(5000) } }, (res) => {
        res.resume();
        resolve(res.statusCode);
      })
      .on('error', reject);
  });
  t.is(h1, 431);
  // A head that never ends is cut by node:http's headersTimeout on the TLS side too.
  const started = Date.now();
  const socket = tlsClient.connect(
    { port: server.port, host: '127.0.0.1', ca: cert.cert, ALPNProtocols: ['http/1.1'] },
    () => socket.write('GET / HTTP/1.1\r\nHost: x\r\n'),
  );
  let reply = '';
  socket.on('data', (d: Buffer) => (reply += d.toString()));
  socket.on('error', () => {});
  await new Promise((resolve) => socket.on('close', resolve));
  t.true(reply.startsWith('HTTP/1.1 408 '), reply);
  t.true(Date.now() - started < 5000);
});

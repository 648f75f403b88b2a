// Malformed input: hostile raw requests over a plain socket. Each is refused with a 4xx or a closed
// connection, nothing smuggled behind it reaches the app, and the server keeps serving afterwards.
import test from 'ava';
import { collect, connect, delay, hasCompleteResponse, httpApp, startServer } from '../helpers/server.js';

interface Row {
  name: string;
  bytes: string | Buffer;
  /** Statuses allowed besides a clean close; the default is any 4xx. */
  allow?: (status: number) => boolean;
}

const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n';
const H = 'Host: x\r\n';
const latin1 = (s: string) => Buffer.from(s, 'latin1');
const is4xx = (s: number) => s >= 400 && s < 500;

// The app answers 404 to every path but /ok, so a request node lets through (a traversal string, a
// bad UTF-8 path) is still a 4xx, and a smuggled /smuggled would be recorded.
const ROWS: Row[] = [
  { name: 'empty request line', bytes: '\r\n\r\n\r\n\r\nxx\r\n\r\n' },
  { name: 'garbage request line', bytes: 'HELLO\r\n\r\n' },
  { name: 'missing HTTP version', bytes: `GET /\r\n${H}\r\n` },
  { name: 'unknown HTTP version', bytes: `GET / HTTP/9.9\r\n${H}\r\n` },
  { name: 'HTTP/1.1 without Host', bytes: 'GET / HTTP/1.1\r\n\r\n', allow: (s) => is4xx(s) },
  { name: 'absurd method', bytes: `FROBNICATE_${'X'.repeat(200)} / HTTP/1.1\r\n${H}\r\n` },
  { name: 'lower-case method', bytes: `get / HTTP/1.1\r\n${H}\r\n` },
  { name: 'space in the target', bytes: `GET /a b HTTP/1.1\r\n${H}\r\n` },
  { name: 'tab in the request line', bytes: `GET\t/\tHTTP/1.1\r\n${H}\r\n` },
  { name: 'NUL in the target', bytes: latin1(`GET /a\0b HTTP/1.1\r\n${H}\r\n`) },
  { name: 'HTTP/2 preface', bytes: 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' },
  { name: 'TLS client hello', bytes: Buffer.from('160301020001000200030301', 'hex') },
  {
    name: 'head over maxHeaderSize (32 KiB header)',
    bytes: `GET / HTTP/1.1\r\n${H}X-Big: ${'a'.repeat(32 * 1024)}\r\n\r\n`,
  },
  { name: '10 MB query string', bytes: `GET /?q=${'a'.repeat(10 * 1024 * 1024)} HTTP/1.1\r\n${H}\r\n` },
  { name: '5,000 headers', bytes: `GET / HTTP/1.1\r\n${H}${'X-A: b\r\n'.repeat(5000)}\r\n` },
  {
    name: 'duplicated content-length, different values',
    bytes: `POST /ok HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!${SMUGGLED}`,
  },
  { name: 'content-length list', bytes: `POST /ok HTTP/1.1\r\n${H}Content-Length: 5, 6\r\n\r\nhello!${SMUGGLED}` },
  { name: 'negative content-length', bytes: `POST /ok HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n${SMUGGLED}` },
  { name: 'non-numeric content-length', bytes: `POST /ok HTTP/1.1\r\n${H}Content-Length: 5x\r\n\r\nhello${SMUGGLED}` },
  {
    name: 'content-length overflowing 2^64',
    bytes: `POST /ok HTTP/1.1\r\n${H}Content-Length: 99999999999999999999999\r\n\r\n${SMUGGLED}`,
  },
  {
    name: 'content-length + transfer-encoding (CL.TE smuggling)',
    bytes: `POST /ok HTTP/1.1\r\n${H}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`,
  },
  {
    name: 'transfer-encoding + content-length (TE.CL smuggling)',
    bytes: `POST /ok HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n5\r\nhello\r\n0\r\n\r\n${SMUGGLED}`,
  },
  {
    name: 'transfer-encoding not ending in chunked',
    bytes: `POST /ok HTTP/1.1\r\n${H}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n${SMUGGLED}`,
  },
  {
    name: 'obfuscated transfer-encoding (xchunked)',
    bytes: `POST /ok HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n${SMUGGLED}`,
  },
  {
    name: 'transfer-encoding with space before colon',
    bytes: `POST /ok HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`,
  },
  {
    name: 'invalid chunk size (hex garbage)',
    bytes: `POST /ok HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n${SMUGGLED}`,
  },
  {
    name: 'chunk size overflowing 64 bits',
    bytes: `POST /ok HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff1\r\nhello\r\n0\r\n\r\n${SMUGGLED}`,
  },
  {
    name: 'chunk data longer than its size',
    bytes: `POST /ok HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n2\r\nhello\r\n0\r\n\r\n${SMUGGLED}`,
  },
  { name: 'NUL in a header value', bytes: latin1(`GET / HTTP/1.1\r\n${H}X-A: a\0b\r\n\r\n`) },
  { name: 'bare CR in a header value', bytes: `GET / HTTP/1.1\r\n${H}X-A: a\rb\r\n\r\n` },
  { name: 'header line without a colon', bytes: `GET / HTTP/1.1\r\n${H}NoColonHere\r\n\r\n` },
  { name: 'space in a header name', bytes: `GET / HTTP/1.1\r\n${H}Bad Name: v\r\n\r\n` },
  { name: 'obsolete line folding', bytes: `GET / HTTP/1.1\r\n${H}X-A: a\r\n b\r\n\r\n` },
  {
    name: 'bare LF line endings with a smuggled request in a header',
    bytes: `GET /nope HTTP/1.1\n${H.replace('\r\n', '\n')}X-A: a\r\n\r\n${SMUGGLED}`,
    allow: is4xx,
  },
  { name: 'CRLF injection in the target', bytes: `GET /a%0d%0aSet-Cookie:x HTTP/1.1\r\n${H}\r\n`, allow: is4xx },
  { name: 'path traversal', bytes: `GET /../../../../etc/passwd HTTP/1.1\r\n${H}\r\n`, allow: is4xx },
  { name: 'encoded path traversal', bytes: `GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\n${H}\r\n`, allow: is4xx },
  {
    name: 'absolute-form target to another host',
    bytes: `GET http://evil.example/ HTTP/1.1\r\n${H}\r\n`,
    allow: is4xx,
  },
  { name: 'invalid UTF-8 in the path', bytes: latin1(`GET /caf\xe9/\xff\xfe HTTP/1.1\r\n${H}\r\n`), allow: is4xx },
  {
    name: 'invalid percent-encoded UTF-8 in path and query',
    bytes: `GET /%c3%28/%ff?q=%e2%82%28&r=%zz HTTP/1.1\r\n${H}\r\n`,
    allow: is4xx,
  },
  { name: 'raw invalid UTF-8 in the query', bytes: latin1(`GET /x?q=\xc3\x28\xa0 HTTP/1.1\r\n${H}\r\n`), allow: is4xx },
  {
    name: 'body over maxBodySize by content-length',
    bytes: `POST /ok HTTP/1.1\r\n${H}Content-Length: 2000000\r\n\r\n${'a'.repeat(1000)}`,
  },
  {
    name: 'pipelined valid request then garbage',
    bytes: `GET /nope HTTP/1.1\r\n${H}\r\n\x01\x02\x03 garbage\r\n\r\n`,
    allow: is4xx,
  },
];

test(`${ROWS.length} hostile raw requests: each gets a 4xx or a closed connection, nothing smuggled reaches the app, and the server serves a normal request after each`, async (t) => {
  t.true(ROWS.length >= 30);
  const paths: string[] = [];
  const server = await startServer(
    t,
    httpApp(async (scope, receive, send) => {
      paths.push(scope.path);
      for (;;) {
        const m = await receive();
        if (m.type === 'http.disconnect' || !m.moreBody) break;
      }
      const ok = scope.path === '/ok';
      await send({ type: 'http.response.start', status: ok ? 200 : 404, headers: [['content-type', 'text/plain']] });
      await send({ type: 'http.response.body', body: Buffer.from(ok ? 'ok' : 'not found') });
    }),
    { maxHeaderSize: 16 * 1024, maxBodySize: 1024 * 1024, headersTimeoutMs: 2000, requestTimeoutMs: 4000 },
  );

  const outcomes: string[] = [];
  for (const row of ROWS) {
    const socket = await connect(server.port);
    // Collect until the server closes or has answered twice (an answer to a smuggled request would be
    // the second), or 0.8 s: a parser still waiting for more bytes is a clean outcome as long as it
    // never answers 2xx/5xx and never runs the smuggled request.
    const result = collect(socket, { timeoutMs: 800, until: (text) => hasCompleteResponse(text, 2) });
    socket.on('error', () => {});
    socket.write(row.bytes);
    const r = await result;
    socket.destroy();
    const statuses = [...r.text.matchAll(/HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1]));
    t.true(
      r.text === '' || statuses.length > 0,
      `${row.name}: bytes that are no HTTP response: ${JSON.stringify(r.text.slice(0, 80))}`,
    );
    for (const status of statuses) {
      t.true((row.allow ?? is4xx)(status), `${row.name}: answered ${status}\n${r.text.slice(0, 300)}`);
    }
    outcomes.push(`${row.name}: ${statuses.length ? statuses.join(', ') : 'no answer'}`);
    t.false(paths.includes('/smuggled'), `${row.name}: the app saw the smuggled request`);
    // The server is still healthy.
    const ok = await fetch(`${server.url}/ok`);
    t.is(ok.status, 200, `after ${row.name}`);
    t.is(await ok.text(), 'ok');
  }
  t.log(outcomes.join('; '));
  t.is(server.log.errors().length, 0, server.log.errors().join('\n'));
  await delay(100);
  t.notRegex(JSON.stringify(paths), /smuggled/, 'no smuggled request reached the app, even late');
});

// App messages that break the rules never reach the wire: the app's send() throws
// ERR_ALBANY_INVALID_MESSAGE, the client gets a clean 500 (or the already-complete response), and
// the raw bytes on the socket never hold the injected text.
import test from 'ava';
import type { SendMessage } from '../../src/gateway/types.js';
import { collect, connect, hasCompleteResponse, httpApp, parseRaw, startServer } from '../helpers/server.js';

const MARK = 'INJECTED';
const start = (status: unknown, headers: unknown = [['content-type', 'text/plain']]) =>
  ({ type: 'http.response.start', status, headers }) as unknown as SendMessage;
const body = (text: string, moreBody = false) =>
  ({ type: 'http.response.body', body: Buffer.from(text), moreBody }) as SendMessage;

interface Case {
  name: string;
  /** Messages sent in order; the one expected to throw is the last. */
  messages: SendMessage[];
  /**
   * What the client must see: a complete 500 (bad message before any accepted start), the complete
   * 200 sent before the bad message, or a cut connection (a start was accepted, so per the design the
   * response is aborted; no terminating chunk, no bytes of the bad message).
   */
  expect: 500 | 200 | 'cut';
}

const CASES: Case[] = [
  {
    name: 'CRLF header injection in a value',
    expect: 500,
    messages: [start(200, [['x-a', `ok\r\nSet-Cookie: ${MARK}=1`]])],
  },
  { name: 'bare LF header injection in a value', expect: 500, messages: [start(200, [['x-a', `ok\n${MARK}: 1`]])] },
  { name: 'NUL in a header value', expect: 500, messages: [start(200, [['x-a', `ok\0${MARK}`]])] },
  { name: 'CRLF in a header name', expect: 500, messages: [start(200, [[`x-a\r\n${MARK}`, 'v']])] },
  { name: 'space and colon in a header name', expect: 500, messages: [start(200, [[`bad name:${MARK}`, 'v']])] },
  { name: 'empty header name', expect: 500, messages: [start(200, [['', MARK]])] },
  { name: 'non-string header value', expect: 500, messages: [start(200, [['x-a', { toString: () => MARK }]])] },
  { name: 'status 99', expect: 500, messages: [start(99, [['x-mark', MARK]])] },
  { name: 'status 1000', expect: 500, messages: [start(1000, [['x-mark', MARK]])] },
  {
    name: 'CRLF injection in the reason phrase',
    expect: 500,
    messages: [
      { type: 'http.response.start', status: 200, reason: `ok\r\nSet-Cookie: ${MARK}=1`, headers: [] } as SendMessage,
    ],
  },
  { name: 'status 200.5', expect: 500, messages: [start(200.5, [['x-mark', MARK]])] },
  { name: 'status as a string', expect: 500, messages: [start(`200 OK\r\n${MARK}: 1`)] },
  { name: 'body before start', expect: 500, messages: [body(MARK)] },
  {
    name: 'trailers before start',
    expect: 500,
    messages: [{ type: 'http.response.trailers', headers: [['x', MARK]], moreTrailers: false } as SendMessage],
  },
  {
    name: 'body that is a string, not bytes',
    expect: 'cut',
    messages: [start(200), { type: 'http.response.body', body: MARK } as unknown as SendMessage],
  },
  {
    name: 'unknown message type',
    expect: 500,
    messages: [{ type: 'http.response.inject', body: Buffer.from(MARK) } as unknown as SendMessage],
  },
  {
    name: 'start sent twice (second carries the mark)',
    expect: 'cut',
    messages: [start(200), start(201, [['x-mark', MARK]])],
  },
  { name: 'send after the final body', expect: 200, messages: [start(200), body('done'), body(MARK)] },
  {
    name: 'start after the final body',
    expect: 200,
    messages: [start(200), body('done'), start(200, [['x-mark', MARK]])],
  },
  {
    name: 'trailers without trailers: true',
    expect: 200,
    messages: [
      start(200),
      body('done'),
      { type: 'http.response.trailers', headers: [['x-mark', MARK]] } as SendMessage,
    ],
  },
  {
    name: 'pathsend after the final body',
    expect: 200,
    messages: [start(200), body('done'), { type: 'http.response.pathsend', path: '/etc/hostname' } as SendMessage],
  },
  {
    name: 'bad trailer after trailers: true',
    expect: 'cut',
    messages: [
      { type: 'http.response.start', status: 200, headers: [], trailers: true } as SendMessage,
      body('part', false),
      { type: 'http.response.trailers', headers: [['x-t', `a\r\n${MARK}`]] } as SendMessage,
    ],
  },
];

test(`${CASES.length} rule-breaking app messages: send() throws ERR_ALBANY_INVALID_MESSAGE and the injected text never reaches the wire`, async (t) => {
  const errors = new Map<string, string>();
  const server = await startServer(
    t,
    httpApp(async (scope, _receive, send) => {
      const c = CASES[Number(scope.path.slice(1))]!;
      for (let i = 0; i < c.messages.length; i++) {
        try {
          await send(c.messages[i]!);
          if (i === c.messages.length - 1) errors.set(c.name, 'no error');
        } catch (error) {
          errors.set(c.name, (error as { code?: string }).code ?? String(error));
          if (i !== c.messages.length - 1) errors.set(c.name, `early: ${(error as Error).message}`);
          throw error;
        }
      }
    }),
  );
  for (const [i, c] of CASES.entries()) {
    const socket = await connect(server.port);
    const result = collect(socket, { timeoutMs: 2000, until: (text) => hasCompleteResponse(text) });
    socket.write(`GET /${i} HTTP/1.1\r\nHost: x\r\n\r\n`);
    const raw = await result;
    socket.destroy();
    t.is(errors.get(c.name), 'ERR_ALBANY_INVALID_MESSAGE', c.name);
    t.false(
      raw.text.toUpperCase().includes(MARK),
      `${c.name}: the wire holds the injected text:\n${raw.text.slice(0, 400)}`,
    );
    const status = parseRaw(raw.text).status;
    if (c.expect === 200) {
      // A trailer-expecting body ends with the terminating chunk only when trailers came; else the
      // response is complete and framed as sent.
      t.is(status, 200, c.name);
      t.true(hasCompleteResponse(raw.text), `${c.name}: a complete response`);
      t.true(raw.text.endsWith('done'), `${c.name}: nothing after the body: ${JSON.stringify(raw.text.slice(-40))}`);
    } else if (c.expect === 'cut') {
      t.not(raw.ended, 'timeout', `${c.name}: the connection was closed`);
      t.false(
        hasCompleteResponse(raw.text),
        `${c.name}: never passed off as a complete response: ${JSON.stringify(raw.text.slice(0, 200))}`,
      );
    } else {
      t.is(status, 500, `${c.name}: ${raw.text.slice(0, 200)}`);
      t.true(hasCompleteResponse(raw.text), `${c.name}: a complete 500`);
    }
  }
  // Every one was logged once as an app error; the server is still fine.
  t.is(server.log.errors().length, CASES.length);
  t.is((await fetch(`${server.url}/0`)).status, 500);
});

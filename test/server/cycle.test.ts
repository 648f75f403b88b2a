import test from 'ava';
import { HttpCycle, type RequestSource, type ResponseSink } from '../../src/server/cycle.js';
import type { App, Headers, HttpReceiveMessage, SendMessage } from '../../src/gateway/types.js';
import { httpScope } from '../../src/testing/communicator.js';

const invalid = { code: 'ERR_ALBANY_INVALID_MESSAGE' };

/** Records every call a cycle makes on its sink. */
class FakeSink implements ResponseSink {
  calls: Array<[string, ...unknown[]]> = [];
  start(status: number, headers: Headers, trailers: boolean, reason?: string): void {
    this.calls.push(
      reason === undefined ? ['start', status, headers, trailers] : ['start', status, headers, trailers, reason],
    );
  }
  body(chunk: Uint8Array | undefined, more: boolean): void {
    this.calls.push(['body', chunk && Buffer.from(chunk).toString(), more]);
  }
  trailers(headers: Headers, more: boolean): void {
    this.calls.push(['trailers', headers, more]);
  }
  async sendFile(path: string): Promise<void> {
    this.calls.push(['sendFile', path]);
  }
  fail(status: number, text: string): void {
    this.calls.push(['fail', status, text]);
  }
  abort(): void {
    this.calls.push(['abort']);
  }
}

/** A request source that yields scripted messages, then waits forever. */
function source(...messages: HttpReceiveMessage[]): RequestSource & { reads: number } {
  return {
    reads: 0,
    next() {
      this.reads++;
      const m = messages.shift();
      return m ? Promise.resolve(m) : new Promise<HttpReceiveMessage>(() => {});
    },
  };
}

function cycleFor(opts: { messages?: HttpReceiveMessage[] } = {}) {
  const sink = new FakeSink();
  const src = source(...(opts.messages ?? [{ type: 'http.request', body: new Uint8Array(), moreBody: false }]));
  const cycle = new HttpCycle(httpScope({ method: 'POST', rawPath: '/p', path: '/p', queryString: 'q=1' }), src, sink);
  const logged: Array<[unknown, string]> = [];
  const run = (app: App) => cycle.run(app, (error, line) => void logged.push([error, line]));
  return { sink, src, cycle, logged, run };
}

const start = (status = 200, headers: Headers = []): SendMessage => ({ type: 'http.response.start', status, headers });
const body = (text: string, moreBody = false): SendMessage => ({
  type: 'http.response.body',
  body: Buffer.from(text),
  moreBody,
});

test('a complete response reaches the sink in order and nothing is logged', async (t) => {
  const { sink, logged, run, cycle } = cycleFor();
  await run(async (_s, _r, send) => {
    await send(start(201, [['x-a', '1']]));
    await send(body('a', true));
    await send(body('b'));
  });
  t.deepEqual(sink.calls, [
    ['start', 201, [['x-a', '1']], false],
    ['body', 'a', true],
    ['body', 'b', false],
  ]);
  t.deepEqual(logged, []);
  t.true(cycle.finished);
});

// Each broken message: the app's send rejects with ERR_ALBANY_INVALID_MESSAGE, and the sink sees nothing of it.
const broken: Array<[label: string, before: SendMessage[], bad: unknown, pattern: RegExp]> = [
  ['body before start', [], body('x'), /http\.response\.body sent before http\.response\.start/],
  ['trailers before start', [], { type: 'http.response.trailers', headers: [] }, /before http\.response\.start/],
  ['pathsend before start', [], { type: 'http.response.pathsend', path: '/etc/hosts' }, /before http\.response\.start/],
  ['start twice', [start()], start(), /sent twice/],
  ['body after the last body', [start(), body('done')], body('more'), /after the response was complete/],
  ['start after the last body', [start(), body('done')], start(), /sent twice/],
  [
    'trailers without trailers: true',
    [start()],
    { type: 'http.response.trailers', headers: [] },
    /did not set trailers: true/,
  ],
  [
    'trailers while the body streams',
    [
      { type: 'http.response.start', status: 200, trailers: true },
      { type: 'http.response.body', body: new Uint8Array(1), moreBody: true },
    ],
    { type: 'http.response.trailers', headers: [] },
    /while the body is still streaming/,
  ],
  ['status 99', [], start(99), /status must be an integer from 100 to 999, got 99/],
  ['status 1000', [], start(1000), /got 1000/],
  [
    'reason with CR/LF',
    [],
    { type: 'http.response.start', status: 200, reason: 'ok\r\nx: y' },
    /reason "ok\\r\\nx: y" has character U\+000D at 2/,
  ],
  ['reason with NUL', [], { type: 'http.response.start', status: 200, reason: 'o\0k' }, /U\+0000 at 1/],
  [
    'reason past latin1',
    [],
    { type: 'http.response.start', status: 200, reason: 'ok \u2713' },
    /U\+2713 at 3; allowed are tab, space, visible ASCII and latin1/,
  ],
  [
    'reason not a string',
    [],
    { type: 'http.response.start', status: 200, reason: 42 },
    /reason must be a string, got number/,
  ],
  ['status as a string', [], { type: 'http.response.start', status: '200' }, /got 200/],
  ['header name with a space', [], start(200, [['bad name', 'v']]), /not a valid token/],
  ['header name with a colon', [], start(200, [['x:y', 'v']]), /not a valid token/],
  ['header value with CR/LF', [], start(200, [['x-a', 'v\r\nset-cookie: evil=1']]), /contains CR, LF or NUL/],
  ['header name with LF', [], start(200, [['x-a\n', 'v']]), /not a valid token/],
  ['header value with NUL', [], start(200, [['x-a', 'v\0']]), /contains CR, LF or NUL/],
  ['a body that is a string', [start()], { type: 'http.response.body', body: 'text' }, /body must be a Uint8Array/],
  ['an unknown type', [], { type: 'websocket.send', text: 'x' }, /unexpected message type "websocket.send"/],
  ['a message without type', [], {}, /string "type"/],
  ['pathsend with an empty path', [start()], { type: 'http.response.pathsend', path: '' }, /non-empty string/],
];
for (const [label, before, bad, pattern] of broken) {
  test(`invalid message: ${label} rejects in the app and reaches nothing on the sink`, async (t) => {
    const { sink, run } = cycleFor();
    let caught: unknown;
    await run(async (_s, _r, send) => {
      for (const m of before) await send(m);
      const callsBefore = sink.calls.length;
      caught = await t.throwsAsync(send(bad as SendMessage), invalid);
      t.is(sink.calls.length, callsBefore, 'the bad message reached the sink');
      throw caught;
    });
    t.regex((caught as Error).message, pattern);
  });
}

test('a bad header in start means the app gets the error and the sink only ever answers 500', async (t) => {
  const { sink, logged, run } = cycleFor();
  await run(async (_s, _r, send) => {
    await send(start(200, [['x-a', 'v\r\nx-injected: 1']]));
  });
  t.deepEqual(sink.calls, [['fail', 500, 'Internal Server Error']]);
  t.is(logged.length, 1);
  t.is(logged[0]![1], 'POST /p?q=1 HTTP/1.1');
});

test('the app throwing before start gives one 500 and one log line with the request line', async (t) => {
  const { sink, logged, run } = cycleFor();
  const boom = new Error('boom');
  await run(async () => {
    throw boom;
  });
  t.deepEqual(sink.calls, [['fail', 500, 'Internal Server Error']]);
  t.deepEqual(logged, [[boom, 'POST /p?q=1 HTTP/1.1']]);
});

test('the app throwing after start aborts the response', async (t) => {
  const { sink, logged, run } = cycleFor();
  await run(async (_s, _r, send) => {
    await send(start());
    await send(body('part', true));
    throw new Error('late');
  });
  t.deepEqual(sink.calls.at(-1), ['abort']);
  t.false(sink.calls.some((c) => c[0] === 'fail'));
  t.is(logged.length, 1);
});

test('the app returning without any response gives a 500 and a log line', async (t) => {
  const { sink, logged, run } = cycleFor();
  await run(async () => {});
  t.deepEqual(sink.calls, [['fail', 500, 'Internal Server Error']]);
  t.is(logged.length, 1);
  t.regex((logged[0]![0] as Error).message, /returned without completing the response/);
});

test('the app returning mid-body aborts', async (t) => {
  const { sink, logged, run } = cycleFor();
  await run(async (_s, _r, send) => {
    await send(start());
    await send(body('half', true));
  });
  t.deepEqual(sink.calls.at(-1), ['abort']);
  t.is(logged.length, 1);
});

test('with trailers: true the last body does not finish; trailers do', async (t) => {
  const { sink, cycle, run } = cycleFor();
  await run(async (_s, _r, send) => {
    await send({ type: 'http.response.start', status: 200, headers: [], trailers: true });
    await send(body('x'));
    t.false(cycle.finished);
    await t.throwsAsync(send(body('y')), { ...invalid, message: /while trailers are expected/ });
    await send({ type: 'http.response.trailers', headers: [['x-sum', 'a']], moreTrailers: true });
    await send({ type: 'http.response.trailers', headers: [['x-sum2', 'b']] });
    t.true(cycle.finished);
    await t.throwsAsync(send({ type: 'http.response.trailers', headers: [] }), invalid);
  });
  t.deepEqual(
    sink.calls.slice(1).map((c) => c[0]),
    ['body', 'trailers', 'trailers'],
  );
});

test('pathsend ends the response; nothing may follow it', async (t) => {
  const { sink, run } = cycleFor();
  await run(async (_s, _r, send) => {
    await send(start());
    await send({ type: 'http.response.pathsend', path: '/some/file' });
    await t.throwsAsync(send(body('x')), invalid);
  });
  t.deepEqual(
    sink.calls.map((c) => c[0]),
    ['start', 'sendFile'],
  );
});

test("receive passes body chunks through, then waits; the host's disconnect wakes it", async (t) => {
  const { cycle, src } = cycleFor({
    messages: [
      { type: 'http.request', body: Buffer.from('a'), moreBody: true },
      { type: 'http.request', body: Buffer.from('b'), moreBody: false },
    ],
  });
  t.like(await cycle.receive(), { type: 'http.request', moreBody: true });
  t.like(await cycle.receive(), { type: 'http.request', moreBody: false });
  const reads = src.reads;
  const pending = cycle.receive();
  t.is(src.reads, reads, 'the source is not read after the last chunk');
  cycle.clientGone();
  t.deepEqual(await pending, { type: 'http.disconnect' });
  t.deepEqual(await cycle.receive(), { type: 'http.disconnect' });
});

test('after the client is gone send rejects with ERR_ALBANY_CLIENT_DISCONNECTED and nothing is logged', async (t) => {
  const { cycle, logged, sink, run } = cycleFor();
  await run(async (_s, _r, send) => {
    await send(start());
    cycle.clientGone();
    await send(body('x'));
  });
  t.deepEqual(logged, []);
  t.deepEqual(
    sink.calls.map((c) => c[0]),
    ['start'],
  );
});

test('a source disconnect marks the cycle gone for send too', async (t) => {
  const { run } = cycleFor({ messages: [{ type: 'http.disconnect' }] });
  await run(async (_s, receive, send) => {
    t.deepEqual(await receive(), { type: 'http.disconnect' });
    await t.throwsAsync(send(start()), { code: 'ERR_ALBANY_CLIENT_DISCONNECTED' });
  });
});

test('a sink write failing because the client left becomes ERR_ALBANY_CLIENT_DISCONNECTED and is not logged', async (t) => {
  const { cycle, sink, logged, run } = cycleFor();
  sink.sendFile = async () => {
    cycle.clientGone();
    throw Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
  };
  let caught: unknown;
  await run(async (_s, _r, send) => {
    await send(start());
    caught = await t.throwsAsync(send({ type: 'http.response.pathsend', path: '/f' }), {
      code: 'ERR_ALBANY_CLIENT_DISCONNECTED',
    });
    throw caught;
  });
  t.is(((caught as Error).cause as { code?: string }).code, 'ERR_STREAM_PREMATURE_CLOSE');
  t.deepEqual(logged, []);
});

test('a sink write failing while the client is still there reaches the app unchanged', async (t) => {
  const { sink, logged, run } = cycleFor();
  sink.sendFile = async () => {
    throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
  };
  await run(async (_s, _r, send) => {
    await send(start());
    await t.throwsAsync(send({ type: 'http.response.pathsend', path: '/f' }), { code: 'ENOENT' });
    throw new Error('app gives up');
  });
  t.is(logged.length, 1);
});

test('statuses 600 to 999 and a reason phrase reach the sink as sent', async (t) => {
  for (const [status, reason] of [
    [600, undefined],
    [999, 'Nine Nine Nine'],
    [200, 'ok'],
    [299, ''],
    [200, 'caf\u00e9\tbar'],
  ] as const) {
    const { sink, logged, run } = cycleFor();
    await run(async (_s, _r, send) => {
      await send(reason === undefined ? start(status) : { type: 'http.response.start', status, headers: [], reason });
      await send(body('x'));
    });
    t.deepEqual(
      sink.calls[0],
      reason === undefined ? ['start', status, [], false] : ['start', status, [], false, reason],
    );
    t.deepEqual(logged, []);
  }
});

test('a sink that refuses the head (throws in start) leaves the response unstarted, so the app failing gets a 500', async (t) => {
  const { sink, logged, run } = cycleFor();
  sink.start = () => {
    throw new Error('this host cannot carry that status');
  };
  await run(async (_s, _r, send) => {
    await send(start(600));
  });
  t.deepEqual(sink.calls, [['fail', 500, 'Internal Server Error']]);
  t.is(logged.length, 1);
  t.regex(String(logged[0]![0]), /cannot carry that status/);
});

import test from 'ava';
import { getHeader, hasHeader, readBody } from '../../src/gateway/helpers.js';
import type { ReceiveMessage } from '../../src/gateway/types.js';

const script =
  (...messages: ReceiveMessage[]) =>
  async () =>
    messages.shift()!;

test('readBody joins every chunk up to moreBody: false', async (t) => {
  const body = await readBody(
    script(
      { type: 'http.request', body: Buffer.from('ab'), moreBody: true },
      { type: 'http.request', body: new Uint8Array(0), moreBody: true },
      { type: 'http.request', body: Buffer.from('cd'), moreBody: false },
    ),
  );
  t.is(body?.toString(), 'abcd');
});

test('readBody resolves null when the client disconnects mid-body', async (t) => {
  t.is(
    await readBody(
      script({ type: 'http.request', body: Buffer.from('ab'), moreBody: true }, { type: 'http.disconnect' }),
    ),
    null,
  );
});

test('hasHeader ignores case of the stored name; getHeader returns the first value', (t) => {
  const headers: Array<[string, string]> = [
    ['Content-Length', '3'],
    ['x-a', '1'],
    ['x-a', '2'],
  ];
  t.true(hasHeader(headers, 'content-length'));
  t.false(hasHeader(headers, 'transfer-encoding'));
  t.is(getHeader(headers, 'x-a'), '1');
  t.is(getHeader(headers, 'x-b'), undefined);
});

// The worker-side pieces a WSGI response is made of, called directly: what the caches and the
// array fast path return must be what the general paths return, call after call.
import test from 'ava';
import { normalizeHeaders, parseStatusLine, toBytes } from '../../legacy-adapter/worker/response.js';

test('toBytes encodes text as UTF-8 the same on repeated and alternating calls', (t) => {
  for (const s of ['hello', 'hello', 'héllo ✓', 'hello', '', 'x'.repeat(5000), 'x'.repeat(5000)])
    t.deepEqual(Buffer.from(toBytes(s)), Buffer.from(s, 'utf8'), JSON.stringify(s.slice(0, 20)));
  const bytes = new Uint8Array([1, 2, 3]);
  t.is(toBytes(bytes), bytes, 'a Uint8Array is passed as is');
});

test('parseStatusLine gives the same answer for a repeated line and tells different ones apart', (t) => {
  t.deepEqual(parseStatusLine('200 OK'), { status: 200, reason: undefined });
  t.deepEqual(parseStatusLine('200 OK'), { status: 200, reason: undefined });
  t.deepEqual(parseStatusLine('299 Custom Thing'), { status: 299, reason: 'Custom Thing' });
  t.deepEqual(parseStatusLine('299 Custom Thing'), { status: 299, reason: 'Custom Thing' });
  t.deepEqual(parseStatusLine(404), { status: 404, reason: undefined });
  t.deepEqual(parseStatusLine('200 OK'), { status: 200, reason: undefined });
  // A bad line is refused every time, not remembered.
  t.throws(() => parseStatusLine('abc'), { message: /3-digit code/ });
  t.throws(() => parseStatusLine('abc'), { message: /3-digit code/ });
});

test('normalizeHeaders reads arrays of pairs like any other iterable of pairs', (t) => {
  const expected = [
    ['content-type', 'text/plain'],
    ['x-n', '1'],
    ['set-cookie', 'a=1'],
    ['set-cookie', 'b=2'],
    ['x-map', 'y'],
  ];
  const pairs: Array<readonly [string, unknown]> = [
    ['Content-Type', 'text/plain'],
    ['X-N', 1],
    ['X-Skip', undefined],
    ['Set-Cookie', ['a=1', 'b=2']],
  ];
  // An entry that is an iterable pair but not an array (a Map's entries are arrays; a Set is not).
  const iterablePair = new Set(['X-Map', 'y']) as unknown as readonly [string, unknown];
  t.deepEqual(normalizeHeaders([...pairs, iterablePair]), expected);
  t.deepEqual(normalizeHeaders(new Map<string, unknown>([...pairs, ['X-Map', 'y']])), expected);
  t.deepEqual(normalizeHeaders({ 'Content-Type': 'text/plain', 'X-N': 1 }), expected.slice(0, 2));
  t.deepEqual(normalizeHeaders(null), []);
});

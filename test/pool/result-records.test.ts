import test from 'ava';
import {
  readResultRecords,
  recordArea,
  writeResultRecord,
  type RecordArea,
  type TaskResult,
} from '../../src/pool/protocol.js';
import type { Headers } from '../../src/gateway/types.js';

const ok = (start: TaskResult['start'], body: Uint8Array | undefined): TaskResult => ({
  start,
  body,
  error: undefined,
  loadError: false,
  aborted: false,
  startedAt: 0,
});

function readAll(bytes: RecordArea, to: number): Array<[number, TaskResult]> {
  const out: Array<[number, TaskResult]> = [];
  readResultRecords(
    bytes,
    0,
    to,
    (i) => 1000 + i,
    (i, r) => out.push([i, r]),
  );
  return out;
}

test('result records carry status, reason, headers in order and the body, back to back', (t) => {
  const bytes = recordArea(new ArrayBuffer(4096));
  const headers: Array<[string, string]> = [
    ['x-a', '1'],
    ['x-a', '2'],
    ['content-type', 'text/plain'],
  ];
  const head = { status: 299, reason: 'Custom Thing', headers };
  let at = writeResultRecord(bytes, 0, 4096, 3, ok(head, Buffer.from('hello')));
  t.true(at > 0);
  at = writeResultRecord(bytes, at, 4096, 5, ok(undefined, new Uint8Array(0)));
  at = writeResultRecord(bytes, at, 4096, 7, ok({ status: 200, headers: [] }, undefined));
  const [first, second, third] = readAll(bytes, at);
  t.is(first![0], 3);
  t.deepEqual(first![1].start, { status: 299, reason: 'Custom Thing', headers });
  t.is(Buffer.from(first![1].body!).toString(), 'hello');
  t.is(first![1].startedAt, 1003);
  t.is(second![0], 5);
  t.is(second![1].start, undefined, 'a head already posted on the port is not sent twice');
  t.is(second![1].body!.byteLength, 0);
  t.deepEqual(third![1].start, { status: 200, headers: [] });
  t.is(third![1].body, undefined);
});

test('a header value the gateway will refuse reaches the main thread unchanged, to be refused there', (t) => {
  const bytes = recordArea(new ArrayBuffer(1024));
  const value = 'caf\u00e9 \u2603 \ud83d\ude00';
  const start = { status: 200, headers: [['x-odd', value]] as Array<[string, string]>, reason: '' };
  const at = writeResultRecord(bytes, 0, 1024, 0, ok(start, Buffer.from('x')));
  const [[, result]] = readAll(bytes, at) as [[number, TaskResult]];
  t.deepEqual(result.start, { status: 200, headers: [['x-odd', value]], reason: '' });
});

test('a record that does not fit is refused whole, so the response travels the other way', (t) => {
  const bytes = recordArea(new SharedArrayBuffer(256));
  t.is(writeResultRecord(bytes, 0, 64, 0, ok({ status: 200, headers: [] }, new Uint8Array(100))), -1);
  const long: Array<[string, string]> = [['x-long', 'v'.repeat(40)]];
  t.is(writeResultRecord(bytes, 0, 64, 0, ok({ status: 200, headers: long }, new Uint8Array(0))), -1);
  t.true(writeResultRecord(bytes, 0, 256, 0, ok({ status: 200, headers: [] }, new Uint8Array(100))) > 0);
});

test('records stay 4-byte aligned whatever the text and body lengths, and non-ASCII or long text survives', (t) => {
  const bytes = recordArea(new SharedArrayBuffer(8192));
  const long = `${'x'.repeat(65)}\u00e9`;
  const heads: Array<[string, string]> = [
    ['a', 'bc'],
    ['x-\u00fc', 'caf\u00e9'],
    ['x-long', long],
  ];
  let at = 0;
  const bodies = ['', 'a', 'ab', 'abc', 'abcd', 'abcde'];
  for (let i = 0; i < bodies.length; i++) {
    at = writeResultRecord(
      bytes,
      at,
      8192,
      i,
      ok({ status: 200 + i, headers: heads, reason: 'R'.repeat(i) }, Buffer.from(bodies[i]!)),
    );
    t.is(at % 4, 0);
  }
  const read = readAll(bytes, at);
  t.is(read.length, bodies.length);
  for (const [i, r] of read) {
    t.deepEqual(r.start, { status: 200 + i, headers: heads, reason: 'R'.repeat(i) });
    t.is(Buffer.from(r.body!).toString(), bodies[i]!);
  }
});

test('a record with the headers of the record before says so in one word; the reader gives each response its own lists', (t) => {
  const area = recordArea(new ArrayBuffer(4096));
  const headers: Array<[string, string]> = [
    ['content-type', 'text/plain'],
    ['x-é', 'ünïcode'],
  ];
  const first = writeResultRecord(area, 0, 4096, 0, ok({ status: 200, headers }, Buffer.from('a')));
  // Equal content in other arrays and strings counts as the same.
  const again = headers.map(([n, v]): [string, string] => [`${n}`, `${v}`]);
  const second = writeResultRecord(
    area,
    first,
    4096,
    1,
    ok({ status: 201, headers: again }, Buffer.from('b')),
    headers,
  );
  t.is(second - first, 4 * 4 + 4 + 4, 'index, status, reason, "-1", body length and one padded body word');
  const other: Array<[string, string]> = [['content-type', 'text/html']];
  const third = writeResultRecord(area, second, 4096, 2, ok({ status: 202, headers: other }, undefined), again);
  // Read in two looks, as the pool does while a batch runs: "the same" still refers to the record before.
  const holder: { lastHeaders: Headers | undefined } = { lastHeaders: undefined };
  const out: Array<[number, TaskResult]> = [];
  readResultRecords(
    area,
    0,
    first,
    () => 0,
    (i, r) => out.push([i, r]),
    holder,
  );
  readResultRecords(
    area,
    first,
    third,
    () => 0,
    (i, r) => out.push([i, r]),
    holder,
  );
  t.deepEqual(
    out.map(([i, r]) => [i, r.start?.status, r.start?.headers]),
    [
      [0, 200, headers],
      [1, 201, headers],
      [2, 202, other],
    ],
  );
  const [a, b] = [out[0]![1].start!.headers, out[1]![1].start!.headers];
  t.not(a, b, 'two responses never share a header list');
  t.not(a[0], b[0], 'nor a header pair');
  a[0]![1] = 'changed';
  t.is(b[0]![1], 'text/plain');
});

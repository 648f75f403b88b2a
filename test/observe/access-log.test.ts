// The access log's formatter and batching, without a server: escaping, clients, and how lines
// reach the stream (one write per turn of the event loop, never a batch past PIPE_BUF).
import test from 'ava';
import { AccessLog, formatAccessLine, requestIdGenerator, type AccessRecord } from '../../src/observe/access-log.js';

const record: AccessRecord = {
  client: ['127.0.0.1', 5000] as unknown as AccessRecord['client'],
  method: 'GET',
  target: '/a?b=1',
  httpVersion: '1.1',
  status: 200,
  bytes: 12,
  durationMs: 1.23456,
  requestId: 'rid-1',
};
const time = new Date('2026-12-06T10:00:00.000Z');

test('text: time, client, quoted request line, status, bytes, duration rounded to µs, id', (t) => {
  t.is(
    formatAccessLine(record, 'text', time),
    '2026-12-06T10:00:00.000Z 127.0.0.1:5000 "GET /a?b=1 HTTP/1.1" 200 12 1.235ms rid-1\n',
  );
});

test('text: a quote, backslash or control byte in the target or id is escaped, so a line stays one parseable line', (t) => {
  const line = formatAccessLine({ ...record, target: '/x"y\\z\n', requestId: 'a b\r\n' }, 'text', time);
  t.is(line, '2026-12-06T10:00:00.000Z 127.0.0.1:5000 "GET /x\\"y\\\\z\\n HTTP/1.1" 200 12 1.235ms a b\\r\\n\n');
  t.is(line.split('\n').length, 2);
});

test('json: one object per line that JSON.parse reads back; IPv6 clients bracketed, no client as "-"', (t) => {
  const v6 = JSON.parse(
    formatAccessLine(
      { ...record, client: ['::1', 9] as unknown as AccessRecord['client'], target: '/é"\u0001' },
      'json',
      time,
    ),
  ) as Record<string, unknown>;
  t.deepEqual(v6, {
    time: '2026-12-06T10:00:00.000Z',
    client: '[::1]:9',
    method: 'GET',
    path: '/é"\u0001',
    httpVersion: '1.1',
    status: 200,
    bytes: 12,
    durationMs: 1.235,
    requestId: 'rid-1',
  });
  const none = JSON.parse(formatAccessLine({ ...record, client: null }, 'json', time)) as Record<string, unknown>;
  t.is(none.client, '-');
});

test('generated ids share a per-process prefix and never repeat', (t) => {
  const next = requestIdGenerator();
  const ids = Array.from({ length: 1000 }, next);
  t.is(new Set(ids).size, 1000);
  t.regex(ids[0]!, /^[0-9a-f]{12}-1$/);
  t.not(requestIdGenerator()().split('-')[0], ids[0]!.split('-')[0]);
});

test('lines are batched into one write within 50 ms; a batch never grows past 4096 bytes; close() writes the rest', async (t) => {
  const writes: string[] = [];
  const log = new AccessLog('text', { write: (s: string) => writes.push(s) });
  t.teardown(() => log.close());
  for (let i = 0; i < 3; i++) log.write(record);
  await new Promise((r) => setImmediate(r));
  t.deepEqual(writes, [], 'nothing written at once');
  await new Promise((r) => setTimeout(r, 120));
  t.is(writes.length, 1);
  t.is(writes[0]!.split('\n').length, 4);
  writes.length = 0;
  for (let i = 0; i < 200; i++) log.write(record);
  log.close();
  t.true(writes.length > 1);
  t.true(writes.every((w) => Buffer.byteLength(w) <= 4096 && w.endsWith('\n')));
  t.is(writes.join('').split('\n').length - 1, 200);
});

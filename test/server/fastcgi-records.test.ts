// The FastCGI wire format on its own: framing across chunk boundaries, name-value lengths, hostile bytes.
import test from 'ava';
import {
  RecordParser,
  RecordType,
  encodeEndRequest,
  encodeNameValuePairs,
  encodeRecord,
  parseBeginRequest,
  parseNameValuePairs,
  streamRecords,
} from '../../src/server/fastcgi-records.js';
import { hasCode, ErrorCodes } from '../../src/errors.js';

test('a record split at every byte boundary is reassembled whole', (t) => {
  const bytes = Buffer.concat([
    encodeRecord(RecordType.STDIN, 7, Buffer.from('hello')),
    encodeRecord(RecordType.STDIN, 7),
  ]);
  for (let cut = 1; cut < bytes.length; cut++) {
    const p = new RecordParser();
    const records = [...p.push(bytes.subarray(0, cut)), ...p.push(bytes.subarray(cut))];
    t.is(records.length, 2);
    t.is(records[0]!.requestId, 7);
    t.is(records[0]!.content.toString(), 'hello');
    t.is(records[1]!.content.length, 0);
    t.is(p.pendingBytes, 0);
  }
});

test('padding is skipped and a partial record is reported as pending', (t) => {
  const rec = Buffer.from([1, RecordType.STDIN, 0, 1, 0, 2, 3, 0, 65, 66, 0, 0, 0]);
  const p = new RecordParser();
  const [r] = p.push(Buffer.concat([rec, rec.subarray(0, 5)]));
  t.is(r!.content.toString(), 'AB');
  t.is(p.pendingBytes, 5);
});

test('a wrong version byte is a protocol error', (t) => {
  const error = t.throws(() => new RecordParser().push(Buffer.from('GET / HTTP/1.1\r\n\r\n')));
  t.true(hasCode(error, ErrorCodes.ERR_ALBANY_PROTOCOL));
  t.regex(error!.message, /version 71/);
});

test('name-value pairs round-trip with 1- and 4-byte lengths, duplicates kept', (t) => {
  const long = 'x'.repeat(300);
  const pairs: Array<[string, string]> = [
    ['A', ''],
    [long, 'v'],
    ['A', long],
    ['LATIN', '\u00e9\u00ff'],
  ];
  t.deepEqual(parseNameValuePairs(encodeNameValuePairs(pairs)), pairs);
});

test('name-value lengths that run past the end throw instead of reading garbage', (t) => {
  const good = encodeNameValuePairs([['NAME', 'value']]);
  for (let cut = 1; cut < good.length; cut++) {
    const error = t.throws(() => parseNameValuePairs(good.subarray(0, cut)));
    t.true(hasCode(error, ErrorCodes.ERR_ALBANY_PROTOCOL));
  }
  t.throws(() => parseNameValuePairs(Buffer.from([0xff, 0xff, 0xff, 0xff, 0])));
});

test('stream data is split into records of at most 65535 bytes', (t) => {
  const data = Buffer.alloc(65535 * 2 + 10, 1);
  const parts = streamRecords(RecordType.STDOUT, 3, data);
  const records = new RecordParser().push(Buffer.concat(parts));
  t.deepEqual(
    records.map((r) => r.content.length),
    [65535, 65535, 10],
  );
});

test('BEGIN_REQUEST and END_REQUEST bodies', (t) => {
  t.deepEqual(parseBeginRequest(Buffer.from([0, 1, 1, 0, 0, 0, 0, 0])), { role: 1, keepConn: true });
  t.deepEqual(parseBeginRequest(Buffer.from([0, 3, 0, 0, 0, 0, 0, 0])), { role: 3, keepConn: false });
  t.throws(() => parseBeginRequest(Buffer.from([0, 1])));
  const [end] = new RecordParser().push(encodeEndRequest(9, 1, 2));
  t.is(end!.type, RecordType.END_REQUEST);
  t.is(end!.content.readUInt32BE(0), 1);
  t.is(end!.content[4], 2);
});

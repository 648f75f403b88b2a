// Seed inputs and mutators for the fuzz target: valid HTTP/1.1 requests and FastCGI record streams,
// and the byte-level mutations (flips, splices, interesting tokens) applied to them.
import { FCGI_KEEP_CONN, RecordType, encodeNameValuePairs, encodeRecord } from '../../src/server/fastcgi-records.js';

export type Rand = () => number;

const int = (rnd: Rand, n: number) => Math.floor(rnd() * n);
const pick = <T>(rnd: Rand, list: readonly T[]): T => list[int(rnd, list.length)]!;

/** Valid HTTP requests to mutate: every framing the parser knows, keep-alive pairs, odd but legal heads. */
export const HTTP_SEEDS: readonly Buffer[] = [
  'GET / HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET /path/x?q=1&r=%20 HTTP/1.1\r\nHost: a\r\nAccept: */*\r\nUser-Agent: fuzz\r\n\r\n',
  'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\nContent-Type: text/plain\r\n\r\nhello world',
  'POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n',
  'POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTrailer: x-t\r\n\r\n3\r\nabc\r\n0\r\nx-t: 1\r\n\r\n',
  'GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n',
  'HEAD / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
  'GET / HTTP/1.0\r\n\r\n',
  'OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n',
  'PUT /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\nbody',
  'GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
].map((s) => Buffer.from(s, 'latin1'));

function fcgiRequest(id: number, method: string, uri: string, body: string, keep: boolean): Buffer {
  const begin = Buffer.alloc(8);
  begin.writeUInt16BE(1, 0);
  begin[2] = keep ? FCGI_KEEP_CONN : 0;
  const q = uri.indexOf('?');
  const params = encodeNameValuePairs([
    ['REQUEST_METHOD', method],
    ['REQUEST_URI', uri],
    ['SCRIPT_NAME', q === -1 ? uri : uri.slice(0, q)],
    ['QUERY_STRING', q === -1 ? '' : uri.slice(q + 1)],
    ['SERVER_PROTOCOL', 'HTTP/1.1'],
    ['REMOTE_ADDR', '127.0.0.1'],
    ['REMOTE_PORT', '1'],
    ['SERVER_NAME', 'fuzz'],
    ['SERVER_PORT', '80'],
    ['HTTP_HOST', 'fuzz'],
    ['CONTENT_LENGTH', String(body.length)],
  ]);
  return Buffer.concat([
    encodeRecord(RecordType.BEGIN_REQUEST, id, begin),
    encodeRecord(RecordType.PARAMS, id, params),
    encodeRecord(RecordType.PARAMS, id),
    ...(body ? [encodeRecord(RecordType.STDIN, id, Buffer.from(body))] : []),
    encodeRecord(RecordType.STDIN, id),
  ]);
}

/** Valid FastCGI streams to mutate: single, multiplexed, aborted, management records. */
export const FCGI_SEEDS: readonly Buffer[] = [
  fcgiRequest(1, 'GET', '/x?y=1', '', false),
  fcgiRequest(1, 'POST', '/echo', 'hello world', true),
  Buffer.concat([fcgiRequest(1, 'GET', '/a', '', true), fcgiRequest(2, 'POST', '/b', 'bb', true)]),
  Buffer.concat([fcgiRequest(3, 'GET', '/a', '', true), encodeRecord(RecordType.ABORT_REQUEST, 3)]),
  encodeRecord(
    RecordType.GET_VALUES,
    0,
    encodeNameValuePairs([
      ['FCGI_MAX_CONNS', ''],
      ['FCGI_MPXS_CONNS', ''],
    ]),
  ),
];

const TOKENS = [
  '\r\n',
  '\n',
  '\r',
  '\0',
  ' ',
  ':',
  '\r\n\r\n',
  '0\r\n\r\n',
  'Content-Length: 5\r\n',
  'Content-Length: 99999999999\r\n',
  'Transfer-Encoding: chunked\r\n',
  'ffffffffffffffff\r\n',
  '%00',
  '%ff',
  '%c3%28',
  '../',
  '\xff\xfe',
  'HTTP/1.1',
  '\x80',
  'GET / HTTP/1.1\r\nHost: a\r\n\r\n',
].map((s) => Buffer.from(s, 'latin1'));

const EDGE_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x0a, 0x0d, 0x20, 0x3a];

/** Applies 1-4 random mutations to a copy of `input`. */
export function mutate(rnd: Rand, input: Buffer): Buffer {
  let buf = Buffer.from(input);
  const rounds = 1 + int(rnd, 4);
  for (let r = 0; r < rounds; r++) {
    const at = buf.length === 0 ? 0 : int(rnd, buf.length);
    switch (int(rnd, 9)) {
      case 0:
        if (buf.length) buf[at] = buf[at]! ^ (1 << int(rnd, 8));
        break;
      case 1:
        if (buf.length) buf[at] = pick(rnd, EDGE_BYTES);
        break;
      case 2:
        buf = Buffer.concat([buf.subarray(0, at), buf.subarray(Math.min(buf.length, at + 1 + int(rnd, 16)))]);
        break;
      case 3:
        buf = Buffer.concat([buf.subarray(0, at), pick(rnd, TOKENS), buf.subarray(at)]);
        break;
      case 4: {
        const len = 1 + int(rnd, 32);
        buf = Buffer.concat([buf.subarray(0, at), buf.subarray(at, at + len), buf.subarray(at)]);
        break;
      }
      case 5:
        buf = buf.subarray(0, at);
        break;
      case 6: {
        const junk = Buffer.alloc(1 + int(rnd, 64));
        for (let i = 0; i < junk.length; i++) junk[i] = int(rnd, 256);
        buf = Buffer.concat([buf.subarray(0, at), junk, buf.subarray(at)]);
        break;
      }
      // Numbers in the text (lengths, chunk sizes) pushed to edges.
      case 7: {
        const s = buf
          .toString('latin1')
          .replace(/\d+/, () => pick(rnd, ['0', '-1', '4294967296', '18446744073709551616', '00000000005', '1e3']));
        buf = Buffer.from(s, 'latin1');
        break;
      }
      // FastCGI header fields: content length, padding, request id, type.
      default:
        if (buf.length >= 8) {
          const h = int(rnd, Math.floor(buf.length / 8)) * 8;
          buf[h + int(rnd, 8)] = int(rnd, 256);
        }
        break;
    }
  }
  return buf;
}

/** Uniform random bytes, 1..512 long. */
export function randomBytes(rnd: Rand): Buffer {
  const out = Buffer.alloc(1 + int(rnd, 512));
  for (let i = 0; i < out.length; i++) out[i] = int(rnd, 256);
  return out;
}

/** The next case for `target`: a quarter pure random bytes, the rest mutated seeds. */
export function nextCase(rnd: Rand, target: 'http' | 'fastcgi'): Buffer {
  if (rnd() < 0.25) return randomBytes(rnd);
  return mutate(rnd, pick(rnd, target === 'http' ? HTTP_SEEDS : FCGI_SEEDS));
}

/** Splits `buf` into 1-4 writes at random points, so the parsers see partial input too. */
export function splitWrites(rnd: Rand, buf: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  let rest = buf;
  const n = int(rnd, 4);
  for (let i = 0; i < n && rest.length > 1; i++) {
    const at = 1 + int(rnd, rest.length - 1);
    parts.push(rest.subarray(0, at));
    rest = rest.subarray(at);
  }
  parts.push(rest);
  return parts;
}

// FastCGI 1.0 wire format, pure: record framing, name-value pairs and the few fixed bodies. No
// sockets here, so the parser can be fed truncated or hostile bytes straight from a test.
import { AlbanyError, ErrorCodes } from '../errors.js';

/** Record types from the FastCGI 1.0 specification. */
export const RecordType = {
  BEGIN_REQUEST: 1,
  ABORT_REQUEST: 2,
  END_REQUEST: 3,
  PARAMS: 4,
  STDIN: 5,
  STDOUT: 6,
  STDERR: 7,
  DATA: 8,
  GET_VALUES: 9,
  GET_VALUES_RESULT: 10,
  UNKNOWN_TYPE: 11,
} as const;

/** Roles a web server may ask for in BEGIN_REQUEST; albany is a responder only. */
export const Role = { RESPONDER: 1, AUTHORIZER: 2, FILTER: 3 } as const;

/** `protocolStatus` values of END_REQUEST. */
export const ProtocolStatus = { REQUEST_COMPLETE: 0, CANT_MPX_CONN: 1, OVERLOADED: 2, UNKNOWN_ROLE: 3 } as const;

/** BEGIN_REQUEST flag: keep the connection open after this request. */
export const FCGI_KEEP_CONN = 1;
/** The only protocol version there is. */
export const FCGI_VERSION = 1;
/** Size of every record header. */
export const HEADER_SIZE = 8;
/** Largest content a single record can carry (16-bit length). */
export const MAX_CONTENT = 0xffff;

/** One decoded record. `content` is a view into the bytes given to the parser (padding removed). */
export interface FastCGIRecord {
  type: number;
  requestId: number;
  content: Buffer;
}

/** A protocol violation; the connection that sent it cannot be trusted any further. */
export function protocolError(reason: string, details?: Record<string, unknown>): AlbanyError {
  return new AlbanyError(
    ErrorCodes.ERR_ALBANY_PROTOCOL,
    `FastCGI: ${reason}`,
    details === undefined ? undefined : { details },
  );
}

/**
 * Incremental record splitter: give it socket chunks in order, it yields whole records. Bytes that
 * cannot be the start of a record (wrong version) throw `ERR_ALBANY_PROTOCOL`; a record cut off
 * by the end of the stream is reported by {@link RecordParser.pendingBytes}.
 */
export class RecordParser {
  private rest: Buffer | undefined;

  /** Bytes held back because they do not yet make a whole record. */
  get pendingBytes(): number {
    return this.rest === undefined ? 0 : this.rest.length;
  }

  /** Appends `chunk` and returns every record now complete. */
  push(chunk: Buffer): FastCGIRecord[] {
    const buf = this.rest === undefined ? chunk : Buffer.concat([this.rest, chunk]);
    this.rest = undefined;
    const out: FastCGIRecord[] = [];
    let off = 0;
    while (buf.length - off >= HEADER_SIZE) {
      const version = buf[off]!;
      if (version !== FCGI_VERSION)
        throw protocolError(`unsupported record version ${version} (only 1 exists); not a FastCGI peer?`, { version });
      const contentLength = buf.readUInt16BE(off + 4);
      const total = HEADER_SIZE + contentLength + buf[off + 6]!;
      if (buf.length - off < total) break;
      out.push({
        type: buf[off + 1]!,
        requestId: buf.readUInt16BE(off + 2),
        content: buf.subarray(off + HEADER_SIZE, off + HEADER_SIZE + contentLength),
      });
      off += total;
    }
    if (off < buf.length) this.rest = off === 0 ? buf : buf.subarray(off);
    return out;
  }
}

/** Encodes one record header. Padding is left out: the spec only recommends it. */
export function encodeHeader(type: number, requestId: number, contentLength: number): Buffer {
  const h = Buffer.allocUnsafe(HEADER_SIZE);
  h[0] = FCGI_VERSION;
  h[1] = type;
  h.writeUInt16BE(requestId, 2);
  h.writeUInt16BE(contentLength, 4);
  h[6] = 0;
  h[7] = 0;
  return h;
}

/** Encodes a whole record (header + content ≤ 65535 bytes) as one buffer. */
export function encodeRecord(type: number, requestId: number, content: Uint8Array = EMPTY): Buffer {
  if (content.length > MAX_CONTENT)
    throw new AlbanyError(
      ErrorCodes.ERR_ALBANY_INVALID_ARGUMENT,
      `FastCGI record content is limited to ${MAX_CONTENT} bytes, got ${content.length}`,
    );
  const out = Buffer.allocUnsafe(HEADER_SIZE + content.length);
  encodeHeader(type, requestId, content.length).copy(out, 0);
  out.set(content, HEADER_SIZE);
  return out;
}

/**
 * Frames `data` as stream records of at most 65535 bytes each, as a list of buffers ready for a
 * vectored write (the payload is not copied).
 */
export function streamRecords(type: number, requestId: number, data: Uint8Array): Uint8Array[] {
  const parts: Uint8Array[] = [];
  for (let off = 0; off < data.length; off += MAX_CONTENT) {
    const piece = data.subarray(off, Math.min(data.length, off + MAX_CONTENT));
    parts.push(encodeHeader(type, requestId, piece.length), piece);
  }
  return parts;
}

const EMPTY = new Uint8Array(0);

/** The BEGIN_REQUEST body. */
export interface BeginRequest {
  role: number;
  keepConn: boolean;
}

/** Decodes a BEGIN_REQUEST body (exactly 8 bytes). */
export function parseBeginRequest(content: Buffer): BeginRequest {
  if (content.length !== 8) throw protocolError(`BEGIN_REQUEST body must be 8 bytes, got ${content.length}`);
  return { role: content.readUInt16BE(0), keepConn: (content[2]! & FCGI_KEEP_CONN) !== 0 };
}

/** Encodes an END_REQUEST record. */
export function encodeEndRequest(requestId: number, appStatus: number, protocolStatus: number): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt32BE(appStatus >>> 0, 0);
  body[4] = protocolStatus;
  return encodeRecord(RecordType.END_REQUEST, requestId, body);
}

/** Encodes the UNKNOWN_TYPE answer to a management record albany does not know. */
export function encodeUnknownType(type: number): Buffer {
  const body = Buffer.alloc(8);
  body[0] = type;
  return encodeRecord(RecordType.UNKNOWN_TYPE, 0, body);
}

function readLength(buf: Buffer, off: number): [length: number, next: number] {
  if (off >= buf.length) throw protocolError('name-value pair cut off in its length');
  const b = buf[off]!;
  if (b < 0x80) return [b, off + 1];
  if (off + 4 > buf.length) throw protocolError('name-value pair cut off in its 4-byte length');
  return [buf.readUInt32BE(off) & 0x7fffffff, off + 4];
}

/**
 * Decodes name-value pairs (PARAMS, GET_VALUES). Names and values are latin1, so any byte
 * survives. Duplicates are kept in order. Lengths that run past the end throw.
 */
export function parseNameValuePairs(buf: Buffer): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let off = 0;
  while (off < buf.length) {
    const [nameLength, afterName] = readLength(buf, off);
    const [valueLength, afterValue] = readLength(buf, afterName);
    const end = afterValue + nameLength + valueLength;
    if (end > buf.length)
      throw protocolError(
        `name-value pair claims ${nameLength}+${valueLength} bytes but only ${buf.length - afterValue} remain`,
      );
    out.push([
      buf.toString('latin1', afterValue, afterValue + nameLength),
      buf.toString('latin1', afterValue + nameLength, end),
    ]);
    off = end;
  }
  return out;
}

function encodeLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE((n | 0x80000000) >>> 0, 0);
  return b;
}

/** Encodes name-value pairs (latin1). */
export function encodeNameValuePairs(pairs: ReadonlyArray<readonly [string, string]>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of pairs) {
    const n = Buffer.from(name, 'latin1');
    const v = Buffer.from(value, 'latin1');
    parts.push(encodeLength(n.length), encodeLength(v.length), n, v);
  }
  return Buffer.concat(parts);
}

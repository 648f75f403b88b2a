// A minimal FastCGI web-server side for tests: speaks records over a raw socket so the responder can
// be driven exactly (multiplexed ids, aborts, hostile bytes) without nginx.
import net from 'node:net';
import {
  FCGI_KEEP_CONN,
  RecordParser,
  RecordType,
  encodeNameValuePairs,
  encodeRecord,
  type FastCGIRecord,
} from '../../src/server/fastcgi-records.js';

/** A parsed CGI response for one request id. */
export interface FcgiResponse {
  status: number;
  /** The CGI Status header's value as sent (`200 OK`, `299 Custom Thing`). */
  statusLine: string;
  headers: Array<[string, string]>;
  body: Buffer;
  appStatus: number;
  protocolStatus: number;
}

/** One test connection to a FastCGI server. */
export class FcgiClient {
  readonly records: FastCGIRecord[] = [];
  private readonly parser = new RecordParser();
  private waiters: Array<() => void> = [];
  /** Resolves when the server closes the connection. */
  readonly closed: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const r of this.parser.push(chunk)) this.records.push({ ...r, content: Buffer.from(r.content) });
      this.wake();
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.wake();
        resolve();
      }),
    );
  }

  static connect(target: { port: number } | { path: string }): Promise<FcgiClient> {
    return new Promise((resolve, reject) => {
      const socket = 'path' in target ? net.connect(target.path) : net.connect(target.port, '127.0.0.1');
      socket.once('connect', () => resolve(new FcgiClient(socket)));
      socket.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Waits until `predicate` holds over the records received, or the connection closes. */
  async until(predicate: () => boolean): Promise<boolean> {
    while (!predicate()) {
      if (this.socket.destroyed || this.socket.readableEnded) return predicate();
      await new Promise<void>((r) => this.waiters.push(r));
    }
    return true;
  }

  raw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  begin(id: number, keepConn = true, role = 1): void {
    const body = Buffer.alloc(8);
    body.writeUInt16BE(role, 0);
    body[2] = keepConn ? FCGI_KEEP_CONN : 0;
    this.raw(encodeRecord(RecordType.BEGIN_REQUEST, id, body));
  }

  params(id: number, pairs: Array<[string, string]>): void {
    const data = encodeNameValuePairs(pairs);
    for (let off = 0; off < data.length; off += 0xffff)
      this.raw(encodeRecord(RecordType.PARAMS, id, data.subarray(off, off + 0xffff)));
    this.raw(encodeRecord(RecordType.PARAMS, id));
  }

  stdin(id: number, data?: Uint8Array): boolean {
    return this.socket.write(encodeRecord(RecordType.STDIN, id, data));
  }

  abort(id: number): void {
    this.raw(encodeRecord(RecordType.ABORT_REQUEST, id));
  }

  /** BEGIN + PARAMS + STDIN (body, then the empty record). */
  request(id: number, params: Array<[string, string]>, body?: Uint8Array, keepConn = true): void {
    this.begin(id, keepConn);
    this.params(id, params);
    if (body?.length)
      for (let off = 0; off < body.length; off += 0xffff) this.stdin(id, body.subarray(off, off + 0xffff));
    this.stdin(id);
  }

  /** Collects STDOUT for `id` until its END_REQUEST and parses the CGI head. */
  async response(id: number): Promise<FcgiResponse> {
    const ended = await this.until(() =>
      this.records.some((r) => r.requestId === id && r.type === RecordType.END_REQUEST),
    );
    if (!ended) throw new Error(`connection closed before END_REQUEST for ${id}`);
    const stdout = Buffer.concat(
      this.records.filter((r) => r.requestId === id && r.type === RecordType.STDOUT).map((r) => r.content),
    );
    const end = this.records.find((r) => r.requestId === id && r.type === RecordType.END_REQUEST)!.content;
    const split = stdout.indexOf('\r\n\r\n');
    const headers: Array<[string, string]> = [];
    let status = 200;
    let statusLine = '';
    if (split !== -1) {
      for (const line of stdout.subarray(0, split).toString('latin1').split('\r\n')) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).toLowerCase();
        const value = line.slice(colon + 1).trim();
        if (name === 'status') {
          status = Number(value.split(' ')[0]);
          statusLine = line.slice(colon + 2);
        } else headers.push([name, value]);
      }
    }
    return {
      status,
      statusLine,
      headers,
      body: split === -1 ? stdout : stdout.subarray(split + 4),
      appStatus: end.readUInt32BE(0),
      protocolStatus: end[4]!,
    };
  }

  close(): void {
    this.socket.destroy();
  }
}

/** The CGI variables nginx's stock fastcgi_params would send for `method uri`. */
export function cgiParams(method: string, uri: string, extra: Array<[string, string]> = []): Array<[string, string]> {
  const q = uri.indexOf('?');
  return [
    ['REQUEST_METHOD', method],
    ['REQUEST_URI', uri],
    ['SCRIPT_NAME', q === -1 ? uri : uri.slice(0, q)],
    ['QUERY_STRING', q === -1 ? '' : uri.slice(q + 1)],
    ['SERVER_PROTOCOL', 'HTTP/1.1'],
    ['REMOTE_ADDR', '203.0.113.9'],
    ['REMOTE_PORT', '5555'],
    ['SERVER_NAME', 'example.test'],
    ['SERVER_PORT', '80'],
    ['HTTP_HOST', 'example.test'],
    ...extra,
  ];
}

// The access log: one line per finished request (client, method, path, status, bytes, duration,
// request id), as text or JSON lines. Lines are joined and written at most every FLUSH_MS or 4 KiB,
// so a busy server makes one write per batch rather than one syscall per request.
import { requestIdGenerator } from './request-id.js';
import type { Address } from '../gateway/types.js';

/** Access log line layout: `text` for people, `json` (one object per line) for log shippers. */
export type AccessLogFormat = 'text' | 'json';

/** One finished request, as the host hands it to the access log. */
export interface AccessRecord {
  client: Address;
  method: string;
  /** The request target as sent (path and query). */
  target: string;
  httpVersion: string;
  /** The status sent; 499 when the client left before a response started (nginx's convention). */
  status: number;
  /** Response body bytes written. */
  bytes: number;
  /** Milliseconds from the request head to the end of the response (or the client leaving). */
  durationMs: number;
  /** The request's `x-request-id`, or one generated for it. */
  requestId: string;
}

/** Where access lines go; `process.stdout` in the CLI. */
export interface LineSink {
  write(chunk: string): unknown;
}

// A batch is written before it would pass this size: a write to a pipe of at most PIPE_BUF (4 KiB
// on Linux) bytes is atomic, so the lines of several --workers sharing one stdout never interleave.
const FLUSH_AT = 4096;
// The longest a line waits to be written. A write per request (or per turn of the loop) would cost
// the hello world about a quarter more instructions; this bounds the delay a tail -f sees instead.
const FLUSH_MS = 50;

// The generator is shared with the request context (observe/request-id.ts); re-exported here.
export { requestIdGenerator } from './request-id.js';

function clientText(client: Address): string {
  if (client === null) return '-';
  return client[0].includes(':') ? `[${client[0]}]:${client[1]}` : `${client[0]}:${client[1]}`;
}

// JSON.stringify of a string, skipped for the common case of plain printable ASCII without quotes.
function jsonString(s: string): string {
  // eslint-disable-next-line no-control-regex
  return /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/.test(s) ? `"${s}"` : JSON.stringify(s);
}

// Text lines quote the request line; a quote or control byte in the target would break parsing.
function textSafe(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control bytes are exactly what it looks for
  return /[\x00-\x1f"\\\x7f]/.test(s) ? JSON.stringify(s).slice(1, -1) : s;
}

// The time text: toISOString costs more than the rest of a line's fields together, so the text up
// to the second is kept and only the milliseconds are written per line.
let secondStart = -1;
let secondText = '';
function isoNow(): string {
  const now = Date.now();
  const ms = now % 1000;
  if (now - ms !== secondStart) {
    secondStart = now - ms;
    secondText = new Date(secondStart).toISOString().slice(0, 20); // 'YYYY-MM-DDTHH:MM:SS.'
  }
  return `${secondText}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z`;
}

// Milliseconds with three decimals from whole microseconds: integer-to-string only, no dtoa.
function millis(durationMs: number): string {
  const us = Math.round(durationMs * 1000);
  const frac = us % 1000;
  return `${(us - frac) / 1000}.${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}`;
}

/** Formats one record as a line (with its newline). `time` defaults to now. */
export function formatAccessLine(record: AccessRecord, format: AccessLogFormat, time?: Date): string {
  const iso = time === undefined ? isoNow() : time.toISOString();
  const duration = millis(record.durationMs);
  if (format === 'json') {
    return (
      `{"time":"${iso}","client":${jsonString(clientText(record.client))},"method":${jsonString(record.method)},` +
      `"path":${jsonString(record.target)},` +
      `"httpVersion":"${record.httpVersion}","status":${record.status},"bytes":${record.bytes},` +
      `"durationMs":${duration},"requestId":${jsonString(record.requestId)}}\n`
    );
  }
  return (
    `${iso} ${clientText(record.client)} "${record.method} ${textSafe(record.target)} ` +
    `HTTP/${record.httpVersion}" ${record.status} ${record.bytes} ${duration}ms ${textSafe(record.requestId)}\n`
  );
}

/** The access log of one server: format, destination and the batch not yet written. */
export class AccessLog {
  private batch = '';
  private timer: NodeJS.Timeout | undefined;
  /** Generates ids for requests without `x-request-id`. */
  readonly nextId: () => string = requestIdGenerator();
  // Lines still batched when the process exits (process.exit after an uncaught exception) are
  // written by an exit listener: stdout to a file or pipe is written synchronously there.
  private readonly onExit = (): void => this.flush();

  constructor(
    private readonly format: AccessLogFormat,
    private readonly sink: LineSink,
  ) {
    process.on('exit', this.onExit);
  }

  /** Adds one request's line; it is written within FLUSH_MS, or at once when the batch is full. */
  write(record: AccessRecord): void {
    const line = formatAccessLine(record, this.format);
    if (this.batch.length + line.length > FLUSH_AT && this.batch !== '') this.flush();
    this.batch += line;
    if (this.timer === undefined) {
      this.timer = setTimeout(this.flush, FLUSH_MS);
      this.timer.unref();
    }
  }

  /** Writes whatever is batched now. */
  readonly flush = (): void => {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.batch === '') return;
    const text = this.batch;
    this.batch = '';
    this.sink.write(text);
  };

  /** Writes what is batched and stops watching for process exit (the server has stopped). */
  close(): void {
    this.flush();
    process.off('exit', this.onExit);
  }
}

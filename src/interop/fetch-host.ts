// A gateway App answering fetch Requests: the Request feeds an HttpCycle (the same state machine as
// every albany host) and the cycle's output becomes a streaming Response.
import { createReadStream, promises as fsp } from 'node:fs';
import { Readable } from 'node:stream';
import type { Headers as GatewayHeaders, HttpReceiveMessage } from '../gateway/types.js';
import { DISCONNECT, END_OF_BODY } from '../gateway/messages.js';
import type { RequestSource, ResponseSink } from '../server/cycle.js';
import { NativeResponse } from './light-response.js';
import { AlbanyError, ErrorCodes } from '../errors.js';

// Bytes the response stream queues before the app's send() waits for the consumer.
const HIGH_WATER_MARK = 64 * 1024;

/** Reads a Request's body stream only when the app calls receive(). */
export class FetchRequestSource implements RequestSource {
  private reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  private done: boolean;

  constructor(private readonly request: Request) {
    this.done = request.body === null;
  }

  async next(): Promise<HttpReceiveMessage> {
    if (this.done) return END_OF_BODY;
    if (this.request.signal.aborted) return DISCONNECT;
    this.reader ??= this.request.body!.getReader();
    try {
      const { done, value } = await this.reader.read();
      if (done) {
        this.done = true;
        return END_OF_BODY;
      }
      return { type: 'http.request', body: value, moreBody: true };
    } catch {
      return DISCONNECT;
    }
  }
}

function toHeadersInit(headers: GatewayHeaders): Headers {
  const out = new Headers();
  for (const [name, value] of headers) out.append(name, value);
  return out;
}

/** Why the Response (or its body stream) fails: the app broke off after its response had begun. */
function appFailed(): AlbanyError {
  return new AlbanyError(
    ErrorCodes.ERR_ALBANY_ABORTED,
    'the gateway app failed after starting its response; the response is cut short',
  );
}

/**
 * Turns the cycle's output into one Response: a single-chunk body becomes a plain Response; a
 * streamed body becomes a ReadableStream whose consumer paces the app's send().
 */
export class FetchResponseSink implements ResponseSink {
  private status = 200;
  private reason: string | undefined;
  private headers: GatewayHeaders = [];
  private controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  private wake: (() => void) | undefined;
  private answered = false;
  private resolve!: (res: Response) => void;
  private reject!: (error: unknown) => void;
  /** Settles with the Response as soon as its head and first body chunk are known. */
  readonly response: Promise<Response>;

  constructor(
    private readonly onConsumerGone: () => void,
    private readonly onDelivered: () => void,
  ) {
    this.response = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  start(status: number, headers: GatewayHeaders, _trailers: boolean, reason: string | undefined): void {
    // A fetch Response holds 200–599 only (its constructor throws a RangeError for anything else):
    // refused here, at the app's send(), with a message that says why, instead of at the first body.
    if (status < 200 || status > 599) {
      throw new AlbanyError(
        ErrorCodes.ERR_ALBANY_INVALID_MESSAGE,
        `http.response.start: status ${status} cannot be answered as a fetch Response (toFetch), which ` +
          `allows 200 to 599`,
      );
    }
    this.status = status;
    this.reason = reason;
    this.headers = headers;
  }

  private answer(body: ConstructorParameters<typeof Response>[0]): void {
    this.answered = true;
    const nullBody = this.status === 204 || this.status === 205 || this.status === 304;
    const headers = toHeadersInit(this.headers);
    const init: ResponseInit =
      this.reason === undefined
        ? { status: this.status, headers }
        : { status: this.status, statusText: this.reason, headers };
    this.resolve(new NativeResponse(nullBody ? null : body, init));
  }

  body(chunk: Uint8Array | undefined, more: boolean): void | Promise<void> {
    if (!this.answered) {
      if (!more) {
        this.answer(chunk !== undefined && chunk.length > 0 ? chunk : null);
        this.onDelivered();
        return;
      }
      this.answer(
        new ReadableStream<Uint8Array>(
          {
            start: (c) => {
              this.controller = c;
            },
            pull: () => {
              const w = this.wake;
              this.wake = undefined;
              w?.();
            },
            cancel: () => {
              const w = this.wake;
              this.wake = undefined;
              this.onConsumerGone();
              w?.();
            },
          },
          { highWaterMark: HIGH_WATER_MARK, size: (c) => c.byteLength },
        ),
      );
    }
    const c = this.controller!;
    try {
      if (chunk !== undefined && chunk.length > 0) c.enqueue(chunk);
      if (!more) {
        c.close();
        this.onDelivered();
        return;
      }
    } catch {
      // The consumer cancelled; the cycle already knows (onConsumerGone) and will refuse later sends.
      return;
    }
    if ((c.desiredSize ?? 1) > 0) return;
    return new Promise<void>((resolve) => (this.wake = resolve));
  }

  // A Response has no trailers; they are dropped, and the last trailers message ends the body.
  trailers(_headers: GatewayHeaders, more: boolean): void {
    if (more) return;
    if (!this.answered) this.answer(null);
    else this.controller?.close();
    this.onDelivered();
  }

  async sendFile(path: string): Promise<void> {
    let stat: Awaited<ReturnType<typeof fsp.stat>>;
    try {
      stat = await fsp.stat(path);
      if (!stat.isFile()) {
        throw new AlbanyError(
          ErrorCodes.ERR_ALBANY_INVALID_MESSAGE,
          `http.response.pathsend: ${path} is not a regular file (only a regular file can be sent as the body)`,
          { details: { path } },
        );
      }
    } catch (error) {
      // The cycle counts the response as done once pathsend is taken, so nothing else would answer
      // the Response: a 404, as albany's node:http host answers a missing file.
      this.fail(404, 'Not Found');
      throw error;
    }
    if (!this.headers.some(([n]) => n === 'content-length'))
      this.headers = [...this.headers, ['content-length', String(stat.size)]];
    const file = createReadStream(path);
    const ended = new Promise<void>((resolve, reject) => {
      file.once('end', resolve);
      file.once('error', reject);
      file.once('close', resolve);
    });
    this.answer(Readable.toWeb(file) as unknown as ReadableStream<Uint8Array>);
    await ended;
    this.onDelivered();
  }

  fail(status: number, text: string): void {
    if (this.answered) {
      this.abort();
      return;
    }
    this.answered = true;
    this.resolve(new NativeResponse(text, { status, headers: { 'content-type': 'text/plain; charset=utf-8' } }));
  }

  abort(): void {
    if (!this.answered) {
      this.answered = true;
      this.reject(appFailed());
      return;
    }
    try {
      this.controller?.error(appFailed());
    } catch {
      // already closed or errored
    }
  }
}

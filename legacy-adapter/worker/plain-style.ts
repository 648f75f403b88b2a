// The plain legacy style: `handle(request) → { status, headers, body }`, the simplest shape to write.
import type { LegacyRequest } from '../../src/pool/protocol.js';
import { albanyError } from '../../src/errors.js';
import { headersObject } from './environ.js';
import type { BodyInput } from './input.js';
import { normalizeHeaders, toBytes, type HeaderInput, type ResponseHead, type ResponseOutput } from './response.js';

/** What a plain handler receives. `body()` / `text()` / `json()` block until the body is read. */
export interface PlainRequest {
  method: string;
  /** Path relative to the mount point plus `?query`. */
  url: string;
  /** Decoded path. */
  path: string;
  /** Raw query string, without "?". */
  query: string;
  headers: Record<string, string | string[]>;
  /** The whole remaining body. */
  body(): Buffer;
  /** The body as UTF-8 text. */
  text(): string;
  /** The body parsed as JSON. */
  json(): unknown;
}

/** What a plain handler returns: all fields optional; a string or bytes alone means 200 with that body. */
export interface PlainResponse {
  status?: number;
  headers?: HeaderInput;
  /**
   * Text or bytes; chunks to stream (a generator or other iterable, or a non-empty array of only
   * strings and bytes); or any other value — an object, any other array, a number, a boolean — sent
   * as JSON.
   */
  body?: unknown;
}

/** A plain handler. */
export type PlainHandler = (request: PlainRequest) => unknown;

/** Builds the request object of the plain style. */
export function plainRequest(request: LegacyRequest, input: BodyInput): PlainRequest {
  return new PlainRequestImpl(request, input);
}

// Headers are joined into an object only when the handler looks at them.
class PlainRequestImpl implements PlainRequest {
  readonly method: string;
  readonly url: string;
  readonly path: string;
  readonly query: string;
  private joined: Record<string, string | string[]> | undefined;

  constructor(
    private readonly request: LegacyRequest,
    private readonly input: BodyInput,
  ) {
    this.method = request.method;
    this.url = request.url;
    this.path = request.path;
    this.query = request.queryString;
  }

  get headers(): Record<string, string | string[]> {
    return (this.joined ??= headersObject(this.request.headers));
  }

  body(): Buffer {
    return this.input.read();
  }

  text(): string {
    return this.input.read().toString('utf8');
  }

  json(): unknown {
    return JSON.parse(this.input.read().toString('utf8')) as unknown;
  }
}

/** Writes a plain handler's return value to `output` and returns the tail for the task result. */
export function writePlainResponse(
  value: unknown,
  output: ResponseOutput,
): { start: ResponseHead | undefined; body: Uint8Array } {
  if (typeof value === 'string' || value instanceof Uint8Array) {
    output.setHead({
      status: 200,
      headers: [['content-type', typeof value === 'string' ? 'text/plain; charset=utf-8' : 'application/octet-stream']],
    });
    return output.end(toBytes(value));
  }
  if (typeof value !== 'object' || value === null) {
    throw albanyError(
      'ERR_ALBANY_HANDLER',
      `a plain handler must return { status, headers, body }, got ${value === null ? 'null' : typeof value}`,
    );
  }
  const response = value as PlainResponse;
  const headers = normalizeHeaders(response.headers);
  const body = response.body;
  const hasType = headers.some(([name]) => name === 'content-type');
  if (isJsonBody(body)) {
    if (!hasType) headers.push(['content-type', 'application/json; charset=utf-8']);
    output.setHead({ status: response.status ?? 200, headers });
    return output.end(toBytes(JSON.stringify(body)));
  }
  if (typeof body === 'string' && !hasType) headers.push(['content-type', 'text/plain; charset=utf-8']);
  output.setHead({ status: response.status ?? 200, headers });
  if (body === undefined || body === null) return output.end();
  if (typeof body === 'string' || body instanceof Uint8Array) return output.end(toBytes(body));
  for (const chunk of body as Iterable<unknown>) output.write(toBytes(chunk));
  return output.end();
}

// JSON unless the body is text, bytes, nothing, or chunks: an array is chunks only when it holds
// nothing but strings and bytes (`[{ id: 1 }]`, `[]` and `[1, 2]` are JSON, as a handler means them).
function isJsonBody(body: unknown): boolean {
  if (body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array) return false;
  if (typeof body === 'number' || typeof body === 'boolean') return true;
  if (typeof body !== 'object') return false;
  if (Array.isArray(body))
    return body.length === 0 || !body.every((c) => typeof c === 'string' || c instanceof Uint8Array);
  return !(Symbol.iterator in body);
}

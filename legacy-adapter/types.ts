// The public types of the legacy handler styles, so a handler module can annotate its export:
// WSGI `(environ, startResponse)`, plain `handle(request)`, and Node `(req, res)`.
export type { PlainHandler, PlainRequest, PlainResponse } from './worker/plain-style.js';
export type { HeaderInput, StartResponse } from './worker/response.js';
export type { NodeHandler } from '../src/interop/node.js';
import type { StartResponse } from './worker/response.js';

/** `environ['wsgi.input']`: a blocking reader over the request body (reads block the worker, never the event loop). */
export interface WsgiInput extends Iterable<Buffer> {
  /** Up to `size` bytes (all that is left when absent or negative); empty at the end of the body. */
  read(size?: number): Buffer;
  /** One line including its "\n" (or the rest of the body), at most `size` bytes. */
  readline(size?: number): Buffer;
  /** Every remaining line. */
  readlines(): Buffer[];
}

/** `environ['wsgi.errors']`: text written here goes to the legacy mount's `log` on the main thread. */
export interface WsgiErrors {
  write(text: unknown): void;
  writelines(lines: Iterable<unknown>): void;
  flush(): void;
}

/**
 * The WSGI environ a legacy handler receives (PEP 3333 names; values are JS strings, not latin1
 * re-encodings). Every request header appears as `HTTP_<NAME>` (upper case, `-` → `_`), repeated
 * headers joined with ", " (`Cookie` with "; "); Content-Type and Content-Length have no prefix.
 */
export interface WsgiEnviron {
  /** Upper-case method. */
  REQUEST_METHOD: string;
  /**
   * Where the app is mounted (`scope.rootPath`: `--root-path`, mount() prefixes, FastCGI SCRIPT_NAME); "" at the top.
   */
  SCRIPT_NAME: string;
  /** The percent-decoded path below SCRIPT_NAME (`scope.path`). */
  PATH_INFO: string;
  /** The raw query string, without "?". */
  QUERY_STRING: string;
  /** The server's address, or the Host header's host when the address is unknown (Unix sockets). */
  SERVER_NAME: string;
  SERVER_PORT: string;
  /** "HTTP/1.1", "HTTP/1.0" or "HTTP/2". */
  SERVER_PROTOCOL: string;
  /** The client's address and port (after trusted proxy headers); absent when unknown. */
  REMOTE_ADDR?: string;
  REMOTE_PORT?: string;
  CONTENT_TYPE?: string;
  CONTENT_LENGTH?: string;
  /** "http" or "https". */
  'wsgi.url_scheme': string;
  'wsgi.input': WsgiInput;
  'wsgi.errors': WsgiErrors;
  /** [1, 0]. */
  'wsgi.version': readonly number[];
  /** true: the pool runs requests on several threads. */
  'wsgi.multithread': boolean;
  'wsgi.multiprocess': boolean;
  'wsgi.run_once': boolean;
  /** Request headers. */
  [header: `HTTP_${string}`]: string | undefined;
}

/** A WSGI-style handler: returns an iterable of chunks (strings are sent as UTF-8), or one string or byte array. */
export type WsgiApp = (
  environ: WsgiEnviron,
  startResponse: StartResponse,
) => Iterable<string | Uint8Array> | string | Uint8Array;

// The one place that types what crosses the thread boundary between the main thread and a legacy worker.
import type { MessagePort } from 'node:worker_threads';
import type { Headers } from '../gateway/types.js';

/** How a legacy handler is called: WSGI `(environ, startResponse)`, plain `(request)`, or Node `(req, res)`. */
export type HandlerStyle = 'wsgi' | 'plain' | 'node';

/**
 * Layout of the per-request SharedArrayBuffer. Int32 slot 0 is the wake-up counter the worker
 * sleeps on; slot 1 is the task state (so the main thread can tell queued from running without a
 * message); the Float64 at byte 8 is when the worker started (epoch ms), for wait time and timeouts.
 */
export const SHARED_BYTES = 16;
/** Int32 index of the task state in the shared buffer. */
export const STATE_INDEX = 1;
/** Float64 index of the start time (epoch ms) in the shared buffer. */
export const STARTED_AT_INDEX = 1;
/** Values of the task state slot. */
export const TaskState = { queued: 0, running: 1, finished: 2 } as const;

/** What the worker needs to know about the request; built on the main thread from the scope. */
export interface LegacyRequest {
  /** Upper-case method. */
  method: string;
  /** Path relative to the mount point plus `?query`, as a Node `req.url`. */
  url: string;
  /** Header list as the gateway carries it (lower-case names, duplicates kept). */
  headers: Headers;
  /** The CGI / WSGI string keys (REQUEST_METHOD, PATH_INFO, HTTP_*, wsgi.url_scheme, …). */
  environ: Record<string, string>;
}

/** The task handed to piscina for one request. */
export interface LegacyTask {
  /** `file:` URL of the handler module. */
  moduleUrl: string;
  /** Export to call; chosen by style or detection when absent. */
  exportName: string | undefined;
  /** Forced handler style; detected from the module when absent. */
  style: HandlerStyle | undefined;
  request: LegacyRequest;
  /** The first request-body chunk (often the whole body). */
  body: Uint8Array;
  /** True when more body chunks follow (the worker pulls them). */
  more: boolean;
  /** The worker's end of this request's MessageChannel. */
  port: MessagePort;
  /** {@link SHARED_BYTES} bytes: wake counter, task state, start time. */
  shared: SharedArrayBuffer;
  /** The worker waits for an ack after this many response bytes, so it cannot race ahead of the client. */
  ackBytes: number;
  /** … or after this many response messages, whichever comes first. */
  ackMessages: number;
}

/** A plain-data copy of an Error, rebuilt on the main thread for the log. */
export interface SerializedError {
  name: string;
  message: string;
  stack: string | undefined;
  code: string | undefined;
}

// --- worker → main (on the request's port) ----------------------------------

/** Status and headers; the worker sends it just before the first body byte. */
export interface StartMessage { type: 'legacy.start'; status: number; headers: Headers }
/** A response-body chunk. `ack: true` means the worker now waits for a {@link AckMessage}. */
export interface BodyMessage { type: 'legacy.body'; chunk: Uint8Array; more: boolean; ack: boolean }
/** The worker needs the next request-body chunk (answered by {@link RequestBodyMessage} or disconnect). */
export interface PullMessage { type: 'legacy.pull' }
/** Text the handler wrote to `wsgi.errors`; written to the main log. */
export interface LogMessage { type: 'legacy.log'; text: string }
/** A handler failure, with its stack, to be logged on the main thread. */
export interface ErrorMessage { type: 'legacy.error'; error: SerializedError }

/** Anything the legacy worker posts on a request port (service calls from runSync come on top). */
export type WorkerMessage = StartMessage | BodyMessage | PullMessage | LogMessage | ErrorMessage;

// --- main → worker (on the request's port, always with a wake) -------------------

/** The next request-body chunk, in answer to a {@link PullMessage}. */
export interface RequestBodyMessage { type: 'legacy.body'; chunk: Uint8Array; more: boolean }
/** The client went away: stop producing output. */
export interface DisconnectMessage { type: 'legacy.disconnect' }
/** The main thread has handed the acked chunk to the server; the worker may go on. */
export interface AckMessage { type: 'legacy.ack' }

/** Anything the main thread posts on a request port (service results from runSync come on top). */
export type MainMessage = RequestBodyMessage | DisconnectMessage | AckMessage;

// --- the task's return value ----------------------------------------------------------

/**
 * What the task resolves with. It carries the tail of the response so that a handler answering in
 * one piece costs one hop and no port message: the main thread first drains the port, then applies
 * `start` (if not sent yet) and `body` as the final chunk.
 */
export interface TaskResult {
  /** Status and headers when they were not posted on the port yet. */
  start: { status: number; headers: Headers } | undefined;
  /** The last body chunk (the response ends with it). Absent when the handler failed. */
  body: Uint8Array | undefined;
  /** The handler (or loading it) failed; the main thread logs it and answers 500 or aborts. */
  error: SerializedError | undefined;
  /** True when loading the module or picking its export failed (not the handler itself). */
  loadError: boolean;
  /** The worker stopped because the client went away. */
  aborted: boolean;
  /** When the worker picked the task up (epoch ms). */
  startedAt: number;
}

/** True when `msg` is one of the legacy protocol messages (as opposed to a runSync service call). */
export function isLegacyMessage(msg: unknown): msg is WorkerMessage {
  return typeof msg === 'object' && msg !== null && typeof (msg as { type?: unknown }).type === 'string'
    && (msg as { type: string }).type.startsWith('legacy.');
}

/** Copies an error into plain data that survives structured clone with its stack and code. */
export function serializeError(err: unknown): SerializedError {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { name: err.name, message: err.message, stack: err.stack, code: typeof code === 'string' ? code : undefined };
  }
  return { name: 'Error', message: String(err), stack: undefined, code: undefined };
}

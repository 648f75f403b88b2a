// Every error albany throws: one class, one stable `code` per fault, listed here and nowhere else.

/** The codes albany uses, with what each means. Stable across releases. */
export const ErrorCodes = {
  /** An app sent a message that breaks the gateway protocol (order, type, status, header bytes). */
  ERR_ALBANY_INVALID_MESSAGE: 'ERR_ALBANY_INVALID_MESSAGE',
  /** `send()` was called after the client went away. */
  ERR_ALBANY_CLIENT_DISCONNECTED: 'ERR_ALBANY_CLIENT_DISCONNECTED',
  /** A configuration value (server options, pool config, CLI flag) is not allowed. */
  ERR_ALBANY_INVALID_CONFIG: 'ERR_ALBANY_INVALID_CONFIG',
  /** A CLI invocation could not be understood. */
  ERR_ALBANY_USAGE: 'ERR_ALBANY_USAGE',
  /** An app module or its export could not be loaded. */
  ERR_ALBANY_APP_LOAD: 'ERR_ALBANY_APP_LOAD',
  /** The lifespan protocol failed (startup or shutdown reported failure, or the app broke it). */
  ERR_ALBANY_LIFESPAN: 'ERR_ALBANY_LIFESPAN',
  /** A wait ran past its timeout (runSync, pool task, graceful close). */
  ERR_ALBANY_TIMEOUT: 'ERR_ALBANY_TIMEOUT',
  /** A blocking call could never finish because the thread that would answer it is the one waiting. */
  ERR_ALBANY_DEADLOCK: 'ERR_ALBANY_DEADLOCK',
  /** The reactor thread died while a call was in flight. */
  ERR_ALBANY_REACTOR_CRASHED: 'ERR_ALBANY_REACTOR_CRASHED',
  /** A value could not be structured-cloned across threads. */
  ERR_ALBANY_DATA_CLONE: 'ERR_ALBANY_DATA_CLONE',
  /** A provided service name is unknown, or a runSync target is unusable. */
  ERR_ALBANY_UNKNOWN_SERVICE: 'ERR_ALBANY_UNKNOWN_SERVICE',
  /** The legacy pool's queue is full. */
  ERR_ALBANY_QUEUE_FULL: 'ERR_ALBANY_QUEUE_FULL',
  /** A legacy worker thread crashed (exit, uncaught error, out of memory). */
  ERR_ALBANY_WORKER_CRASHED: 'ERR_ALBANY_WORKER_CRASHED',
  /** A legacy handler threw or broke the WSGI / response rules. */
  ERR_ALBANY_HANDLER: 'ERR_ALBANY_HANDLER',
  /** An operation was aborted (client disconnect, cancel). */
  ERR_ALBANY_ABORTED: 'ERR_ALBANY_ABORTED',
  /** A FastCGI / SCGI peer sent bytes that do not follow the protocol. */
  ERR_ALBANY_PROTOCOL: 'ERR_ALBANY_PROTOCOL',
  /** A request body was larger than the configured limit. */
  ERR_ALBANY_BODY_TOO_LARGE: 'ERR_ALBANY_BODY_TOO_LARGE',
  /**
   * A pool call would never start: every thread of the pool waits in runSync on main-thread work
   * that itself waits on that pool. The newest call fails at once instead of timing out.
   */
  ERR_ALBANY_STARVATION: 'ERR_ALBANY_STARVATION',
  /** The interop layer could not tell what kind of handler it was given. */
  ERR_ALBANY_INTERFACE: 'ERR_ALBANY_INTERFACE',
  /** This Node.js lacks an internal albany depends on (e.g. a node:http symbol the interop objects need). */
  ERR_ALBANY_UNSUPPORTED_RUNTIME: 'ERR_ALBANY_UNSUPPORTED_RUNTIME',
  /** The first workers of a cluster failed to start (a port in use, an app that fails to load): nothing to respawn. */
  ERR_ALBANY_WORKER_START: 'ERR_ALBANY_WORKER_START',
  /** A function was called with an argument outside what it accepts (a programming error, not a config value). */
  ERR_ALBANY_INVALID_ARGUMENT: 'ERR_ALBANY_INVALID_ARGUMENT',
  /** `albany config --suggest`: the metrics endpoint did not answer, or holds no albany pool figures. */
  ERR_ALBANY_METRICS_UNAVAILABLE: 'ERR_ALBANY_METRICS_UNAVAILABLE',
} as const;

/** One of the {@link ErrorCodes}. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

// A registered symbol, so that two copies of albany in one process still recognise each other's errors.
const kAlbanyError = Symbol.for('albany.error');

/**
 * The base of every error albany throws. `code` is one of {@link ErrorCodes}; `details` carries
 * machine-readable context (the offending key, the message type, …).
 */
export class AlbanyError extends Error {
  /** Stable identifier of the fault, like Node's `ERR_*` codes. */
  readonly code: ErrorCode;
  /** Extra context for programs; never contains request bodies. */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AlbanyError';
    this.code = code;
    this.details = options?.details;
    Object.defineProperty(this, kAlbanyError, { value: true });
  }

  /** True for any albany error, even one from another copy of the package. */
  static is(value: unknown): value is AlbanyError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kAlbanyError] === true;
  }
}

/** Builds an {@link AlbanyError} with `code`; a short alias used across the code base. */
export function albanyError(
  code: ErrorCode,
  message: string,
  options?: { cause?: unknown; details?: Record<string, unknown> },
): AlbanyError {
  return new AlbanyError(code, message, options);
}

/** True when `err` is an albany error with the given code. */
export function hasCode(err: unknown, code: ErrorCode): boolean {
  return AlbanyError.is(err) && err.code === code;
}

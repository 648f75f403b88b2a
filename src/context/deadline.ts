// The deadline rule runSync and offload() follow: a call made while serving a request, without a
// timeout of its own, waits no longer than the request's remaining time. Kept apart from
// context.ts so pool threads and the reactor load only this and the context state.
import { AlbanyError, ErrorCodes } from '../errors.js';
import { contextState } from './state.js';

/**
 * Milliseconds left before the current request's deadline (negative once past); undefined outside
 * a request or without a deadline. Two loads while context is off.
 */
export function deadlineLeft(): number | undefined {
  const s = contextState;
  const ctx = s.current ?? s.storage?.getStore();
  return ctx === undefined ? undefined : ctx.remainingMs();
}

/**
 * Runs a wait of `what` (that got no timeout of its own) within the request's remaining time
 * `left` (from {@link deadlineLeft}): `call(ms)` gets the smaller of `left` and `fallbackMs`, and
 * a timeout it throws is reported as the deadline's.
 */
export function withinDeadline<T>(what: string, left: number, fallbackMs: number, call: (timeoutMs: number) => T): T {
  if (left >= fallbackMs) return call(fallbackMs);
  if (left <= 0) throw deadlinePassed(what, left);
  try {
    return call(left);
  } catch (error) {
    if (AlbanyError.is(error) && error.code === ErrorCodes.ERR_ALBANY_TIMEOUT) throw deadlineHit(what, left, error);
    throw error;
  }
}

/** `ERR_ALBANY_TIMEOUT` for a call made after the request's deadline had passed. */
export function deadlinePassed(what: string, left: number): AlbanyError {
  return new AlbanyError(
    ErrorCodes.ERR_ALBANY_TIMEOUT,
    `${what} was not started: the request's deadline passed ${Math.round(-left)} ms ago ` +
      '(give the call its own timeoutMs to wait anyway)',
    {
      details: { deadline: true, remainingMs: Math.round(left) },
    },
  );
}

/** `ERR_ALBANY_TIMEOUT` for a call cut at the request's deadline. */
export function deadlineHit(what: string, left: number, cause?: unknown): AlbanyError {
  return new AlbanyError(
    ErrorCodes.ERR_ALBANY_TIMEOUT,
    `${what} did not finish within the request's remaining time (${Math.round(left)} ms before its deadline; ` +
      'give the call its own timeoutMs to wait longer)',
    {
      cause,
      details: { deadline: true, remainingMs: Math.round(left) },
    },
  );
}

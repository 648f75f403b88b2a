// Request ids, one rule for every part of albany that names a request (the access log, the request
// context): the client's x-request-id when it is a sane one, else a cheap generated id.
import { randomBytes } from 'node:crypto';

/** The longest x-request-id taken from a client; a longer one is replaced by a generated id. */
export const MAX_REQUEST_ID_LENGTH = 200;

/**
 * True for an x-request-id worth keeping: 1 to {@link MAX_REQUEST_ID_LENGTH} visible ASCII
 * characters (no spaces or control bytes), so it can go into log lines and other headers as is.
 */
export function isValidRequestId(value: string | undefined): value is string {
  // eslint-disable-next-line no-control-regex
  return (
    value !== undefined && value.length > 0 && value.length <= MAX_REQUEST_ID_LENGTH && /^[\x21-\x7e]+$/.test(value)
  );
}

/**
 * Request ids generated for requests that came without `x-request-id`: a random per-process
 * prefix and a counter, unique across processes of a service and cheap (no randomness per request).
 */
export function requestIdGenerator(): () => string {
  const prefix = randomBytes(6).toString('hex');
  let n = 0;
  return () => `${prefix}-${(++n).toString(36)}`;
}

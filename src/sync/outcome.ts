// What a call to the reactor ends with, and how blocking code gets its value or error out of it:
// shared by ReactorLink (reactor.ts), EventualResult and runSync, which import it from here so that
// none of them imports another for it.
import type { AlbanyError } from '../errors.js';
import { rebuildForCaller } from '../errors-wire.js';
import type { ResultMessage } from './protocol.js';

/** How a call ended, as the reactor reported it (or as this side decided: crash, timeout). */
export type Outcome = ResultMessage | { readonly type: 'failed'; readonly error: AlbanyError };

/** Turns a settled call into its value, or throws the error the caller should see. */
export function unwrap(outcome: Outcome, callerStack: () => string | undefined): unknown {
  if (outcome.type === 'failed') throw outcome.error;
  if (outcome.ok) return outcome.value;
  throw rebuildForCaller(outcome.error, callerStack(), 'in the reactor thread');
}

/** The frames above `boundary`: where the user called in, without albany's own frames. */
// biome-ignore lint/complexity/noBannedTypes: the parameter type of Error.captureStackTrace.
export function callerStack(boundary: Function): string | undefined {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, boundary);
  return holder.stack;
}

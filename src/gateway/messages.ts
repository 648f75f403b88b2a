// Shared gateway message constants: one frozen object each, handed out by every host and adapter
// (so a server file is never imported just for them).
import type { HttpReceiveMessage } from './types.js';

/**
 * The already-settled promise albany's `send()` returns when the transport did not ask the app to
 * wait. Adapters that send several messages in a row (fromFetch) compare against it to go on in
 * the same tick instead of spending a microtask per message; any other promise is awaited.
 */
export const SENT: Promise<void> = Promise.resolve();
/** The shared `http.disconnect` message every request source hands out (frozen: one object for all). */
export const DISCONNECT: HttpReceiveMessage = Object.freeze({ type: 'http.disconnect' }) as HttpReceiveMessage;
/** The shared last, empty `http.request` chunk: the whole body of a request without one. */
export const END_OF_BODY: HttpReceiveMessage = Object.freeze({
  type: 'http.request',
  body: new Uint8Array(0),
  moreBody: false,
}) as HttpReceiveMessage;

// The one message between `albany serve --legacy`'s start-up check and its worker thread.
import type { ErrorInfo } from './load-failure.js';
import type { HandlerStyle } from './pool/protocol.js';

/** What the check worker is asked to load (its `workerData`). */
export interface LegacyCheckRequest {
  moduleUrl: string;
  exportName: string | undefined;
  style: HandlerStyle | undefined;
}

/** An error as it crossed the thread boundary: enough to name the file, line and problem. */
export type CheckError = ErrorInfo;

/**
 * The worker's answer: the handler loaded (with the style it will run in, and the app's own listen() call when that is
 * the handler), or why it did not.
 */
export type LegacyCheckResult = { ok: true; style: HandlerStyle; listen?: string } | { ok: false; error: CheckError };

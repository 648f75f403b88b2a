// The public face of the request context: context() to read it, enableContext() to turn it on,
// and the deadline rule runSync and offload() follow.
import { AsyncLocalStorage } from 'node:async_hooks';
import { isMainThread } from 'node:worker_threads';
import { AlbanyError, ErrorCodes } from '../errors.js';
import { SERVER_DEFAULTS } from '../server/options.js';
import { dropOtel, loadOtel } from './otel.js';
import { serviceInTask, taskDispatched } from './pool-tasks.js';
import type { RequestContext } from './request-context.js';
import { makeEnter } from './request.js';
import { contextState } from './state.js';

/** Options of {@link enableContext}. */
export interface ContextOptions {
  /**
   * The request's time budget in milliseconds, from the moment its head arrived: the deadline
   * runSync and offload() calls inherit. Default: the `requestTimeoutMs` of the server that took the
   * request (`serve()`'s option or the CLI's `--request-timeout`; 300 000 unless set). `0` sets no deadline.
   */
  timeoutMs?: number;
  /**
   * Spans through `@opentelemetry/api` when the application has it installed (default true):
   * the server request, each pool task's queue wait and run, and each runSync service call.
   */
  tracing?: boolean;
}

/**
 * Turns the request context on for this process: every request that starts from now on gets one
 * (see {@link context}). Costs an AsyncLocalStorage per request, so it is off until asked for.
 * Resolves once `@opentelemetry/api` was looked for (spans start with the first request after).
 * Calling it again changes the options.
 * @example await enableContext({ timeoutMs: 10_000 })
 */
export function enableContext(options: ContextOptions = {}): Promise<void> {
  const timeoutMs = options.timeoutMs;
  if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 0)) {
    throw new AlbanyError(
      ErrorCodes.ERR_ALBANY_INVALID_CONFIG,
      'enableContext(): options.timeoutMs must be a number of milliseconds >= 0 (0: no deadline), ' +
        `got ${String(timeoutMs)}`,
    );
  }
  if (options.tracing !== undefined && typeof options.tracing !== 'boolean') {
    throw new AlbanyError(
      ErrorCodes.ERR_ALBANY_INVALID_CONFIG,
      `enableContext(): options.tracing must be true or false, got ${String(options.tracing)}`,
    );
  }
  autoEnable = true;
  const storage = (contextState.storage ??= new AsyncLocalStorage<RequestContext>());
  contextState.enter = makeEnter(storage, {
    timeoutMs,
    fallbackMs: configured.timeoutMs ?? SERVER_DEFAULTS.requestTimeoutMs,
  });
  contextState.dispatched = taskDispatched;
  contextState.service = serviceInTask;
  if (options.tracing === false) {
    dropOtel();
    return Promise.resolve();
  }
  return loadOtel().then(() => undefined);
}

/** Turns the request context off again (requests that started keep theirs). */
export function disableContext(): void {
  autoEnable = false;
  contextState.enter = undefined;
  contextState.dispatched = undefined;
  contextState.service = undefined;
}

// The CLI's request timeout, for enableContext calls that give none.
const configured: { timeoutMs: number | undefined } = { timeoutMs: undefined };

/**
 * @internal The CLI's `--request-timeout`: the deadline of requests whose host keeps no books of its
 * own (FastCGI, interop mounts). The node:http host gives each request its own server's timeout.
 */
export function setContextTimeout(timeoutMs: number | undefined): void {
  configured.timeoutMs = timeoutMs;
}

/**
 * The context of the request being served: in an async route (across awaits), in a legacy handler
 * or offload() export on a pool thread, in a provide()d service a legacy handler calls with
 * runSync, and in an async export runSync / syncify / runInReactor run in the reactor thread (a
 * copy, as on a pool thread). Undefined outside a request.
 *
 * Context is off until {@link enableContext} is called; the first context() call on the main
 * thread turns it on too, for the requests that start after it (call enableContext() at startup
 * so the first requests have one as well).
 */
export function context(): RequestContext | undefined {
  const s = contextState;
  if (s.current !== undefined) return s.current;
  if (s.enter === undefined && autoEnable && isMainThread) void enableContext().catch(() => {});
  return s.storage?.getStore();
}

// Cleared by disableContext, so a context() call after it does not turn context back on.
let autoEnable = true;

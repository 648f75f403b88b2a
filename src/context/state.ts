// The request context's per-thread state and the hooks the rest of albany calls. Everything is
// undefined until context is turned on (enableContext, or the first context() call), so each hook
// site costs one load and one compare per request while nobody uses it.
import type { AsyncLocalStorage } from 'node:async_hooks';
import type { App, HttpScope, Receive, Send, WebSocketScope } from '../gateway/types.js';
import type { RequestContext } from './request-context.js';

/**
 * What a host knows of a request beyond its scope (server/hosted-sink.ts keeps these books). The
 * context reads them, and writes back the id it settled on so the access log names the request by it.
 */
export interface RequestBooks {
  /** The `x-request-id` the client sent (not yet checked), until the context sets the id it goes by. */
  requestId: string | undefined;
  /** `performance.now()` when the request head arrived; 0 when the host does not time requests. */
  readonly startedAt: number;
  /** The host's request timeout in ms (0: none), the request's deadline unless enableContext set one. */
  readonly requestTimeoutMs: number;
}

/**
 * The cycle hook: runs `app` for one request (or WebSocket connection) inside a new context (see
 * context/request.ts). Hosts without books (FastCGI, interop mounts, WebSockets) pass undefined: the
 * context then reads the headers itself.
 */
export type EnterRequest = (
  app: App,
  scope: HttpScope | WebSocketScope,
  receive: Receive,
  send: Send,
  books: RequestBooks | undefined,
) => unknown;

/** A task as the pool hook sees it (pool/ticket.ts's Ticket, kept structural to keep imports one way). */
export interface DispatchedTask {
  readonly task: { context?: unknown; call?: { exportName: string } };
  readonly result: Promise<{ startedAt: number; error?: unknown }>;
  readonly queuedAt: number;
}

/** The service hook: runs a worker's runSync service call on the main loop in its request's context. */
export type EnterService = <T>(key: number, name: string, call: () => Promise<T>) => Promise<T>;

/** What each thread keeps (one object, on globalThis so every copy of albany loaded in a thread shares it). */
export interface ContextState {
  /** Main thread: the request contexts of async code, once context is on. */
  storage: AsyncLocalStorage<RequestContext> | undefined;
  /** Pool thread: the context of the task running now (tasks run one at a time on a thread). */
  current: RequestContext | undefined;
  /** Set by enableContext: server/cycle.ts runs each request through it. */
  enter: EnterRequest | undefined;
  /** Set by enableContext: pool dispatch hands each task to it (to attach the context). */
  dispatched: ((ticket: DispatchedTask, pool: { name?: string }) => void) | undefined;
  /** Set by enableContext: sync/service-host.ts runs service calls that name a task through it. */
  service: EnterService | undefined;
}

/** This thread's context state. */
export const contextState = ((globalThis as Record<symbol, unknown>)[Symbol.for('albany.context.state')] ??= {
  storage: undefined,
  current: undefined,
  enter: undefined,
  dispatched: undefined,
  service: undefined,
} satisfies ContextState) as ContextState;

/** The context of the code running now on this thread, without turning context on. */
export function currentContext(): RequestContext | undefined {
  const s = contextState;
  return s.current ?? s.storage?.getStore();
}

// One request's context: its id, its place in a trace, its deadline and the values the app set. The
// same class serves the main thread (in AsyncLocalStorage) and a pool thread (rebuilt from the task).
import { albanyError } from '../errors.js';
import { now } from '../clock.js';
import { formatTraceParent, newSpanId, newTraceId, type TraceParent } from './trace-parent.js';

/** What travels with a pool task so the worker can rebuild the request's context (structured-cloned). */
export interface WireContext {
  readonly requestId: string;
  readonly traceparent: string;
  /** The client's `tracestate`, passed on beside traceparent. */
  readonly tracestate: string | undefined;
  /** Epoch ms (both threads' clock, see pool/protocol.ts `now`), or undefined for none. */
  readonly deadline: number | undefined;
  /** The values set before the hand-off (a copy: later sets on either side stay on their side). */
  readonly values: Record<string, unknown> | undefined;
  /** Names the task on the main thread: runSync service calls carry it back there. */
  readonly key: number;
}

/**
 * The request being served, as {@link context} returns it: in an async route, in a legacy handler
 * or `offload()` export on a pool thread, and in a `provide()`d service a legacy handler calls with
 * `runSync` (which runs back on the main loop in this same object).
 */
export class RequestContext {
  /** The client's `x-request-id` when it sent a valid one, else a generated id. */
  readonly requestId: string;
  /** When the request's time is up (epoch ms, `performance.timeOrigin + performance.now()`), or undefined. */
  readonly deadline: number | undefined;
  /** @internal Names a pool task on the main thread (0: not a pool task's copy). */
  readonly taskKey: number;
  #values: Record<string, unknown> | undefined;
  // Made on first read when albany names the span itself (no OpenTelemetry span): most requests
  // never ask, and random ids cost more than the rest of the context.
  #traceparent: string | undefined;
  #parent: TraceParent | undefined;
  #tracestate: string | undefined;

  /**
   * @internal Built by albany per request, or from a task's {@link WireContext}. A `traceparent`
   * of undefined is made on first read: a new span id in `parent`'s trace (or in a new trace).
   */
  constructor(
    requestId: string,
    traceparent: string | undefined,
    deadline: number | undefined,
    values?: Record<string, unknown>,
    taskKey = 0,
    parent?: TraceParent,
    tracestate?: string,
  ) {
    this.requestId = requestId;
    this.deadline = deadline;
    this.taskKey = taskKey;
    this.#values = values;
    this.#traceparent = traceparent;
    this.#parent = parent;
    this.#tracestate = tracestate;
  }

  /**
   * W3C `traceparent` naming this request's span: the client's trace (or a new one) with a span id
   * of albany's (the OpenTelemetry server span's when tracing is on). Send it on outgoing calls.
   */
  get traceparent(): string {
    if (this.#traceparent !== undefined) return this.#traceparent;
    const parent = this.#parent;
    this.#traceparent = formatTraceParent(parent?.traceId ?? newTraceId(), newSpanId(), parent?.flags ?? 0);
    return this.#traceparent;
  }

  /**
   * The W3C `tracestate` the client sent beside a valid traceparent (well-formed members only), or
   * undefined. Send it with {@link traceparent} on outgoing calls: vendors keep their own state there.
   */
  get tracestate(): string | undefined {
    return this.#tracestate;
  }

  /** The trace id (32 hex digits) out of {@link traceparent}. */
  get traceId(): string {
    return this.traceparent.slice(3, 35);
  }

  /** Milliseconds left before {@link deadline} (negative once past), or undefined when there is none. */
  remainingMs(): number | undefined {
    return this.deadline === undefined ? undefined : this.deadline - now();
  }

  /** A value the app set with {@link set} (here, or before the request went to a pool thread). */
  get<T = unknown>(key: string): T | undefined {
    return this.#values?.[key] as T | undefined;
  }

  /**
   * Sets a value for the rest of this request. Values set before a pool hand-off travel with it (if
   * they can be structured-cloned); a value set on a pool thread stays on that thread.
   */
  set(key: string, value: unknown): this {
    if (typeof key !== 'string')
      throw albanyError('ERR_ALBANY_USAGE', `context().set(key, value): key must be a string, got ${typeof key}`);
    (this.#values ??= Object.create(null) as Record<string, unknown>)[key] = value;
    return this;
  }

  /** Every value set so far (a shallow copy). */
  values(): Record<string, unknown> {
    return { ...this.#values };
  }

  /** @internal The copy of this context a pool task carries. */
  toWire(key: number): WireContext {
    return {
      requestId: this.requestId,
      traceparent: this.traceparent,
      tracestate: this.#tracestate,
      deadline: this.deadline,
      values: cloneableValues(this.#values),
      key,
    };
  }

  /** @internal Rebuilds a task's context on a pool thread. */
  static fromWire(wire: WireContext): RequestContext {
    return new RequestContext(
      wire.requestId,
      wire.traceparent,
      wire.deadline,
      wire.values,
      wire.key,
      undefined,
      wire.tracestate,
    );
  }
}

// A value that cannot cross threads (a function, a socket) must not fail the hand-off of the whole
// batch it travels in: it is left behind, the rest goes.
function cloneableValues(values: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (values === undefined) return undefined;
  try {
    return structuredClone(values);
  } catch {
    const kept: Record<string, unknown> = {};
    for (const key of Object.keys(values)) {
      try {
        kept[key] = structuredClone(values[key]);
      } catch {
        // left on this thread
      }
    }
    return kept;
  }
}

// The request context across a pool hop, main-thread side: each task dispatched while serving a
// request carries a copy of the context, and its runSync service calls come back here and run in
// the original. With OpenTelemetry, the hop shows as two spans, the queue wait and the worker's run
// (timed by the worker's own start stamp), and each service call as a child of the run.
import { now } from '../clock.js';
import { startedAtIndex, type LegacyTask } from '../pool/protocol.js';
import { endSpan, otel, spanIsReal, type Otel, type OtelSpan } from './otel.js';
import type { RequestContext } from './request-context.js';
import { otelContexts } from './request.js';
import { contextState, type DispatchedTask } from './state.js';
import { formatTraceParent } from './trace-parent.js';

/** The parts of a pool ticket read here (pool/ticket.ts; `batch` and `index` are set once it left). */
interface TicketView extends DispatchedTask {
  readonly task: LegacyTask;
  readonly batch?: { tickets: unknown[]; times: Float64Array };
  readonly index: number;
}

/** One task out on a pool thread for a request. */
interface LiveTask {
  readonly ctx: RequestContext;
  readonly ticket: TicketView;
  readonly otel: Otel | undefined;
  queue: OtelSpan | undefined;
  run: OtelSpan | undefined;
}

const live = new Map<number, LiveTask>();
let nextKey = 1;

/** The pool hook: attaches the current request's context (if any) to a task just queued. */
export function taskDispatched(ticket: DispatchedTask, pool: { name?: string }): void {
  const ctx = contextState.storage?.getStore();
  if (ctx === undefined) return;
  const view = ticket as TicketView;
  const key = nextKey++;
  const o = otel();
  const entry: LiveTask = { ctx, ticket: view, otel: o, queue: undefined, run: undefined };
  let wire = ctx.toWire(key);
  if (o !== undefined) {
    const call = view.task.call;
    const parent = otelContexts.get(ctx) ?? o.api.context.active();
    const queue = o.tracer.startSpan(
      'albany.pool.queue',
      {
        kind: o.api.SpanKind.INTERNAL,
        startTime: view.queuedAt,
        attributes: {
          'albany.pool': pool.name ?? '',
          ...(call === undefined ? {} : { 'albany.offload': call.exportName }),
        },
      },
      parent,
    );
    entry.queue = queue;
    // The worker names the queue span as its parent: what it traces itself hangs under the hop.
    if (spanIsReal(o, queue, undefined)) {
      const sc = queue.spanContext();
      wire = { ...wire, traceparent: formatTraceParent(sc.traceId, sc.spanId, sc.traceFlags) };
    }
  }
  view.task.context = wire;
  live.set(key, entry);
  view.result.then(
    (result) => taskSettled(key, entry, result.startedAt, result.error),
    (error: unknown) => taskSettled(key, entry, undefined, error),
  );
}

/** The service hook: a runSync service call from a task's thread runs in that task's request context. */
export function serviceInTask<T>(key: number, name: string, call: () => Promise<T>): Promise<T> {
  const entry = live.get(key);
  const storage = contextState.storage;
  if (entry === undefined || storage === undefined) return call();
  const o = entry.otel;
  if (o === undefined) return storage.run(entry.ctx, call);
  const run = runSpan(entry, o, workerStart(entry.ticket) ?? now());
  const parent = o.api.trace.setSpan(otelContexts.get(entry.ctx) ?? o.api.ROOT_CONTEXT, run);
  const span = o.tracer.startSpan(
    `albany.runSync ${name}`,
    { kind: o.api.SpanKind.INTERNAL, attributes: { 'albany.service': name } },
    parent,
  );
  return o.api.context
    .with(o.api.trace.setSpan(parent, span), () => storage.run(entry.ctx, call))
    .then(
      (value) => {
        endSpan(o, span);
        return value;
      },
      (error: unknown) => {
        endSpan(o, span, error);
        throw error;
      },
    );
}

// The worker's start stamp (shared memory), once it has started the task.
function workerStart(ticket: TicketView): number | undefined {
  const batch = ticket.batch;
  if (batch === undefined) return undefined;
  const t = batch.times[startedAtIndex(batch.tickets.length, ticket.index)];
  return t !== undefined && t > 0 ? t : undefined;
}

// The run span, made on first need: the queue wait ends where the run starts.
function runSpan(entry: LiveTask, o: Otel, startedAt: number): OtelSpan {
  if (entry.run !== undefined) return entry.run;
  const queue = entry.queue!;
  queue.end(startedAt);
  const parent = o.api.trace.setSpan(otelContexts.get(entry.ctx) ?? o.api.ROOT_CONTEXT, queue);
  entry.run = o.tracer.startSpan('albany.pool.run', { kind: o.api.SpanKind.INTERNAL, startTime: startedAt }, parent);
  return entry.run;
}

function taskSettled(key: number, entry: LiveTask, startedAt: number | undefined, error: unknown): void {
  live.delete(key);
  const o = entry.otel;
  if (o === undefined) return;
  const started = startedAt !== undefined && startedAt > 0 ? startedAt : workerStart(entry.ticket);
  if (started === undefined && entry.run === undefined) {
    // It never reached a thread (cancelled, refused, pool closed): only the wait happened.
    endSpan(o, entry.queue!, error);
    return;
  }
  endSpan(o, runSpan(entry, o, started ?? now()), error);
}

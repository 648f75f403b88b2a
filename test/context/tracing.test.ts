// OpenTelemetry through the real SDK (in-memory exporter, AsyncLocalStorage context manager) and a
// real server and client: the client's traceparent is the parent of the server span, and a legacy
// request's hop shows as queue wait → worker run → runSync service call, parented across threads.
import test from 'ava';
import { SpanKind, context as otelContext, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { context, enableContext } from '../../src/context/context.js';
import type { App } from '../../src/gateway/types.js';
import { legacy } from '../../legacy-adapter/index.js';
import { offload } from '../../src/pool/offload.js';
import { createPool } from '../../src/pool/pool.js';
import { provide } from '../../src/sync/services.js';
import { startServer } from '../helpers/server.js';
import type * as Handlers from '../fixtures/context/handlers.js';

const handlers = new URL('../fixtures/context/handlers.ts', import.meta.url);
const exporter = new InMemorySpanExporter();
const CLIENT_SPAN = '00f067aa0ba902b7';

test.before(async () => {
  otelContext.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  await enableContext({ timeoutMs: 20_000 });
});

function pool(name: string) {
  return createPool({ maxThreads: 1, minThreads: 1, taskTimeoutMs: 20_000 }, { name, configSources: false });
}

const ms = (t: [number, number]): number => t[0] * 1000 + t[1] / 1e6;
const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;
const idOf = (span: ReadableSpan): string => span.spanContext().spanId;

/** The finished spans of `traceId`, once `count` are there (the server span ends after the client has its answer). */
async function spansOf(traceId: string, count: number): Promise<ReadableSpan[]> {
  for (let i = 0; i < 200; i++) {
    const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    if (spans.length >= count) return spans;
    await new Promise((r) => setTimeout(r, 25));
  }
  return exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
}

function one(spans: ReadableSpan[], name: string): ReadableSpan {
  const found = spans.filter((s) => s.name === name);
  if (found.length !== 1)
    throw new Error(`expected one span ${name}, got ${found.length}: ${spans.map((s) => s.name).join(', ')}`);
  return found[0]!;
}

test.serial(
  'a legacy request: client traceparent → server span → queue wait → worker run → runSync service (and spans the service makes)',
  async (t) => {
    const withdraw = provide('ctx.probe', async () => {
      // A span the service makes itself lands under the runSync span: the OpenTelemetry context is the call's.
      await trace.getTracer('test').startActiveSpan('db.query', async (span) => {
        await new Promise((r) => setTimeout(r, 5));
        span.end();
      });
      return { traceparent: context()!.traceparent };
    });
    t.teardown(withdraw);
    const handler = legacy(handlers, { export: 'probe', pool: pool('trace-legacy') });
    t.teardown(() => handler.close());
    const server = await startServer(t, handler);
    await fetch(server.url); // warm: the thread has loaded the module
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await fetch(server.url, { headers: { traceparent: `00-${traceId}-${CLIENT_SPAN}-01` } });
    t.is(res.status, 200);
    const body = (await res.json()) as { worker: { traceparent: string }; service: { traceparent: string } };
    const spans = await spansOf(traceId, 5);
    const request = one(spans, 'GET');
    const queue = one(spans, 'albany.pool.queue');
    const run = one(spans, 'albany.pool.run');
    const call = one(spans, 'albany.runSync ctx.probe');
    const query = one(spans, 'db.query');
    t.is(request.kind, SpanKind.SERVER);
    t.is(parentOf(request), CLIENT_SPAN, "the client's span is the server span's parent");
    t.true(request.parentSpanContext?.isRemote);
    t.is(request.attributes['http.response.status_code'], 200);
    t.is(request.attributes['http.request.method'], 'GET');
    t.is(parentOf(queue), idOf(request));
    t.is(parentOf(run), idOf(queue), 'the worker run hangs under the queue wait it came through');
    t.is(parentOf(call), idOf(run), 'the runSync call hangs under the worker run that made it');
    t.is(parentOf(query), idOf(call));
    // Times in order: the wait ends where the run starts; the call is inside the run; the run inside the request.
    t.true(Math.abs(ms(queue.endTime) - ms(run.startTime)) < 1);
    t.true(ms(queue.startTime) >= ms(request.startTime) - 1);
    // ±1 ms as above: the run's start is the worker's clock (its own timeOrigin), the call's the main thread's.
    t.true(ms(call.startTime) >= ms(run.startTime) - 1, `call ${ms(call.startTime)} before run ${ms(run.startTime)}`);
    t.true(ms(call.endTime) <= ms(run.endTime) + 1, `call ends ${ms(call.endTime)} after run ${ms(run.endTime)}`);
    t.true(ms(run.endTime) <= ms(request.endTime) + 1);
    // The worker names the queue span in its traceparent; the service, on the main loop, the request's span.
    t.is(body.worker.traceparent, `00-${traceId}-${idOf(queue)}-01`);
    t.is(body.service.traceparent, `00-${traceId}-${idOf(request)}-01`);
  },
);

test.serial(
  "without a traceparent a new trace starts; an async route's own spans and an offload() call hang under the request span",
  async (t) => {
    const p = pool('trace-offload');
    t.teardown(() => p.close());
    const seen = offload<typeof Handlers.offloadSeen>(handlers, 'offloadSeen', { pool: p });
    await seen();
    const app: App = async (_scope, _receive, send) => {
      await trace.getTracer('test').startActiveSpan('render', async (span) => {
        await new Promise((r) => setTimeout(r, 2));
        span.end();
      });
      const inWorker = await seen();
      await send({ type: 'http.response.start', status: 201, headers: [] });
      await send({
        type: 'http.response.body',
        body: Buffer.from(JSON.stringify({ mine: context()!.traceparent, inWorker })),
        moreBody: false,
      });
    };
    const server = await startServer(t, app);
    const res = await fetch(server.url);
    const body = (await res.json()) as { mine: string; inWorker: { traceparent: string } };
    const traceId = body.mine.slice(3, 35);
    const spans = await spansOf(traceId, 4);
    const request = one(spans, 'GET');
    t.is(parentOf(request), undefined, 'a new trace: no parent');
    t.is(request.attributes['http.response.status_code'], 201);
    t.is(body.mine, `00-${traceId}-${idOf(request)}-01`);
    t.is(parentOf(one(spans, 'render')), idOf(request));
    const queue = one(spans, 'albany.pool.queue');
    const run = one(spans, 'albany.pool.run');
    t.is(queue.attributes['albany.offload'], 'offloadSeen');
    t.is(queue.attributes['albany.pool'], 'trace-offload');
    t.is(parentOf(queue), idOf(request));
    t.is(parentOf(run), idOf(queue));
    t.is(body.inWorker.traceparent, `00-${traceId}-${idOf(queue)}-01`);
  },
);

test.serial('a request whose app fails ends its span with an error status', async (t) => {
  const server = await startServer(t, async () => {
    throw new Error('boom');
  });
  const traceId = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
  const res = await fetch(server.url, { headers: { traceparent: `00-${traceId}-${CLIENT_SPAN}-01` } });
  t.is(res.status, 500);
  const [span] = await spansOf(traceId, 1);
  t.is(span?.status.code, 2 /* SpanStatusCode.ERROR */);
  t.is(span?.status.message, 'boom');
});

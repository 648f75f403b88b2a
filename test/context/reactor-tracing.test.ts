// With OpenTelemetry (the real SDK, in-memory exporter) a reactor call carries the traceparent of
// the code that made it: a legacy handler's names the pool hop's span, an async route's the server
// span, each in the client's trace. (The reactor makes no spans of its own.)
import { threadId } from 'node:worker_threads';
import test from 'ava';
import { context as otelContext, trace } from '@opentelemetry/api';
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
import { createPool } from '../../src/pool/pool.js';
import { runInReactor } from '../../src/sync/run-sync.js';
import { startServer } from '../helpers/server.js';
import type * as Exports from '../fixtures/context/reactor-exports.js';

const handlers = new URL('../fixtures/context/reactor-handlers.ts', import.meta.url);
const exportsUrl = new URL('../fixtures/context/reactor-exports.ts', import.meta.url);
const exporter = new InMemorySpanExporter();
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

test.before(async () => {
  otelContext.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  await enableContext({ timeoutMs: 60_000 });
});

interface Seen {
  threadId: number;
  ctx: { requestId: string; traceparent: string } | null;
}

/** The finished spans of {@link TRACE_ID} once one is named `name` (the server span ends after the answer). */
async function spanNamed(name: string): Promise<ReadableSpan | undefined> {
  for (let i = 0; i < 200; i++) {
    const found = exporter.getFinishedSpans().find((s) => s.spanContext().traceId === TRACE_ID && s.name === name);
    if (found !== undefined) return found;
    await new Promise((r) => setTimeout(r, 25));
  }
  return undefined;
}

test.serial("a legacy handler's reactor calls carry the pool hop's traceparent, in the client's trace", async (t) => {
  const p = createPool(
    { maxThreads: 1, minThreads: 1, taskTimeoutMs: 60_000 },
    { name: 'trace-reactor', configSources: false },
  );
  const handler = legacy(handlers, { export: 'viaReactor', pool: p });
  t.teardown(() => handler.close());
  const server = await startServer(t, handler);
  await fetch(server.url); // warm: the thread and its reactor have loaded their modules
  exporter.reset();
  const res = await fetch(server.url, { headers: { traceparent: TRACEPARENT, 'x-request-id': 'traced-1' } });
  const text = await res.text();
  t.is(res.status, 200, text);
  const body = JSON.parse(text) as Record<'byRunSync' | 'bySyncify' | 'byEventual', { after: Seen }> & {
    before: Seen;
  };
  const worker = body.before.ctx!.traceparent;
  t.is(worker.slice(3, 35), TRACE_ID);
  for (const form of ['byRunSync', 'bySyncify', 'byEventual'] as const) {
    t.is(body[form].after.ctx?.traceparent, worker, form);
    t.is(body[form].after.ctx?.requestId, 'traced-1', form);
  }
  // The span it names is the hop's queue span, a real span of the trace.
  const queue = await spanNamed('albany.pool.queue');
  t.is(worker.slice(36, 52), queue?.spanContext().spanId ?? 'no albany.pool.queue span');
});

test.serial("an async route's reactor call carries the server span's traceparent", async (t) => {
  const app: App = async (_scope, _receive, send) => {
    const seen = await runInReactor<Awaited<ReturnType<typeof Exports.seenAfter>>>(exportsUrl, 'seenAfter', [1]);
    const body = { route: context()!.traceparent, reactor: seen.after };
    await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'application/json']] });
    await send({ type: 'http.response.body', body: Buffer.from(JSON.stringify(body)), moreBody: false });
  };
  const server = await startServer(t, app);
  exporter.reset();
  const res = await fetch(server.url, { headers: { traceparent: TRACEPARENT } });
  const body = (await res.json()) as { route: string; reactor: Seen };
  t.not(body.reactor.threadId, threadId);
  t.is(body.reactor.ctx?.traceparent, body.route);
  const request = await spanNamed('GET');
  t.is(body.route, `00-${TRACE_ID}-${request?.spanContext().spanId}-01`);
});

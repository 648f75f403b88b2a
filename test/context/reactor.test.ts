// context() inside runSync's reactor thread, end to end through a real server, client and pool:
// a legacy handler's reactor call (runSync, syncify, runInReactor) runs in a copy of the request's
// context; calls in flight at once in one reactor each keep their own; calls made outside a request
// see none.
import { threadId } from 'node:worker_threads';
import test, { type ExecutionContext } from 'ava';
import { context, enableContext } from '../../src/context/context.js';
import type { App } from '../../src/gateway/types.js';
import { legacy } from '../../legacy-adapter/index.js';
import { createPool } from '../../src/pool/pool.js';
import { runInReactor, syncify } from '../../src/sync/run-sync.js';
import { startServer } from '../helpers/server.js';
import type * as Exports from '../fixtures/context/reactor-exports.js';

const handlers = new URL('../fixtures/context/reactor-handlers.ts', import.meta.url);
const exportsUrl = new URL('../fixtures/context/reactor-exports.ts', import.meta.url);
// Generous: a pool thread's first reactor call starts the reactor and loads the module through tsx,
// which can take seconds on a loaded machine.
const TIMEOUT_MS = 60_000;
const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${CLIENT_TRACE}-00f067aa0ba902b7-01`;
const TRACESTATE = 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7';

test.before(async () => {
  await enableContext({ timeoutMs: TIMEOUT_MS, tracing: false });
});

interface Seen {
  threadId: number;
  ctx: {
    requestId: string;
    traceparent: string;
    tracestate: string | null;
    deadline: number | null;
    left?: number | null;
    values: Record<string, unknown>;
  } | null;
}
interface Report {
  before: Seen;
  byRunSync: { before: Seen; after: Seen };
  bySyncify: { before: Seen; after: Seen };
  byEventual: { before: Seen; after: Seen };
  after: Seen;
}

function pool(name: string, threads: number) {
  return createPool(
    { maxThreads: threads, minThreads: threads, taskTimeoutMs: TIMEOUT_MS },
    { name, configSources: false },
  );
}

/** Serves the `viaReactor` handler behind a route that sets `user` in the request's context first. */
async function reactorServer(t: ExecutionContext, threads: number) {
  const handler = legacy(handlers, { export: 'viaReactor', pool: pool(`ctx-reactor-${threads}`, threads) });
  t.teardown(() => handler.close());
  const app: App = async (scope, receive, send) => {
    context()!.set('user', `user of ${context()!.requestId}`);
    await new Promise((r) => setTimeout(r, 1));
    return handler(scope, receive, send);
  };
  return startServer(t, app);
}

async function get(url: string, id: string): Promise<Report> {
  const res = await fetch(url, { headers: { 'x-request-id': id, traceparent: TRACEPARENT, tracestate: TRACESTATE } });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`status ${res.status}: ${text}`);
  return JSON.parse(text) as Report;
}

/** Every reactor call of `report` saw the pool thread's context: same fields, values as they were. */
function assertReactorSaw(t: ExecutionContext, report: Report, id: string): void {
  const worker = report.before.ctx!;
  t.is(worker.requestId, id);
  t.is(worker.traceparent.slice(3, 35), CLIENT_TRACE);
  t.is(worker.tracestate, TRACESTATE);
  t.is(typeof worker.deadline, 'number');
  t.deepEqual(worker.values, { user: `user of ${id}`, hop: 'set on the pool thread' });
  for (const form of ['byRunSync', 'bySyncify', 'byEventual'] as const) {
    const { before, after } = report[form];
    t.not(before.threadId, report.before.threadId, `${form}: ran on another thread (the reactor)`);
    t.not(before.threadId, threadId, `${form}: not on the main thread`);
    for (const seen of [before, after]) {
      t.like(
        seen.ctx,
        {
          requestId: id,
          traceparent: worker.traceparent,
          tracestate: TRACESTATE,
          deadline: worker.deadline,
        },
        form,
      );
      t.true((seen.ctx!.left as number) > 0 && (seen.ctx!.left as number) <= TIMEOUT_MS, `${form}: time left`);
    }
    t.deepEqual(before.ctx!.values, { user: `user of ${id}`, hop: 'set on the pool thread' }, form);
    t.deepEqual(
      after.ctx!.values,
      { user: `user of ${id}`, hop: 'set on the pool thread', reactor: 'set in the reactor' },
      `${form}: across awaits, with its own value`,
    );
  }
  // A value set in the reactor stays there: the pool thread's context is unchanged.
  t.deepEqual(report.after, report.before);
}

test.serial(
  "a legacy handler's reactor calls run in the request's context: id, traceparent, tracestate, deadline, values",
  async (t) => {
    const server = await reactorServer(t, 1);
    for (const id of ['reactor-first-1', 'reactor-second-2']) assertReactorSaw(t, await get(server.url, id), id);
  },
);

test.serial('two concurrent requests through legacy handlers each see their own context in the reactor', async (t) => {
  const server = await reactorServer(t, 2);
  await get(server.url, 'warm-up'); // both threads start; one of them has its reactor running
  const ids = ['conc-a', 'conc-b', 'conc-c', 'conc-d'];
  const reports = await Promise.all(ids.map((id) => get(server.url, id)));
  for (const [i, report] of reports.entries()) assertReactorSaw(t, report, ids[i]!);
});

test.serial(
  'calls in flight at once in one reactor (async routes awaiting runInReactor) each keep their own context',
  async (t) => {
    const app: App = async (_scope, _receive, send) => {
      const ctx = context()!;
      ctx.set('route', ctx.requestId);
      const met = await runInReactor<Awaited<ReturnType<typeof Exports.meet>>>(exportsUrl, 'meet', [3], {
        timeoutMs: 20_000,
      });
      await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'application/json']] });
      await send({ type: 'http.response.body', body: Buffer.from(JSON.stringify(met)), moreBody: false });
    };
    const server = await startServer(t, app);
    const ids = ['meet-1', 'meet-2', 'meet-3'];
    const bodies = await Promise.all(
      ids.map(async (id) => {
        const res = await fetch(server.url, { headers: { 'x-request-id': id } });
        t.is(res.status, 200);
        return (await res.json()) as { arrived: Seen; after: Seen };
      }),
    );
    bodies.forEach((body, i) => {
      const id = ids[i]!;
      for (const seen of [body.arrived, body.after]) {
        t.not(seen.threadId, threadId);
        t.is(seen.ctx?.requestId, id);
        t.deepEqual(seen.ctx?.values, { route: id });
      }
    });
    // The same reactor ran all three: its thread id is one.
    t.is(new Set(bodies.map((b) => b.after.threadId)).size, 1);
    // A call made outside a request, on that same reactor now that it has a context store, sees none.
    const seen = syncify<typeof Exports.seenAfter>(exportsUrl, 'seenAfter');
    const outside = seen(1);
    t.is(outside.before.ctx, null);
    t.is(outside.after.ctx, null);
    t.is(outside.after.threadId, bodies[0]!.after.threadId);
    t.true(syncify<typeof Exports.contextStoreMade>(exportsUrl, 'contextStoreMade')());
  },
);

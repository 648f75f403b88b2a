// context() end to end through a real server and client: in an async route across awaits, in a
// legacy handler on a pool thread, back on the main loop in a runSync service, in an offload()
// export; and the request's deadline cutting a runSync or offload() call short.
import test from 'ava';
import { context, enableContext } from '../../src/context/context.js';
import type { App } from '../../src/gateway/types.js';
import { legacy } from '../../legacy-adapter/index.js';
import { offload } from '../../src/pool/offload.js';
import { createPool } from '../../src/pool/pool.js';
import { provide } from '../../src/sync/services.js';
import type { AlbanyError } from '../../src/errors.js';
import { startServer } from '../helpers/server.js';
import { seen } from '../fixtures/context/handlers.js';
import type * as Handlers from '../fixtures/context/handlers.js';

const handlers = new URL('../fixtures/context/handlers.ts', import.meta.url);
// The deadline of requests in this file (enableContext is per process; ava runs each file in its own),
// and the short one the deadline tests set once their pool thread has loaded its module (a first
// import through tsx on a loaded machine can take seconds). The tests run one at a time for that.
const TIMEOUT_MS = 20_000;
const SHORT_MS = 1_500;
const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';
const TRACEPARENT = `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`;

test.before(async () => {
  await enableContext({ timeoutMs: TIMEOUT_MS, tracing: false });
});

const json = (value: unknown): Uint8Array => Buffer.from(JSON.stringify(value));
async function answer(send: Parameters<App>[2], value: unknown): Promise<void> {
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'application/json']] });
  await send({ type: 'http.response.body', body: json(value), moreBody: false });
}

/** Requests from now to the end of the test get {@link SHORT_MS} to live. */
async function shortDeadline(t: { teardown(fn: () => unknown): void }): Promise<void> {
  await enableContext({ timeoutMs: SHORT_MS, tracing: false });
  t.teardown(() => enableContext({ timeoutMs: TIMEOUT_MS, tracing: false }));
}

function pool(name: string) {
  return createPool({ maxThreads: 1, minThreads: 1, taskTimeoutMs: 20_000 }, { name, configSources: false });
}

test.serial('an async route sees its request id, traceparent, deadline and its own values across awaits', async (t) => {
  const app: App = async (_scope, _receive, send) => {
    context()!.set('user', 'ann');
    await new Promise((r) => setTimeout(r, 20));
    await Promise.resolve();
    const ctx = context()!;
    await answer(send, {
      requestId: ctx.requestId,
      traceparent: ctx.traceparent,
      traceId: ctx.traceId,
      deadline: ctx.deadline,
      left: ctx.remainingMs(),
      user: ctx.get('user'),
    });
  };
  const server = await startServer(t, app);
  const sentAt = performance.timeOrigin + performance.now();
  const res = await fetch(server.url, { headers: { 'x-request-id': 'req-abc.123', traceparent: TRACEPARENT } });
  const body = (await res.json()) as Record<string, unknown>;
  t.is(body.requestId, 'req-abc.123');
  t.is(body.user, 'ann');
  t.is(body.traceId, CLIENT_TRACE);
  const [version, traceId, spanId, flags] = (body.traceparent as string).split('-');
  t.deepEqual([version, traceId, flags], ['00', CLIENT_TRACE, '01']);
  t.regex(spanId!, /^[0-9a-f]{16}$/);
  t.not(spanId, CLIENT_SPAN, "the request is a new span in the client's trace");
  const deadline = body.deadline as number;
  t.true(Math.abs(deadline - (sentAt + TIMEOUT_MS)) < 1_000, `deadline ${deadline - sentAt} ms after the request`);
  t.true((body.left as number) > 0 && (body.left as number) <= TIMEOUT_MS);
  // Outside any request: nothing.
  t.is(context(), undefined);
});

test.serial('without a valid x-request-id each request gets a generated one and a trace of its own', async (t) => {
  const app: App = async (_scope, _receive, send) => {
    await new Promise((r) => setImmediate(r));
    await answer(send, { requestId: context()!.requestId, traceparent: context()!.traceparent });
  };
  const server = await startServer(t, app);
  const get = async (headers: Record<string, string>) =>
    (await (await fetch(server.url, { headers })).json()) as { requestId: string; traceparent: string };
  const a = await get({});
  const b = await get({ 'x-request-id': 'has a space' });
  const c = await get({
    'x-request-id': 'x'.repeat(201),
    traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
  });
  for (const r of [a, b, c]) {
    t.regex(r.requestId, /^[0-9a-f]{12}-[0-9a-z]+$/);
    t.regex(r.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
  }
  t.is(new Set([a.requestId, b.requestId, c.requestId]).size, 3);
  t.is(new Set([a.traceparent.slice(3, 35), b.traceparent.slice(3, 35), c.traceparent.slice(3, 35)]).size, 3);
});

test.serial(
  "a legacy handler on a pool thread, and the runSync service it calls on the main loop, see the request's context",
  async (t) => {
    const withdraw = provide('ctx.probe', async () => {
      await new Promise((r) => setTimeout(r, 5));
      return seen();
    });
    t.teardown(withdraw);
    const handler = legacy(handlers, { export: 'probe', pool: pool('ctx-legacy') });
    t.teardown(() => handler.close());
    const app: App = async (scope, receive, send) => {
      context()!.set('user', 'bob');
      await new Promise((r) => setTimeout(r, 1));
      return handler(scope, receive, send);
    };
    const server = await startServer(t, app);
    for (const id of ['first-1', 'second-2']) {
      const res = await fetch(server.url, {
        headers: { 'x-request-id': id, traceparent: TRACEPARENT, tracestate: 'congo=t61rcWkgMzE' },
      });
      t.is(res.status, 200, server.log.lines.map((l) => l.msg).join('\n'));
      const body = (await res.json()) as {
        worker: Record<string, unknown>;
        service: Record<string, unknown>;
        after: Record<string, unknown>;
      };
      t.like(body.worker, { requestId: id, user: 'bob', mainThread: false, tracestate: 'congo=t61rcWkgMzE' });
      t.like(body.service, { requestId: id, user: 'bob', mainThread: true, tracestate: 'congo=t61rcWkgMzE' });
      t.deepEqual(body.after, body.worker, 'the worker keeps its context after the service call');
      t.is(
        body.service.traceparent,
        body.worker.traceparent,
        "without tracing the hop keeps the request's traceparent",
      );
      t.is((body.worker.traceparent as string).slice(3, 35), CLIENT_TRACE);
      t.is(typeof body.worker.deadline, 'number');
      t.is(body.worker.deadline, body.service.deadline);
    }
  },
);

test.serial("an offload() export called from a route runs in the route's context", async (t) => {
  const p = pool('ctx-offload');
  t.teardown(() => p.close());
  const seen = offload<typeof Handlers.offloadSeen>(handlers, 'offloadSeen', { pool: p });
  const app: App = async (_scope, _receive, send) => {
    context()!.set('user', 'cy');
    await answer(send, await seen());
  };
  const server = await startServer(t, app);
  const body = (await (await fetch(server.url, { headers: { 'x-request-id': 'off-1' } })).json()) as Record<
    string,
    unknown
  >;
  t.like(body, { requestId: 'off-1', user: 'cy', mainThread: false });
  // Outside a request: no context travels.
  t.is(await seen(), null);
});

test.serial(
  "the request's deadline cuts a runSync service call short with ERR_ALBANY_TIMEOUT; a timeout of its own outlasts it",
  async (t) => {
    const withdraw = provide('ctx.slow', async () => {
      await new Promise((r) => setTimeout(r, 2_500));
      return 'late';
    });
    t.teardown(withdraw);
    const p = pool('ctx-deadline');
    const cut = legacy(handlers, { export: 'slow', pool: p });
    const own = legacy(handlers, { export: 'slowOwnTimeout', pool: p });
    t.teardown(() => p.close());
    const server = await startServer(t, (scope, receive, send) =>
      (scope.type === 'http' && scope.path === '/own' ? own : cut)(scope, receive, send),
    );
    t.is((await fetch(`${server.url}/own`)).status, 200); // warm: the thread has loaded the module
    await shortDeadline(t);
    const started = Date.now();
    const body = (await (await fetch(server.url)).json()) as { ok: boolean; code: string; message: string; ms: number };
    t.false(body.ok);
    t.is(body.code, 'ERR_ALBANY_TIMEOUT');
    t.regex(body.message, /runSync\('ctx\.slow'\) did not finish within the request's remaining time/);
    t.true(body.ms < 2_300, `cut after ${body.ms} ms, not at the deadline (${SHORT_MS} ms)`);
    t.true(Date.now() - started < 2_400);
    // The service takes 2.5 s, past the request's 1.5 s: its own 5 s timeout is what counts.
    const res = await fetch(`${server.url}/own`);
    t.like(await res.json(), { ok: true });
  },
);

test.serial(
  "the request's deadline cuts an offload() call short with ERR_ALBANY_TIMEOUT; past the deadline a call is not started",
  async (t) => {
    const p = pool('ctx-deadline-offload');
    t.teardown(() => p.close());
    const sleep = offload<typeof Handlers.sleep>(handlers, 'sleep', { pool: p });
    await sleep(1); // the thread is up and has the module
    await shortDeadline(t);
    const app: App = async (scope, _receive, send) => {
      const started = Date.now();
      if (scope.type === 'http' && scope.path === '/late') await new Promise((r) => setTimeout(r, SHORT_MS + 100));
      try {
        await sleep(3_000);
        await answer(send, { ok: true });
      } catch (error) {
        const e = error as AlbanyError;
        await answer(send, {
          ok: false,
          code: e.code,
          message: e.message,
          ms: Date.now() - started,
          deadline: e.details?.deadline,
        });
      }
    };
    const server = await startServer(t, app);
    const body = (await (await fetch(server.url)).json()) as {
      ok: boolean;
      code: string;
      message: string;
      ms: number;
      deadline: boolean;
    };
    t.like(body, { ok: false, code: 'ERR_ALBANY_TIMEOUT', deadline: true });
    t.regex(
      body.message,
      /offload sleep\(\) \(its worker was replaced\) did not finish within the request's remaining time/,
    );
    t.true(body.ms < 2_500, `cut after ${body.ms} ms`);
    const late = (await (await fetch(`${server.url}/late`)).json()) as { code: string; message: string };
    t.is(late.code, 'ERR_ALBANY_TIMEOUT');
    t.regex(late.message, /offload sleep\(\) was not started: the request's deadline passed \d+ ms ago/);
  },
);

test.serial('an Express app served through fromNodeHandler sees the context in its routes', async (t) => {
  const { default: express } = await import('express');
  const { fromNodeHandler } = await import('../../src/interop/node.js');
  const ex = express();
  ex.get('/', async (_req, res) => {
    await new Promise((r) => setTimeout(r, 5));
    res.json({ requestId: context()?.requestId ?? null });
  });
  const server = await startServer(t, fromNodeHandler(ex));
  const body = (await (await fetch(server.url, { headers: { 'x-request-id': 'exp-1' } })).json()) as {
    requestId: string;
  };
  t.is(body.requestId, 'exp-1');
});

test.serial("the access log names a request by its context's id (a generated one too)", async (t) => {
  let written = '';
  const app: App = async (_scope, _receive, send) => answer(send, { requestId: context()!.requestId });
  const server = await startServer(t, app, {
    accessLog: true,
    logFormat: 'json',
    accessLogStream: { write: (chunk: string) => (written += chunk) },
  });
  const ids: string[] = [];
  const sent: Array<Record<string, string>> = [{}, { 'x-request-id': 'given-7' }, { 'x-request-id': 'bad id' }];
  for (const headers of sent) {
    ids.push(((await (await fetch(server.url, { headers })).json()) as { requestId: string }).requestId);
  }
  await server.close();
  const logged = written
    .trim()
    .split('\n')
    .map((line) => (JSON.parse(line) as { requestId: string }).requestId);
  t.deepEqual(logged, ids);
  t.is(ids[1], 'given-7');
});

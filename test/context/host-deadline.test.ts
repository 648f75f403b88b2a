// A request's deadline comes from the server that took it: serve()'s own requestTimeoutMs, so two
// servers in one process give their requests different budgets, and `0` gives none. The id a client
// sends becomes the context id. WebSocket connections run in a context too, without a deadline.
import test from 'ava';
import { context, enableContext } from '../../src/context/context.js';
import { now } from '../../src/clock.js';
import type { App } from '../../src/gateway/types.js';
import { WebSocket } from 'ws';
import { startServer } from '../helpers/server.js';

test.before(async () => {
  // No timeoutMs: each server's own request timeout is the budget.
  await enableContext({ tracing: false });
});

const app: App = async (_scope, _receive, send) => {
  const ctx = context();
  const left = ctx?.deadline === undefined ? null : ctx.deadline - now();
  const body = Buffer.from(JSON.stringify({ left, id: ctx?.requestId ?? null }));
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'application/json']] });
  await send({ type: 'http.response.body', body, moreBody: false });
};

async function ask(url: string, headers: Record<string, string> = {}): Promise<{ left: number | null; id: string }> {
  const res = await fetch(url, { headers });
  return (await res.json()) as { left: number | null; id: string };
}

test("each server's requestTimeoutMs is its requests' deadline; 0 sets none", async (t) => {
  const short = await startServer(t, app, { requestTimeoutMs: 4_000 });
  const long = await startServer(t, app, { requestTimeoutMs: 120_000 });
  const none = await startServer(t, app, { requestTimeoutMs: 0 });
  const a = await ask(short.url);
  const b = await ask(long.url);
  const c = await ask(none.url);
  t.true(a.left !== null && a.left > 0 && a.left <= 4_000, `short server: ${a.left} ms left`);
  t.true(b.left !== null && b.left > 60_000 && b.left <= 120_000, `long server: ${b.left} ms left`);
  t.is(c.left, null);
});

test('the id a client sends is the context id; a bad one is replaced by a generated one', async (t) => {
  const server = await startServer(t, app, { requestTimeoutMs: 4_000 });
  t.is((await ask(server.url, { 'x-request-id': 'order-42' })).id, 'order-42');
  const made = (await ask(server.url, { 'x-request-id': 'bad id with spaces' })).id;
  t.not(made, 'bad id with spaces');
  t.regex(made, /^[\w.-]+$/);
});

test('a WebSocket connection runs in a context: the id it was opened with, the trace, and no deadline', async (t) => {
  const wsApp: App = async (scope, receive, send) => {
    if (scope.type !== 'websocket') return app(scope, receive, send);
    await receive(); // websocket.connect
    await send({ type: 'websocket.accept' });
    await receive(); // the client's first message
    await new Promise((resolve) => setTimeout(resolve, 5)); // across an await, still the same context
    const ctx = context();
    const text = JSON.stringify({
      id: ctx?.requestId ?? null,
      trace: ctx?.traceparent ?? null,
      deadline: ctx?.deadline ?? null,
    });
    await send({ type: 'websocket.send', text });
    await send({ type: 'websocket.close', code: 1000 });
  };
  const server = await startServer(t, wsApp, { requestTimeoutMs: 4_000 });
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const ws = new WebSocket(server.url.replace('http:', 'ws:'), { headers: { 'x-request-id': 'ws-7', traceparent } });
  const reply = await new Promise<string>((resolve, reject) => {
    ws.once('open', () => ws.send('hi'));
    ws.once('message', (data) => resolve(String(data)));
    ws.once('error', reject);
  });
  const got = JSON.parse(reply) as { id: string; trace: string; deadline: number | null };
  t.is(got.id, 'ws-7');
  t.regex(got.trace, /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
  t.is(got.deadline, null);
});

test("tracestate: the client's, beside a valid traceparent, is the context's; without one it is dropped", async (t) => {
  const traceApp: App = async (_scope, _receive, send) => {
    const body = Buffer.from(JSON.stringify({ state: context()?.tracestate ?? null }));
    await send({ type: 'http.response.start', status: 200, headers: [] });
    await send({ type: 'http.response.body', body, moreBody: false });
  };
  const server = await startServer(t, traceApp);
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const state = async (headers: Record<string, string>) =>
    ((await (await fetch(server.url, { headers })).json()) as { state: string | null }).state;
  t.is(
    await state({ traceparent, tracestate: 'congo=t61rcWkgMzE, rojo=00f067aa0ba902b7' }),
    'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7',
  );
  t.is(await state({ tracestate: 'congo=t61rcWkgMzE' }), null);
  t.is(await state({ traceparent, tracestate: 'not a list member' }), null);
});

// With @opentelemetry/api installed but no SDK registered (the API's no-op tracer), context() still
// names the request with a well-formed traceparent of its own in the client's trace, and the first
// context() call turns context on for the requests after it.
import test from 'ava';
import { context } from '../../src/context/context.js';
import { otel } from '../../src/context/otel.js';
import type { App } from '../../src/gateway/types.js';
import { startServer } from '../helpers/server.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

test("the first context() call turns context on; with the no-op tracer the ids are albany's own", async (t) => {
  const app: App = async (_scope, _receive, send) => {
    await new Promise((r) => setImmediate(r));
    const ctx = context();
    const body = JSON.stringify(ctx === undefined ? null : { requestId: ctx.requestId, traceparent: ctx.traceparent });
    await send({ type: 'http.response.start', status: 200, headers: [] });
    await send({ type: 'http.response.body', body: Buffer.from(body) });
  };
  const server = await startServer(t, app);
  const get = async () =>
    (await (
      await fetch(server.url, { headers: { 'x-request-id': 'n-1', traceparent: `00-${TRACE}-${SPAN}-01` } })
    ).json()) as {
      requestId: string;
      traceparent: string;
    } | null;
  // Nobody turned context on: the first request has none, and asking turned it on.
  t.is(await get(), null);
  for (let i = 0; i < 100 && otel() === undefined; i++) await new Promise((r) => setTimeout(r, 20));
  t.not(otel(), undefined, '@opentelemetry/api was found');
  const second = await get();
  t.is(second?.requestId, 'n-1');
  t.regex(second!.traceparent, new RegExp(`^00-${TRACE}-(?!${SPAN})(?!0{16})[0-9a-f]{16}-01$`));
});

// Proves one error format for every thread boundary: a legacy handler's error and an offload call's
// error reach the main side with their class name, code, own props and cause chain, as runSync's do.
import test from 'ava';
import { AlbanyError, hasCode } from '../src/errors.js';
import { reviveError, serializeError } from '../src/errors-wire.js';
import { legacy } from '../legacy-adapter/index.js';
import { offload } from '../src/pool/offload.js';
import { createPool } from '../src/pool/pool.js';
import { Communicator, collectResponse, httpScope } from '../src/testing/communicator.js';

const fixture = new URL('./fixtures/errors/rich-error.ts', import.meta.url);

type Rich = Error & { code?: string; orderId?: number; tags?: string[] };

/** Checks what the fixture's richError() carries: message, code and props, and (`withCause`) its cause chain. */
function assertRich(t: import('ava').ExecutionContext, err: unknown, withCause = true): void {
  const e = err as Rich;
  t.true(e instanceof Error);
  t.is(e.message, 'charge failed');
  t.is(e.code, 'E_PAYMENT');
  t.is(e.orderId, 42);
  t.deepEqual(e.tags, ['card', 'declined']);
  if (!withCause) return;
  const cause = e.cause as Error & { code?: string };
  t.true(cause instanceof RangeError);
  t.is(cause.message, 'retry budget spent');
  const root = cause.cause as Error & { code?: string };
  t.is(root.message, 'socket reset by the bank');
  t.is(root.code, 'ECONNRESET');
  t.regex(e.stack ?? '', /rich-error\.ts/, 'the worker stack is kept');
}

test('serializeError / reviveError keep name, code, props, the cause chain and AlbanyError', (t) => {
  const cause = Object.assign(new TypeError('inner'), { code: 'E_INNER' });
  const err = Object.assign(new SyntaxError('outer', { cause }), { code: 'E_OUTER', extra: { n: 1 }, fn: () => 1 });
  const back = reviveError(structuredClone(serializeError(err))) as typeof err;
  t.true(back instanceof SyntaxError);
  t.is(back.code, 'E_OUTER');
  t.deepEqual(back.extra, { n: 1 });
  t.is(typeof back.fn, 'string', 'an uncloneable prop travels as its string form');
  t.true(back.cause instanceof TypeError);
  t.is((back.cause as typeof cause).code, 'E_INNER');
  const albany = reviveError(serializeError(new AlbanyError('ERR_ALBANY_TIMEOUT', 'slow', { details: { ms: 5 } })));
  t.true(hasCode(albany, 'ERR_ALBANY_TIMEOUT'));
  t.deepEqual((albany as AlbanyError).details, { ms: 5 });
  t.regex(reviveError(serializeError('a string')).message, /non-error thrown: a string/);
});

test.serial('a legacy handler error reaches the 500 log with its code, props and cause', async (t) => {
  const logged: Array<{ message: string; error: unknown }> = [];
  const app = legacy(fixture, { pool: { maxThreads: 1 }, log: (message, error) => logged.push({ message, error }) });
  t.teardown(() => app.close());
  const c = new Communicator(app, httpScope({ path: '/at-once' }));
  c.input({ type: 'http.request', body: new Uint8Array(), moreBody: false });
  const res = await collectResponse(c, 10_000);
  t.is(res.status, 500);
  await c.done;
  t.is(logged.length, 1);
  t.regex(logged[0]!.message, /handler failed/);
  assertRich(t, logged[0]!.error);
});

test.serial(
  'a legacy handler failing after the response started rejects the app with ERR_ALBANY_HANDLER caused by its error',
  async (t) => {
    const logged: unknown[] = [];
    const app = legacy(fixture, { pool: { maxThreads: 1 }, log: (_message, error) => logged.push(error) });
    t.teardown(() => app.close());
    const c = new Communicator(app, httpScope({ path: '/midway' }));
    c.input({ type: 'http.request', body: new Uint8Array(), moreBody: false });
    const start = await c.output(10_000);
    t.is(start.type, 'http.response.start');
    const err = await c.done.then(
      () => undefined,
      (e: unknown) => e,
    );
    t.true(hasCode(err, 'ERR_ALBANY_HANDLER'), String(err));
    t.regex((err as Error).message, /after the response started: charge failed/);
    assertRich(t, (err as Error).cause);
    assertRich(t, logged[0]);
  },
);

test.serial('an offload call error rejects with its code, props and cause', async (t) => {
  const pool = createPool({ maxThreads: 1 }, { configSources: false });
  t.teardown(() => pool.close());
  const charge = offload(fixture, 'charge', { pool });
  const err = await charge().then(
    () => undefined,
    (e: unknown) => e,
  );
  // As for runSync: the caller's error carries the code and props, its cause is the worker's error as thrown.
  assertRich(t, err, false);
  t.regex((err as Error).stack ?? '', /--- in offload charge\(\) on a worker thread ---/);
  assertRich(t, (err as Error).cause);
});

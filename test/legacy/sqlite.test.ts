// The legacy examples as apps: a better-sqlite3 notes handler, a CPU report and a WSGI hello, driven
// with the Communicator (no socket: the point is what the handlers do in the pool).
import test from 'ava';
import { legacy } from '../../legacy-adapter/index.js';
import type { App, HttpScope } from '../../src/gateway/types.js';
import { httpRequest } from '../../src/testing/communicator.js';

const example = (name: string) => new URL(`../../examples/legacy/${name}`, import.meta.url);
// The first request of a pool loads (and compiles) the module in a worker: generous on a loaded machine.
const run = (app: App, scope: Partial<HttpScope>, body?: string) => httpRequest(app, scope, body, 20_000);

test.serial('a legacy handler uses better-sqlite3 (a synchronous driver) from the pool', async (t) => {
  const app = legacy(example('notes.ts'), { pool: { maxThreads: 1 } });
  t.teardown(() => app.close());
  const json: Array<[string, string]> = [['content-type', 'application/json']];
  const created = await run(app, { method: 'POST', headers: json }, JSON.stringify({ text: 'buy milk' }));
  t.is(created.status, 201);
  await run(app, { method: 'POST' }, JSON.stringify({ text: 'call mom' }));
  const listed = JSON.parse((await run(app, {})).body.toString()) as { notes: Array<{ id: number; text: string }> };
  t.deepEqual(
    listed.notes.map((n) => n.text),
    ['buy milk', 'call mom'],
  );
  t.is((await run(app, { method: 'POST' }, '{}')).status, 400);
});

test.serial('the example report and WSGI hello handlers answer', async (t) => {
  const report = legacy(example('report.ts'), { pool: { maxThreads: 1 } });
  t.teardown(() => report.close());
  const res = await run(report, { queryString: 'rounds=1000' });
  t.is(res.status, 200);
  t.regex(res.body.toString(), /1000 rounds, checksum/);
  const hello = legacy(example('wsgi-hello.ts'), { pool: { maxThreads: 1 } });
  t.teardown(() => hello.close());
  t.regex((await run(hello, { method: 'POST', path: '/x' }, 'abc')).body.toString(), /POST \/x \(3 body bytes\)/);
});

import test from 'ava';
import { legacy } from '../../legacy-adapter/index.js';
import { withServer } from './helpers.js';

test.serial('a legacy handler uses better-sqlite3 (a synchronous driver) from the pool', async (t) => {
  const app = legacy(new URL('../../examples/legacy/notes.ts', import.meta.url), { pool: { maxThreads: 1 } });
  await withServer(app, async (url) => {
    const created = await fetch(`${url}/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'buy milk' }) });
    t.is(created.status, 201);
    await fetch(`${url}/`, { method: 'POST', body: JSON.stringify({ text: 'call mom' }) });
    const listed = (await (await fetch(`${url}/`)).json()) as { notes: Array<{ id: number; text: string }> };
    t.deepEqual(listed.notes.map((n) => n.text), ['buy milk', 'call mom']);
    t.is((await fetch(`${url}/`, { method: 'POST', body: '{}' })).status, 400);
  });
});

test.serial('the example report and WSGI hello handlers answer', async (t) => {
  const report = legacy(new URL('../../examples/legacy/report.ts', import.meta.url), { pool: { maxThreads: 1 } });
  await withServer(report, async (url) => {
    const res = await fetch(`${url}/?rounds=1000`);
    t.is(res.status, 200);
    t.regex(await res.text(), /1000 rounds, checksum/);
  });
  const hello = legacy(new URL('../../examples/legacy/wsgi-hello.ts', import.meta.url), { pool: { maxThreads: 1 } });
  await withServer(hello, async (url) => {
    t.regex(await (await fetch(`${url}/x`, { method: 'POST', body: 'abc' })).text(), /POST \/x \(3 body bytes\)/);
  });
});

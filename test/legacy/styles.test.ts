import test from 'ava';
import { legacy } from '../../legacy-adapter/index.js';
import { fixture, withServer } from './helpers.js';

test.serial('a node:http (req, res) handler with readFileSync, a sync template and blocking body reads runs unchanged', async (t) => {
  const app = legacy(fixture('node-page.ts'), { export: 'page', pool: { maxThreads: 1 } });
  await withServer(app, async (url) => {
    const res = await fetch(`${url}/?name=Ada`);
    t.is(res.status, 200);
    t.is(res.headers.get('content-type'), 'text/html; charset=utf-8');
    t.is(res.headers.get('x-handler'), 'node-style');
    t.is((await res.text()).trim(), '<!doctype html><title>Legacy</title><h1>Hello, Ada!</h1><p>3 items</p>');
    const json = await fetch(`${url}/json?z=1`, { headers: { 'x-agent': 'ava' } });
    t.deepEqual(await json.json(), { method: 'GET', url: '/json?z=1', agent: 'ava' });
    const streamed = await fetch(`${url}/stream`);
    t.is(await streamed.text(), 'one two three');
    const echo = await fetch(`${url}/echo`, { method: 'POST', body: 'abcdef' });
    t.is(await echo.text(), 'abc|def');
  });
});

test.serial('a plain handle(request) returns { status, headers, body }', async (t) => {
  const app = legacy(fixture('plain.ts'), { pool: { maxThreads: 1 } });
  await withServer(app, async (url) => {
    const res = await fetch(`${url}/thing?a=1`, { method: 'POST', body: 'payload' });
    t.is(res.status, 201);
    t.is(res.headers.get('x-plain'), 'yes');
    t.is(await res.text(), 'POST /thing?a=1 payload');
    t.deepEqual(await (await fetch(`${url}/json?k=v`)).json(), { method: 'GET', query: 'k=v' });
  });
});

test.serial('a module whose style cannot be told answers 500 and says to pass style', async (t) => {
  const logged: string[] = [];
  const app = legacy(fixture('node-page.ts'), { export: 'ambiguous', pool: { maxThreads: 1 }, log: (m, e) => logged.push(`${m} ${String(e)}`) });
  await withServer(app, async (url) => {
    t.is((await fetch(`${url}/`)).status, 500);
    t.regex(logged.join('\n'), /no function export "ambiguous"/);
  });
});

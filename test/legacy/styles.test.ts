// The three legacy handler styles, driven through the adapter with the Communicator (no socket: what
// is proved here is how each style's handler is called and answered, not the transport).
import test from 'ava';
import { legacy } from '../../legacy-adapter/index.js';
import { getHeader } from '../../src/gateway/helpers.js';
import type { App, HttpScope } from '../../src/gateway/types.js';
import { httpRequest } from '../../src/testing/communicator.js';
import { fixture } from './helpers.js';

// The first request of a pool loads (and compiles) the module in a worker: generous on a loaded machine.
const run = (app: App, scope: Partial<HttpScope>, body?: string) => httpRequest(app, scope, body, 20_000);

test.serial(
  'a node:http (req, res) handler with readFileSync, a sync template and blocking body reads runs unchanged',
  async (t) => {
    const app = legacy(fixture('node-page.ts'), { export: 'page', pool: { maxThreads: 1 } });
    t.teardown(() => app.close());
    const res = await run(app, { path: '/', queryString: 'name=Ada' });
    t.is(res.status, 200);
    t.is(getHeader(res.headers, 'content-type'), 'text/html; charset=utf-8');
    t.is(getHeader(res.headers, 'x-handler'), 'node-style');
    t.is(res.body.toString().trim(), '<!doctype html><title>Legacy</title><h1>Hello, Ada!</h1><p>3 items</p>');
    const json = await run(app, { path: '/json', queryString: 'z=1', headers: [['x-agent', 'ava']] });
    t.deepEqual(JSON.parse(json.body.toString()), { method: 'GET', url: '/json?z=1', agent: 'ava' });
    t.is((await run(app, { path: '/stream' })).body.toString(), 'one two three');
    t.is((await run(app, { method: 'POST', path: '/echo' }, 'abcdef')).body.toString(), 'abc|def');
  },
);

test.serial('a plain handle(request) returns { status, headers, body }', async (t) => {
  const app = legacy(fixture('plain.ts'), { pool: { maxThreads: 1 } });
  t.teardown(() => app.close());
  const res = await run(app, { method: 'POST', path: '/thing', queryString: 'a=1' }, 'payload');
  t.is(res.status, 201);
  t.is(getHeader(res.headers, 'x-plain'), 'yes');
  t.is(res.body.toString(), 'POST /thing?a=1 payload');
  const json = await run(app, { path: '/json', queryString: 'k=v' });
  t.deepEqual(JSON.parse(json.body.toString()), { method: 'GET', query: 'k=v' });
});

test.serial(
  'a plain body that is a list of values, an empty list or a number is JSON; a list of strings streams',
  async (t) => {
    const app = legacy(fixture('plain.ts'), { pool: { maxThreads: 1 } });
    t.teardown(() => app.close());
    for (const [path, text] of [
      ['/list', '[{"id":1},{"id":2}]'],
      ['/empty-list', '[]'],
      ['/number', '42'],
    ] as const) {
      const res = await run(app, { path });
      t.is(res.status, 200, path);
      t.is(getHeader(res.headers, 'content-type'), 'application/json; charset=utf-8', path);
      t.is(res.body.toString(), text, path);
    }
    const chunks = await run(app, { path: '/chunks' });
    t.is(chunks.status, 200);
    t.is(chunks.body.toString(), 'abc');
  },
);

test.serial('a module whose style cannot be told answers 500 and says to pass style', async (t) => {
  const logged: string[] = [];
  const log = (m: string, e?: unknown) => logged.push(`${m} ${String(e)}`);
  const app = legacy(fixture('node-page.ts'), { export: 'ambiguous', pool: { maxThreads: 1 }, log });
  t.teardown(() => app.close());
  t.is((await run(app, { path: '/' })).status, 500);
  t.regex(logged.join('\n'), /no function export "ambiguous"/);
});

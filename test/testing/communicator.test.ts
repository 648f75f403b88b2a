import test from 'ava';
import { Communicator, collectResponse, httpScope } from '../../src/testing/communicator.js';
import type { App } from '../../src/gateway/types.js';
import { readBody } from '../../src/gateway/helpers.js';

const echo: App = async (scope, receive, send) => {
  if (scope.type !== 'http') throw new Error('http only');
  const body = await readBody(receive);
  if (body === null) return;
  await send({ type: 'http.response.start', status: 200, headers: [['x-path', scope.path]] });
  await send({ type: 'http.response.body', body, moreBody: false });
};

test('drives an app with scripted request chunks and collects the response', async (t) => {
  const c = new Communicator(echo, httpScope({ method: 'POST', path: '/echo' }));
  c.input({ type: 'http.request', body: Buffer.from('hel'), moreBody: true });
  c.input({ type: 'http.request', body: Buffer.from('lo'), moreBody: false });
  const res = await collectResponse(c);
  t.is(res.status, 200);
  t.deepEqual(res.headers, [['x-path', '/echo']]);
  t.is(res.body.toString(), 'hello');
  await c.done;
});

test('nothingSent is true while the app waits for input', async (t) => {
  const c = new Communicator(echo, httpScope());
  t.true(await c.nothingSent(30));
  c.input({ type: 'http.request', body: new Uint8Array(), moreBody: false });
  t.like(await c.output(), { type: 'http.response.start' });
  t.false(await c.nothingSent(0));
});

test('output rejects with the app\'s own error when the app throws', async (t) => {
  const c = new Communicator(async () => { throw new Error('app broke'); }, httpScope());
  await t.throwsAsync(c.output(), { message: 'app broke' });
  await t.throwsAsync(c.done, { message: 'app broke' });
});

test('output times out with ERR_ALBANY_TIMEOUT when the app sends nothing', async (t) => {
  const c = new Communicator(echo, httpScope());
  await t.throwsAsync(c.output(30), { code: 'ERR_ALBANY_TIMEOUT' });
});

test('output says when the app returned without sending more', async (t) => {
  const c = new Communicator(async () => {}, httpScope());
  await c.done;
  await t.throwsAsync(c.output(), { code: 'ERR_ALBANY_TIMEOUT', message: /returned without sending/ });
});

test('a disconnect can be scripted like any message', async (t) => {
  let seen: string | undefined;
  const c = new Communicator(async (_s, receive) => { seen = (await receive()).type; }, httpScope());
  c.input({ type: 'http.disconnect' });
  await c.done;
  t.is(seen, 'http.disconnect');
});

test('httpScope defaults are a valid http scope and overrides win', (t) => {
  const s = httpScope({ path: '/x', method: 'PUT' });
  t.like(s, { type: 'http', path: '/x', rawPath: '/x', method: 'PUT', httpVersion: '1.1', queryString: '' });
});

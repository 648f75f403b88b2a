import test from 'ava';
import { Communicator, collectResponse, httpRequest, httpScope } from '../../src/testing/communicator.js';
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

test("output rejects with the app's own error when the app throws", async (t) => {
  const c = new Communicator(async () => {
    throw new Error('app broke');
  }, httpScope());
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
  const c = new Communicator(async (_s, receive) => {
    seen = (await receive()).type;
  }, httpScope());
  c.input({ type: 'http.disconnect' });
  await c.done;
  t.is(seen, 'http.disconnect');
});

test('httpScope defaults are a valid http scope and overrides win', (t) => {
  const s = httpScope({ path: '/x', method: 'PUT' });
  t.like(s, { type: 'http', path: '/x', rawPath: '/x', method: 'PUT', httpVersion: '1.1', queryString: '' });
});

test('httpRequest runs one request with a scope and a body and returns the whole response', async (t) => {
  const res = await httpRequest(echo, { method: 'POST', path: '/one' }, 'body text');
  t.is(res.status, 200);
  t.deepEqual(res.headers, [['x-path', '/one']]);
  t.is(res.body.toString(), 'body text');
});

test('httpRequest rejects with the error of an app that fails before answering', async (t) => {
  const failing: App = async () => {
    throw new Error('app broke');
  };
  await t.throwsAsync(httpRequest(failing), { message: 'app broke' });
});

test('httpRequest adds a content-length for a body unless the scope frames it already', async (t) => {
  const lengthOf: App = async (scope, receive, send) => {
    if (scope.type !== 'http') throw new Error('http only');
    await readBody(receive);
    const framing = scope.headers.filter(([name]) => name === 'content-length' || name === 'transfer-encoding');
    await send({ type: 'http.response.start', status: 200, headers: [] });
    await send({ type: 'http.response.body', body: Buffer.from(JSON.stringify(framing)) });
  };
  const framing = async (...args: Parameters<typeof httpRequest>) =>
    JSON.parse((await httpRequest(...args)).body.toString());
  t.deepEqual(await framing(lengthOf, {}, 'four'), [['content-length', '4']]);
  t.deepEqual(await framing(lengthOf, {}), []);
  const chunked: [string, string] = ['transfer-encoding', 'chunked'];
  t.deepEqual(await framing(lengthOf, { headers: [chunked] }, 'four'), [chunked]);
});

// The FastCGI front's CGI Status header and body rules: every status node:http writes (100–999),
// the `reason` extension as the Status header's phrase, and no content for 1xx/204/304 or HEAD.
import test, { type ExecutionContext } from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { App, HttpScope } from '../../src/gateway/types.js';
import { serveFastCGI } from '../../src/server/fastcgi.js';
import { FcgiClient, cgiParams } from './fastcgi-client.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

async function client(t: ExecutionContext, app: App): Promise<FcgiClient> {
  const server = await serveFastCGI(app, { port: 0, lifespan: 'off', logger: quiet, gracefulTimeoutMs: 2000 });
  const c = await FcgiClient.connect({ port: server.port });
  t.teardown(async () => {
    c.close();
    await server.close();
  });
  return c;
}

// Answers /<status>[/<reason>] with that status (and reason), header x-a and body "body".
const byPath: App = async (scope, _receive, send) => {
  const [, status, reason] = (scope as HttpScope).path.split('/');
  await send({
    type: 'http.response.start',
    status: Number(status),
    headers: [['x-a', '1']],
    ...(reason === undefined ? {} : { reason }),
  });
  await send({ type: 'http.response.body', body: Buffer.from('body') });
};

test("Status header: 600 and 999 pass with node:http's phrase or the app's reason; a custom reason replaces OK", async (t) => {
  const c = await client(t, byPath);
  const lines: string[] = [];
  let id = 1;
  for (const path of ['/600', '/999/Nine Nine Nine', '/200/ok', '/299/Custom Thing', '/200/caf\u00e9', '/404']) {
    c.request(id, cgiParams('GET', path));
    const r = await c.response(id++);
    lines.push(r.statusLine);
    t.is(r.body.toString(), 'body', path);
  }
  t.deepEqual(lines, [
    '600 unknown',
    '999 Nine Nine Nine',
    '200 ok',
    '299 Custom Thing',
    '200 caf\u00e9',
    '404 Not Found',
  ]);
});

test('1xx, 204 and 304 carry no body bytes and get no content-length, whatever the app wrote', async (t) => {
  const c = await client(t, byPath);
  let id = 1;
  for (const status of [150, 204, 304]) {
    c.request(id, cgiParams('GET', `/${status}`));
    const r = await c.response(id++);
    t.is(r.status, status);
    t.is(r.body.length, 0, `status ${status}: ${JSON.stringify(r.body.toString())}`);
    t.deepEqual(r.headers, [['x-a', '1']]);
  }
});

test('HEAD: the whole GET body gives its true length and no bytes; an empty body gives no content-length: 0', async (t) => {
  const app: App = async (scope, _receive, send) => {
    const empty = (scope as HttpScope).path === '/empty';
    await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
    await send({ type: 'http.response.body', body: empty ? undefined : Buffer.from('hello') });
  };
  const c = await client(t, app);
  c.request(1, cgiParams('HEAD', '/full'));
  const full = await c.response(1);
  t.deepEqual(full.headers, [
    ['content-type', 'text/plain'],
    ['content-length', '5'],
  ]);
  t.is(full.body.length, 0);
  c.request(2, cgiParams('HEAD', '/empty'));
  const empty = await c.response(2);
  t.deepEqual(empty.headers, [['content-type', 'text/plain']]);
  t.is(empty.body.length, 0);
  c.request(3, cgiParams('GET', '/empty'));
  t.deepEqual((await c.response(3)).headers, [
    ['content-type', 'text/plain'],
    ['content-length', '0'],
  ]);
});

test("HEAD with pathsend: the file's length and none of its bytes", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'albany-fcgi-head-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'page.txt');
  await writeFile(file, 'x'.repeat(100_000));
  const app: App = async (_scope, _receive, send) => {
    await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
    await send({ type: 'http.response.pathsend', path: file });
  };
  const c = await client(t, app);
  c.request(1, cgiParams('HEAD', '/page.txt'));
  const head = await c.response(1);
  t.deepEqual(head.headers, [
    ['content-type', 'text/plain'],
    ['content-length', '100000'],
  ]);
  t.is(head.body.length, 0);
  c.request(2, cgiParams('GET', '/page.txt'));
  t.is((await c.response(2)).body.length, 100_000);
});

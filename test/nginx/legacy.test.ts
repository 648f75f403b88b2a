// Blocking handlers behind a real nginx: nginx → FastCGI → albany → legacy pool (worker threads).
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { legacy } from '../../legacy-adapter/index.js';
import { serveFastCGI } from '../../src/server/fastcgi.js';
import { requireNginx, startNginx } from '../helpers/nginx.js';

const example = readFileSync(new URL('../../examples/nginx/fastcgi.conf', import.meta.url), 'utf8');
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

test('the better-sqlite3 notes handler, in the legacy pool, answers through nginx fastcgi_pass', async (t) => {
  if (!requireNginx(t)) return;
  const nginx = await startNginx(
    (port, dir) => example.replace('listen 80;', `listen 127.0.0.1:${port};`).replaceAll('/run/albany/', `${dir}/`),
    t,
  );
  const notes = legacy(new URL('../../examples/legacy/notes.ts', import.meta.url), { pool: { maxThreads: 1 } });
  t.teardown(() => notes.close());
  const fcgi = await serveFastCGI(notes, {
    path: join(nginx.dir, 'app.sock'),
    lifespan: 'off',
    logger: quiet,
    gracefulTimeoutMs: 1000,
  });
  t.teardown(() => fcgi.close());

  const created = await fetch(`${nginx.url}/notes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text: 'through nginx' }),
  });
  t.is(created.status, 201, nginx.log());
  const { id, text } = (await created.json()) as { id: number; text: string };
  t.is(text, 'through nginx');
  const listed = (await (await fetch(`${nginx.url}/notes`)).json()) as { notes: Array<{ id: number; text: string }> };
  t.deepEqual(
    listed.notes.map((n) => [n.id, n.text]),
    [[id, 'through nginx']],
  );
  const bad = await fetch(`${nginx.url}/notes`, { method: 'POST', body: '{}' });
  t.is(bad.status, 400);
});

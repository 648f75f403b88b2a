// A real nginx in front of the FastCGI host passes the app's status line on: statuses past 599 and
// the `reason` extension reach the client as the app sent them.
import test from 'ava';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import type { App, HttpScope } from '../../src/gateway/types.js';
import { serveFastCGI } from '../../src/server/fastcgi.js';
import { requireNginx, startNginx } from '../helpers/nginx.js';

const example = readFileSync(new URL('../../examples/nginx/fastcgi.conf', import.meta.url), 'utf8');
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** The status line the client gets for GET `path`. */
function statusLine(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () =>
      socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
    );
    let data = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => (data = Buffer.concat([data, d])));
    socket.on('close', () => resolve(data.subarray(0, data.indexOf('\r\n')).toString('latin1')));
    socket.on('error', reject);
  });
}

test('through nginx: a custom reason phrase and a status past 599 reach the client as sent', async (t) => {
  if (!requireNginx(t)) return;
  const app: App = async (scope, _receive, send) => {
    const [, status, reason] = decodeURIComponent((scope as HttpScope).path).split('/');
    await send({
      type: 'http.response.start',
      status: Number(status),
      headers: [],
      ...(reason === undefined ? {} : { reason }),
    });
    await send({ type: 'http.response.body', body: Buffer.from('x') });
  };
  const nginx = await startNginx(
    (port, dir) => example.replace('listen 80;', `listen 127.0.0.1:${port};`).replaceAll('/run/albany/', `${dir}/`),
    t,
  );
  const fcgi = await serveFastCGI(app, {
    path: join(nginx.dir, 'app.sock'),
    lifespan: 'off',
    logger: quiet,
    gracefulTimeoutMs: 1000,
  });
  t.teardown(() => fcgi.close());
  t.is(await statusLine(nginx.port, '/299/Custom%20Thing'), 'HTTP/1.1 299 Custom Thing', nginx.log());
  t.is(await statusLine(nginx.port, '/200/ok'), 'HTTP/1.1 200 ok');
  t.is(await statusLine(nginx.port, '/600'), 'HTTP/1.1 600 unknown');
  t.is(await statusLine(nginx.port, '/200'), 'HTTP/1.1 200 OK');
});

// A real nginx in front of the FastCGI host passes the app's status line on: statuses past 599 and
// the `reason` extension reach the client as the app sent them.
import test from 'ava';
import type { App, HttpScope } from '../../src/gateway/types.js';
import { requireNginx, startExampleFastCGI } from '../helpers/nginx.js';
import { statusLine } from '../helpers/server.js';

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
  const { nginx } = await startExampleFastCGI(t, app);
  t.is(await statusLine(nginx.port, '/299/Custom%20Thing'), 'HTTP/1.1 299 Custom Thing', nginx.log());
  t.is(await statusLine(nginx.port, '/200/ok'), 'HTTP/1.1 200 ok');
  t.is(await statusLine(nginx.port, '/600'), 'HTTP/1.1 600 unknown');
  t.is(await statusLine(nginx.port, '/200'), 'HTTP/1.1 200 OK');
});

// WebSocket through a real nginx with the upgrade headers from examples/nginx/proxy.conf.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { WebSocket } from 'ws';
import type { App } from '../../src/gateway/types.js';
import { serve } from '../../src/server/http.js';
import { requireNginx, startNginx } from '../helpers/nginx.js';

const example = readFileSync(new URL('../../examples/nginx/proxy.conf', import.meta.url), 'utf8');

const app: App = async (scope, receive, send) => {
  if (scope.type === 'websocket') {
    await receive();
    await send({ type: 'websocket.accept' });
    for (;;) {
      const m = await receive();
      if (m.type !== 'websocket.receive') return;
      await send({ type: 'websocket.send', text: `echo ${m.text ?? ''} via ${scope.scheme}` });
    }
  }
  if (scope.type !== 'http') return;
  await send({ type: 'http.response.start', status: 200 });
  await send({ type: 'http.response.body', body: Buffer.from('plain') });
};

test('a WebSocket upgrade passes through nginx proxy_pass, and plain requests still work', async (t) => {
  if (!requireNginx(t)) return;
  const server = await serve(app, { port: 0, lifespan: 'off', logLevel: 'silent' });
  t.teardown(() => server.close());
  const nginx = await startNginx(
    (port) =>
      example
        .replace('listen 80;', `listen 127.0.0.1:${port};`)
        .replace('127.0.0.1:8001', `127.0.0.1:${server.port}`)
        .replace(/\n\s*server 127\.0\.0\.1:8002[^\n]*/, ''),
    t,
  );
  t.is(await (await fetch(`${nginx.url}/`)).text(), 'plain');
  const ws = new WebSocket(`ws://127.0.0.1:${nginx.port}/chat`);
  t.teardown(() => ws.terminate());
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const reply = new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data))));
  ws.send('hi');
  t.is(await reply, 'echo hi via ws');
});

// Peer (c): hello world with Hono on @hono/node-server, the usual way to host a fetch app on node:http.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { announce, HELLO } from './ready.js';

const app = new Hono();
app.get('/', (c) => c.text(HELLO));
const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => {
  announce(
    info.port,
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  );
});

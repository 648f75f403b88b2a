// Peer (a): hello world on plain node:http, the ceiling for any node:http host.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { announce, CONTENT_TYPE, HELLO } from './ready.js';

const body = Buffer.from(HELLO);
const headers = { 'content-type': CONTENT_TYPE, 'content-length': String(body.length) };
const server = http.createServer((_req, res) => {
  res.writeHead(200, headers);
  res.end(body);
});
server.listen(0, '127.0.0.1', () => {
  announce(
    (server.address() as AddressInfo).port,
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
});

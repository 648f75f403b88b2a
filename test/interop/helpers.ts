// Shared bits for the interop tests: a quiet albany server around an app, and a raw HTTP exchange.
import net from 'node:net';
import type { App } from '../../src/gateway/types.js';
import { serve, type AlbanyServer } from '../../src/server/http.js';
import type { ServerOptions } from '../../src/server/options.js';

/** Serves `app` on 127.0.0.1:0 for the duration of `fn` (quiet, no lifespan; `options` on top). */
export async function withAlbany<T>(
  app: App,
  fn: (url: string, server: AlbanyServer) => Promise<T>,
  options: ServerOptions = {},
): Promise<T> {
  const server = await serve(app, {
    host: '127.0.0.1',
    port: 0,
    logLevel: 'silent',
    lifespan: 'off',
    gracefulTimeoutMs: 1000,
    ...options,
  });
  try {
    return await fn(server.url, server);
  } finally {
    await server.close();
  }
}

/** Sends `request` bytes on a fresh socket and resolves with everything the server wrote until it closed. */
export function rawExchange(port: number, request: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(data);
    }, timeoutMs);
    socket.on('data', (d) => (data += d.toString('latin1')));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(data);
    });
    socket.on('error', reject);
  });
}

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

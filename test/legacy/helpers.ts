// Shared bits of the legacy tests: fixture URLs and a real server around an App for the span of one test.
import { serve } from '../../src/server/http.js';
import type { App } from '../../src/gateway/types.js';

/** URL of a handler module in test/fixtures/legacy/. */
export function fixture(name: string): URL {
  return new URL(`../fixtures/legacy/${name}`, import.meta.url);
}

/** Serves `app` on 127.0.0.1:0, runs `fn` with its base URL, then closes the server (and the app's pool). */
export async function withServer<T>(
  app: App & { close?: () => Promise<void> },
  fn: (url: string) => Promise<T>,
): Promise<T> {
  const server = await serve(app, { host: '127.0.0.1', port: 0 });
  try {
    return await fn(server.url);
  } finally {
    await Promise.race([server.close(), new Promise((r) => setTimeout(r, 3000))]);
    await app.close?.();
  }
}

/** Sleeps without blocking. */
export const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

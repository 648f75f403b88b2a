// Shared bits of the pool tests: a task for the misbehaving WSGI fixture, and waiting on a pool's state.
import type { LegacyPool } from '../../src/pool/pool.js';
import type { LegacyTask, MountSpec } from '../../src/pool/protocol.js';

/** A mount of the default export style of a fixture module (path relative to test/fixtures/), default flow control. */
export function fixtureMount(path: string): MountSpec {
  return {
    moduleUrl: new URL(`../fixtures/${path}`, import.meta.url).href,
    exportName: undefined,
    style: undefined,
    ackBytes: 1 << 20,
    ackMessages: 64,
  };
}

const mount = fixtureMount('legacy/faults.ts');

/** A GET of `path` (with its `?query`) for test/fixtures/legacy/faults.ts, with an optional body. */
export function task(path: string, body: Uint8Array = new Uint8Array(0)): LegacyTask {
  const [pathname = path, query = ''] = path.split('?');
  return {
    mount,
    request: {
      method: 'GET',
      url: path,
      path: pathname,
      rootPath: '',
      queryString: query,
      scheme: 'http',
      httpVersion: '1.1',
      server: ['127.0.0.1', 80],
      client: null,
      headers: [],
    },
    body,
    more: false,
  };
}

/** Runs `path` on `pool`, optionally under an abort signal. */
export function run(pool: LegacyPool, path: string, signal?: AbortSignal) {
  return pool.run(task(path), { signal });
}

/** Resolves once `check` holds, polling every few milliseconds (fails after `ms`). */
export async function until(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

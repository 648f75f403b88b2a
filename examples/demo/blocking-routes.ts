// Two routes doing the same CPU-bound work: /block on the event loop (the blocking detector reports
// it, with the offload() call to fix it), /unblocked through offload() in the pool (never reported).
import type { App, HttpScope } from '../../src/index.js';
import type { LegacyPool } from '../../src/pool/legacy-pool.js';
import { offload } from '../../src/pool/offload.js';
import { busyChecksum } from './busy-work.js';

function milliseconds(scope: HttpScope): number {
  return Number(new URLSearchParams(scope.queryString).get('ms') ?? 200) || 200;
}

async function answer(
  send: Parameters<App>[2],
  where: string,
  result: { checksum: number; rounds: number },
): Promise<void> {
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'application/json']] });
  await send({
    type: 'http.response.body',
    body: new TextEncoder().encode(`${JSON.stringify({ where, ...result })}\n`),
  });
}

/** GET /block?ms=200 → the work on the event loop: every other request waits, and the detector says so. */
export const block: App = async (scope, _receive, send) => {
  // mount() hands lifespan to every app too: only a request does the work.
  if (scope.type !== 'http') return;
  await answer(send, 'event loop', busyChecksum(milliseconds(scope)));
};

/** GET /unblocked?ms=200 → the same work moved to `pool` with offload(), as the detector's line advises. */
export function unblocked(pool: LegacyPool): App {
  const checksum = offload<typeof busyChecksum>(new URL('./busy-work.ts', import.meta.url), 'busyChecksum', { pool });
  return async (scope, _receive, send) => {
    if (scope.type !== 'http') return;
    await answer(send, 'pool', await checksum(milliseconds(scope)));
  };
}

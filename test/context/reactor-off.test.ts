// With the request context off (enableContext never called, context() never called on the main
// thread), a legacy handler's reactor calls work as before and context() in the reactor is undefined.
import { threadId } from 'node:worker_threads';
import test from 'ava';
import { legacy } from '../../legacy-adapter/index.js';
import { createPool } from '../../src/pool/pool.js';
import { contextState } from '../../src/context/state.js';
import { syncify } from '../../src/sync/run-sync.js';
import { startServer } from '../helpers/server.js';
import type * as Exports from '../fixtures/context/reactor-exports.js';

const handlers = new URL('../fixtures/context/reactor-handlers.ts', import.meta.url);
const exportsUrl = new URL('../fixtures/context/reactor-exports.ts', import.meta.url);

interface Seen {
  threadId: number;
  ctx: unknown;
}

test.serial('with context off, reactor calls from a legacy handler work and see no context', async (t) => {
  const p = createPool(
    { maxThreads: 1, minThreads: 1, taskTimeoutMs: 60_000 },
    { name: 'ctx-off', configSources: false },
  );
  const handler = legacy(handlers, { export: 'viaReactor', pool: p });
  t.teardown(() => handler.close());
  const server = await startServer(t, handler);
  for (const id of ['off-1', 'off-2', 'off-3']) {
    const res = await fetch(server.url, { headers: { 'x-request-id': id } });
    const text = await res.text();
    t.is(res.status, 200, text);
    const body = JSON.parse(text) as Record<'byRunSync' | 'bySyncify' | 'byEventual', { before: Seen; after: Seen }> & {
      before: Seen;
      after: Seen;
    };
    t.is(body.before.ctx, null);
    t.is(body.after.ctx, null);
    for (const form of ['byRunSync', 'bySyncify', 'byEventual'] as const) {
      t.is(body[form].before.ctx, null, form);
      t.is(body[form].after.ctx, null, form);
      t.not(body[form].after.threadId, body.before.threadId, `${form} ran in the reactor`);
    }
  }
  // The main thread's own reactor too, and nothing turned context on along the way.
  const seen = syncify<typeof Exports.seenAfter>(exportsUrl, 'seenAfter');
  for (let i = 0; i < 3; i++) {
    const outside = seen(1);
    t.is(outside.after.ctx, null);
    t.not(outside.after.threadId, threadId);
  }
  // No AsyncLocalStorage was made in the reactor (its promise hooks would cost every call there) or here.
  t.false(syncify<typeof Exports.contextStoreMade>(exportsUrl, 'contextStoreMade')());
  t.is(contextState.storage, undefined);
  t.is(contextState.enter, undefined);
});

// The demo service `npm start` runs: async routes, blocking (legacy) routes in a worker pool, a
// runSync bridge from blocking code to a main-thread service, and a WebSocket echo — one server.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mount, type App } from '../../src/index.js';
import { legacy } from '../../legacy-adapter/index.js';
import { createPool } from '../../src/pool/pool.js';
import { provide } from '../../src/sync/index.js';
import { echoApp } from '../websocket/echo.js';
import { echo, health, hello, index, json, notFound, stream } from './async-routes.js';
import { block, unblocked } from './blocking-routes.js';

// Every legacy worker opens this sqlite file (workers copy the environment when they start).
process.env.ALBANY_DEMO_DB ??= join(tmpdir(), 'albany-demo-notes.sqlite');

// An object that lives on the main thread; legacy handlers reach it through runSync('visits.increment').
const visits = new Map<string, number>();
provide('visits.increment', async (page: string) => {
  const count = (visits.get(page) ?? 0) + 1;
  visits.set(page, count);
  return count;
});

// One pool shared by every legacy mount: two threads, requests past 64 queued get 503.
const pool = createPool({ minThreads: 1, maxThreads: 2, maxQueue: 64, taskTimeoutMs: 10_000 }, { name: 'demo' });
const pooled = (file: string) => legacy(new URL(`../legacy/${file}`, import.meta.url), { pool });

/** "/" and everything no other prefix owns: the index page, 404s, and the shared pool's shutdown. */
const site: App = async (scope, receive, send) => {
  if (scope.type === 'lifespan') {
    // mount() sends lifespan to every mounted app; the pool is shared, so this one closes it.
    for (;;) {
      const m = await receive();
      if (m.type === 'lifespan.startup') await send({ type: 'lifespan.startup.complete' });
      else if (m.type === 'lifespan.shutdown') {
        await pool.close();
        return send({ type: 'lifespan.shutdown.complete' });
      }
    }
  }
  return scope.type === 'http' && scope.path === '/' ? index(scope, receive, send) : notFound(scope, receive, send);
};

/** The demo app: async routes, legacy routes and a WebSocket echo behind one prefix router. */
const app: App = mount({
  '/hello': hello,
  '/json': json,
  '/stream': stream,
  '/echo': echo,
  '/health': health,
  '/ws': echoApp,
  '/block': block,
  '/unblocked': unblocked(pool),
  '/legacy/notes': pooled('notes.ts'),
  '/legacy/report': pooled('report.ts'),
  '/legacy/wsgi': pooled('wsgi-hello.ts'),
  '/legacy/visits': pooled('visits.ts'),
  '/': site,
});
export default app;

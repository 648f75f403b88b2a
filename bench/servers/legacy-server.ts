// One bench:legacy server peer, run as a bundled child process (see bench/legacy.ts). The scenario,
// the handler modules and the (bundled) legacy worker come from the environment:
//   LEGACY_SCENARIO, LEGACY_MODULES (JSON name → file URL), LEGACY_WORKER (worker entry path).
import { Piscina } from 'piscina';
import type { App } from '../../src/gateway/types.js';
import { serve } from '../../src/server/http.js';
import { legacy } from '../../legacy-adapter/index.js';
import { createPool } from '../../src/pool/pool.js';
import { announce } from './ready.js';

export type LegacyScenario =
  | 'async'
  | 'legacy'
  | 'naive'
  | 'cpu-legacy'
  | 'cpu-inline'
  | 'mixed-legacy'
  | 'mixed-inline'
  | 'reject'
  | 'sleep-legacy';

const scenario = process.env.LEGACY_SCENARIO as LegacyScenario;
const modules = JSON.parse(process.env.LEGACY_MODULES ?? '{}') as Record<string, string>;
const workerFile = process.env.LEGACY_WORKER;
const THREADS = Number(process.env.LEGACY_THREADS ?? 2);

const text = (body: string): App => {
  const bytes = Buffer.from(body);
  const headers: Array<[string, string]> = [['content-type', 'text/plain']];
  return async (_scope, _receive, send) => {
    await send({ type: 'http.response.start', status: 200, headers });
    await send({ type: 'http.response.body', body: bytes });
  };
};

function spin5(): void {
  const until = performance.now() + 5;
  while (performance.now() < until) {
    /* the same 5 ms the legacy handler burns */
  }
}

// The plain peers ignore lifespan quietly, as the legacy App does, so the server logs nothing.
const withLifespan =
  (app: App): App =>
  async (scope, receive, send) => {
    if (scope.type !== 'lifespan') return app(scope, receive, send);
    for (;;) {
      const m = await receive();
      if (m.type === 'lifespan.startup') await send({ type: 'lifespan.startup.complete' });
      else {
        await send({ type: 'lifespan.shutdown.complete' });
        return;
      }
    }
  };

const health = text('ok');
const withHealth =
  (work: App): App =>
  async (scope, receive, send) => {
    if (scope.type === 'http' && scope.path === '/health') return health(scope, receive, send);
    return work(scope, receive, send);
  };

// LEGACY_MAX_BATCH: the pool's maxBatch (bench:legacy's mixed section compares 1 with the default).
const maxBatch = process.env.LEGACY_MAX_BATCH ? { maxBatch: Number(process.env.LEGACY_MAX_BATCH) } : {};
const pool = (config: Parameters<typeof createPool>[0]) =>
  createPool(config, { ...maxBatch, ...(workerFile ? { filename: workerFile } : {}) });

function buildApp(): App & { close?: () => Promise<void> } {
  const pool2 = { maxThreads: THREADS, minThreads: THREADS, maxQueue: 100_000, taskTimeoutMs: 0 };
  const hello = text('hello');
  const done = text('done');
  switch (scenario) {
    case 'async':
      return withLifespan(hello);
    case 'legacy':
      return legacy(modules.trivial!, { pool: pool(pool2) });
    case 'naive': {
      // The obvious way: one `await piscina.run()` per request, same thread count, piscina defaults.
      const piscina = new Piscina({ filename: modules.naive!, maxThreads: THREADS, minThreads: THREADS });
      return Object.assign(
        withLifespan(async (scope, receive, send) => {
          const body = (await piscina.run(scope.type === 'http' ? scope.path : '')) as string;
          await text(body)(scope, receive, send);
          // No close: piscina would reject requests autocannon left in flight, and the process exits anyway.
        }),
        { close: async () => {} },
      );
    }
    case 'cpu-legacy':
      return legacy(modules.cpu!, { pool: pool(pool2) });
    case 'cpu-inline':
      return withLifespan(async (scope, receive, send) => {
        spin5();
        await done(scope, receive, send);
      });
    case 'mixed-legacy':
      return withHealth(legacy(modules.cpu!, { pool: pool(pool2) }));
    case 'mixed-inline':
      return withLifespan(
        withHealth(async (scope, receive, send) => {
          spin5();
          await done(scope, receive, send);
        }),
      );
    // Blocking handlers (Atomics.wait for ?ms=): the scheduling benches, with the default maxBatch.
    case 'sleep-legacy':
      return legacy(modules.sleep!, { pool: pool(pool2) });
    case 'reject':
      return legacy(modules.long!, {
        pool: pool({ maxThreads: 1, minThreads: 1, maxQueue: 1, taskTimeoutMs: 0 }),
        log: () => {},
      });
  }
}

const app = buildApp();
// `--block-threshold=MS` sets the blocking detector (0: off), as in bench/servers/albany.ts. Under valgrind only one
// thread runs at a time, so while a pool thread runs the loop looks blocked and the detector fires and captures stacks
// (inspector work on every request) that it never would with real cores: bench:instructions runs this peer with it off.
const thresholdArg = process.argv.find((a) => a.startsWith('--block-threshold='));
const blockThresholdMs =
  thresholdArg === undefined ? undefined : Number(thresholdArg.slice('--block-threshold='.length));
const server = await serve(app, { host: '127.0.0.1', port: 0, logLevel: 'warn', blockThresholdMs });
process.on('message', (msg: { type: string }) => {
  if (msg.type === 'rss') {
    (globalThis as { gc?: () => void }).gc?.();
    // heapUsed beside RSS: what the heap holds after a full collection, apart from the space V8 keeps.
    const { rss, heapUsed } = process.memoryUsage();
    process.send!({ type: 'rss', rss, heapUsed });
  }
});
announce(server.port, async () => {
  await server.close();
  await app.close?.();
});

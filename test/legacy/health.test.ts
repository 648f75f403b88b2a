import test from 'ava';
import type { App } from '../../src/gateway/types.js';
import { legacy } from '../../legacy-adapter/index.js';
import { delay, fixture, withServer } from './helpers.js';

test.serial('the async /health route answers while every legacy worker is stuck in a blocking loop', async (t) => {
  const blocking = legacy(fixture('faults.ts'), { pool: { maxThreads: 2, minThreads: 2 } });
  const app: App & { close: () => Promise<void> } = Object.assign(
    async (...[scope, receive, send]: Parameters<App>) => {
      if (scope.type === 'http' && scope.path === '/health') {
        await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
        await send({ type: 'http.response.body', body: Buffer.from('ok') });
        return;
      }
      return blocking(scope, receive, send);
    },
    { close: () => blocking.close() },
  );
  await withServer(app, async (url) => {
    await fetch(`${url}/ok`); // warm a worker up (first import compiles the module)
    const busy = [fetch(`${url}/spin?ms=1500`), fetch(`${url}/spin?ms=1500`)];
    await delay(300);
    t.is(blocking.pool.stats().running, 2, 'every worker is busy');
    const started = performance.now();
    const res = await fetch(`${url}/health`);
    const elapsed = performance.now() - started;
    t.is(await res.text(), 'ok');
    t.true(elapsed < 500, `health took ${elapsed.toFixed(1)} ms`);
    t.deepEqual(
      (await Promise.all(busy)).map((r) => r.status),
      [200, 200],
    );
  });
});

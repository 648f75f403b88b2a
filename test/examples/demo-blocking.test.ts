// The demo (`npm start`) shows the blocking detector: /block is reported with the offload() call for
// busy-work.ts, /unblocked (the same work through offload()) is not.
import test from 'ava';
import { serve } from '../../src/server/http.js';
import type { Logger } from '../../src/server/options.js';
import app from '../../examples/demo/app.js';

test('the demo reports GET /block with busy-work.ts:line and the offload() call, and not GET /unblocked', async (t) => {
  const warnings: string[] = [];
  const logger: Logger = { debug() {}, info() {}, error() {}, warn: (line) => void warnings.push(line) };
  const server = await serve(app, { port: 0, logger, blockThresholdMs: 100 });
  t.teardown(() => server.close());
  // Warm the pool and the lazily loaded paths first (on a loaded machine their first run can block
  // the loop past 100 ms, and is rightly reported), so the lines below come from the two routes.
  t.is((await fetch(`${server.url}/unblocked?ms=1`)).status, 200);

  const blocked = (await (await fetch(`${server.url}/block?ms=300`)).json()) as { where: string; rounds: number };
  t.is(blocked.where, 'event loop');
  await new Promise((resolve) => setTimeout(resolve, 50));
  const line = warnings.find((w) => w.includes('GET /block?ms=300'));
  t.truthy(line, warnings.join('\n'));
  t.regex(
    line!,
    /at busyChecksum \(examples\/demo\/busy-work\.ts:\d+:\d+\) <- (?:\w+\.)?block \(examples\/demo\/blocking-routes\.ts:\d+:\d+\)/,
  );
  t.true(line!.includes(`await offload(new URL('./busy-work.ts', import.meta.url), 'busyChecksum')(...args)`), line);

  const offloaded = (await (await fetch(`${server.url}/unblocked?ms=300`)).json()) as { where: string; rounds: number };
  t.is(offloaded.where, 'pool');
  t.true(offloaded.rounds > 0);
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.deepEqual(
    warnings.filter((w) => w.includes('GET /unblocked?ms=300')),
    [],
  );
});

// A legacy handler's timers, as real handlers use them (test/fixtures/legacy/timers.mjs): a timer
// left behind that throws fails its own request whichever way it was made (the worker counts timer
// calls instead of listing every active resource after each request: timer-watch.ts), and handlers
// that make and clear timers, or promisify setTimeout, see the functions they expect.
import test from 'ava';
import { legacy } from '../../legacy-adapter/index.js';
import { fixture, withServer } from './helpers.js';

const quietLog = (): void => {};

for (const [kind, what] of [
  ['imported-immediate-throw', 'setImmediate'],
  ['imported-timeout-throw', 'setTimeout'],
]) {
  test.serial(`a throwing ${what} imported from node:timers and left behind fails that request only`, async (t) => {
    const app = legacy(fixture('timers.mjs'), { pool: { maxThreads: 1, minThreads: 1 }, log: quietLog });
    await withServer(app, async (url) => {
      const first = await fetch(`${url}/tid`);
      t.is(first.status, 200);
      const before = await first.text();
      t.is((await fetch(`${url}/${kind}`)).status, 500);
      const next = await fetch(`${url}/tid`);
      t.is(next.status, 200);
      // The throw took its thread down with it: a fresh one answers.
      t.not(await next.text(), before);
    });
  });
}

test.serial('timers made and cleared, and a promisified setTimeout, leave every request answered', async (t) => {
  const app = legacy(fixture('timers.mjs'), { pool: { maxThreads: 1, minThreads: 1 }, log: quietLog });
  await withServer(app, async (url) => {
    const tid = await (await fetch(`${url}/tid`)).text();
    const answers = await Promise.all(
      ['/made-and-cleared', '/promisified', '/made-and-cleared', '/tid'].map(async (path) => {
        const res = await fetch(`${url}${path}`);
        return [res.status, await res.text()] as const;
      }),
    );
    t.deepEqual(answers, [
      [200, 'ok /made-and-cleared'],
      [200, 'custom setTimeout setTimeout'],
      [200, 'ok /made-and-cleared'],
      [200, tid],
    ]);
  });
});

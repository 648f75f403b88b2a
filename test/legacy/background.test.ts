// A legacy thread's own event loop keeps running while requests keep it busy: timers its module set
// up and microtasks its handlers queued run between requests, however long the load lasts (a worker
// that goes from one batch to the next without returning to its event loop must still give it turns).
import test from 'ava';
import { legacy } from '../../legacy-adapter/index.js';
import { fixture, withServer } from './helpers.js';

interface Seen {
  threadId: number;
  ticks: number;
  queued: number;
  ran: number;
}

test('module timers and handler microtasks run on a legacy thread under sustained load', async (t) => {
  const app = legacy(fixture('background.ts'), { pool: { minThreads: 1, maxThreads: 1 } });
  await withServer(app, async (url) => {
    // The first request loads the module on the thread (seconds on a loaded machine): not timed.
    t.is((await fetch(url)).status, 200);
    const seen: Seen[] = [];
    const until = Date.now() + 1500;
    // Eight clients, each sending its next request as soon as the last is answered: the thread is
    // never idle long enough to leave a batch loop on its own.
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (Date.now() < until) {
          const res = await fetch(url);
          t.is(res.status, 200);
          seen.push((await res.json()) as Seen);
        }
      }),
    );
    t.true(seen.length > 20, `only ${seen.length} requests answered`);
    const first = seen[0]!;
    const last = seen.at(-1)!;
    // A 10 ms interval fires once per turn of the thread's event loop: 150 times in 1.5 s on an idle
    // thread, ~7 with a turn every 200 ms under load (workers/legacy-worker.ts LOOP_TURN_MS), none
    // if the loop never gets one. At least 3: a turn at least every half second.
    const ticked = last.ticks - first.ticks;
    t.true(ticked >= 3, `the module's interval ticked ${ticked} times in 1.5 s`);
    // Microtasks the handlers queued run at those turns too: at the end, at most the last turn's
    // worth (200 ms of 1.5 s) is still waiting; at least half of the window's have run.
    const queued = last.queued - first.queued;
    const ran = last.ran - first.ran;
    t.true(ran >= queued / 2, `${ran} of the ${queued} microtasks handlers queued in 1.5 s have run`);
  });
});

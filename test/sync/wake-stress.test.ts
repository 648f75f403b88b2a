// Stress for the wake-up protocol between callers and the reactor: many back-to-back small calls
// (the shared lane, where a post and a reply are each one counter bump and one notify) from several
// threads at once, with calls that time out in between. Each worker's reactor parks for good while
// idle (idleSliceMs 10 min), so a missed wake-up of the reactor hangs it and a caller's call times out;
// each caller's first sleep, normally capped at 5 ms, is uncapped (10 min, past the calls' 20 s
// timeout), so a missed wake-up of a caller stalls its call for seconds, which the worker reports,
// instead of costing 5 ms (checked: with the cap left at 5 ms, dropping every 200th reactor notify passes).
import test from 'ava';
import { configureSync, reactorHandle } from '../../src/sync/index.js';
import { syncDefaults } from '../../src/sync/options.js';
import { tsWorker } from '../fixtures/sync/ts-worker.js';

const THREADS = 4;
const CALLS = 1500;
const TIMEOUT_EVERY = 100;

interface Report {
  readonly problem: string | undefined;
  readonly done: number;
  readonly timeouts: number;
}

async function hammer(shared: boolean): Promise<Report[]> {
  const workers = Array.from({ length: THREADS }, (_, index) => {
    const reactor = shared ? reactorHandle() : undefined;
    return tsWorker(new URL('../fixtures/sync/echo-hammer.ts', import.meta.url), {
      workerData: { index, calls: CALLS, timeoutEvery: TIMEOUT_EVERY, reactor, firstSleepCapMs: 600_000 },
      transferList: reactor === undefined ? [] : [reactor.port],
    });
  });
  try {
    return await Promise.all(
      workers.map(
        (w) =>
          new Promise<Report>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error('a worker made no progress in 50 s')), 50_000);
            w.once('message', (m: Report) => {
              clearTimeout(timer);
              resolve(m);
            });
            w.once('error', reject);
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

function check(t: import('ava').ExecutionContext, reports: Report[]): void {
  for (const [index, r] of reports.entries()) {
    t.is(r.problem, undefined, `worker ${index}`);
    t.is(r.done, CALLS);
    t.is(r.timeouts, CALLS / TIMEOUT_EVERY, `worker ${index}: every slow call timed out, none early`);
  }
}

test.serial(`${THREADS} threads × ${CALLS} back-to-back lane calls, a reactor each, every answer right`, async (t) => {
  check(t, await hammer(false));
});

test.serial(
  `${THREADS} threads × ${CALLS} back-to-back lane calls on one shared reactor, every answer right`,
  async (t) => {
    // The shared reactor is this thread's: started here, after its idle slice is made long.
    const before = syncDefaults().idleSliceMs;
    configureSync({ idleSliceMs: 600_000 });
    try {
      check(t, await hammer(true));
    } finally {
      configureSync({ idleSliceMs: before });
    }
  },
);

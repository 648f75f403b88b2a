// A ticket's outcome reaches a listener's onSettled without a promise, and `result` asked for before
// or after it settles says the same; listeners are told in a microtask, a batch's tickets together.
import test from 'ava';
import { hasCode } from '../../src/errors.js';
import { createPool } from '../../src/pool/pool.js';
import type { TaskResult, WorkerMessage } from '../../src/pool/protocol.js';
import type { TicketListener } from '../../src/pool/ticket.js';
import { task } from './helpers.js';

const quietLog = (): void => {};
const text = (body: Uint8Array | undefined): string => Buffer.from(body!).toString();

/** A listener that records what it was told, in order. */
function recorder(): TicketListener & { told: Array<{ result: TaskResult | undefined; error: unknown }> } {
  const told: Array<{ result: TaskResult | undefined; error: unknown }> = [];
  return {
    told,
    onWorkerMessage(_message: WorkerMessage): void {},
    onSettled(result, error) {
      told.push({ result, error });
    },
  };
}

test.serial('onSettled gets the result once, and result asked for afterwards resolves with the same', async (t) => {
  const pool = createPool({ maxThreads: 1, minThreads: 1 }, { log: quietLog });
  try {
    const listener = recorder();
    const ticket = pool.dispatch(task('/ok'), listener);
    const deadline = Date.now() + 10_000;
    while (listener.told.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    t.is(listener.told.length, 1);
    t.is(listener.told[0]!.error, undefined);
    t.is(text(listener.told[0]!.result!.body), 'ok /ok');
    t.is(ticket.stage, 'finished');
    // The promise is made now, after the fact, and holds the same result object.
    t.is(await ticket.result, listener.told[0]!.result!);
    t.is(ticket.result, ticket.result, 'one promise, kept');
    t.is(listener.told.length, 1, 'told once');
  } finally {
    await pool.close();
  }
});

test.serial('with result asked for first, its reactions run before onSettled', async (t) => {
  const pool = createPool({ maxThreads: 1, minThreads: 1 }, { log: quietLog });
  try {
    const order: string[] = [];
    const listener: TicketListener = {
      onWorkerMessage(): void {},
      onSettled(result) {
        order.push(`listener ${text(result!.body)}`);
      },
    };
    const ticket = pool.dispatch(task('/ok'), listener);
    const settled = ticket.result.then((result) => {
      order.push(`result ${text(result.body)}`);
    });
    await settled;
    // onSettled follows on the same promise: give it its turn.
    await new Promise((r) => setImmediate(r));
    t.deepEqual(order, ['result ok /ok', 'listener ok /ok']);
  } finally {
    await pool.close();
  }
});

test.serial('a refused dispatch tells the listener in a microtask, and its result rejects alike', async (t) => {
  const pool = createPool({ maxThreads: 1, minThreads: 1 }, { log: quietLog });
  await pool.close();
  const listener = recorder();
  const ticket = pool.dispatch(task('/ok'), listener);
  t.is(listener.told.length, 0, 'not during dispatch');
  await Promise.resolve();
  t.is(listener.told.length, 1, 'told at the next microtask');
  t.is(listener.told[0]!.result, undefined);
  t.true(hasCode(listener.told[0]!.error, 'ERR_ALBANY_ABORTED'), String(listener.told[0]!.error));
  const err = await t.throwsAsync(ticket.result);
  t.is(err, listener.told[0]!.error as Error);
});

import test from 'ava';
import { spinBackoff } from '../../src/sync/channel.js';
import { CallTable } from '../../src/sync/call-table.js';
import { runInReactor, syncify } from '../../src/sync/index.js';

const probe = `data:text/javascript,${encodeURIComponent(`
  export async function later(v, ms) { await new Promise((r) => setTimeout(r, ms)); return v; }
  export async function echo(v) { return v; }
`)}`;

const call = (id: number) => ({ id, name: `call ${id}` });

test('the call table finds, forgets and lists calls whichever order they were added and removed in', (t) => {
  const table = new CallTable<ReturnType<typeof call>>();
  t.is(table.get(1), undefined);
  t.deepEqual(table.values(), []);
  table.add(call(1));
  t.is(table.get(1)?.name, 'call 1');
  table.add(call(2));
  table.add(call(3));
  t.deepEqual(
    table
      .values()
      .map((c) => c.id)
      .sort(),
    [1, 2, 3],
  );
  // Oldest first, then the newest, then one in the middle: each leaves the others findable.
  table.delete(1);
  t.is(table.get(1), undefined);
  t.is(table.get(2)?.name, 'call 2');
  table.delete(3);
  t.is(table.get(3), undefined);
  t.is(table.get(2)?.name, 'call 2');
  table.add(call(4));
  table.delete(2);
  t.deepEqual(
    table.values().map((c) => c.id),
    [4],
  );
  table.delete(99); // unknown ids are ignored
  table.clear();
  t.deepEqual(table.values(), []);
  t.is(table.get(4), undefined);
});

test('a blocking call settles while other calls of this thread are still in flight, and they settle after it', async (t) => {
  const slow = runInReactor<string>(probe, 'later', ['slow', 200]);
  const slower = runInReactor<string>(probe, 'later', ['slower', 300]);
  const echo = syncify<(v: string) => Promise<string>>(probe, 'echo');
  t.is(echo('now'), 'now');
  t.is(echo('again'), 'again');
  t.is(slow.wait(5000), 'slow');
  t.is(await slower, 'slower');
});

test('spins that keep missing are skipped for longer, up to a bound', (t) => {
  t.deepEqual([0, 1, 2, 5, 6, 7, 100].map(spinBackoff), [32, 64, 128, 1024, 2048, 2048, 2048]);
});

// The pool's list of batches out (src/pool/batch-list.ts): O(1) removal by the slot each batch
// carries, nothing left behind, and removing a batch twice (or one never added) changes nothing.
import test from 'ava';
import { BatchList } from '../../src/pool/batch-list.js';
import type { Batch } from '../../src/pool/ticket.js';

// Only `slot` is read by the list; the rest of a Batch is the pool's business.
const batch = (): Batch => ({ slot: -1 }) as Batch;

test('batches removed from the middle, the front and the end leave exactly the others, slots kept true', (t) => {
  const list = new BatchList();
  const b = Array.from({ length: 6 }, batch);
  for (const x of b) list.add(x);
  t.is(list.size, 6);
  list.delete(b[2]!);
  list.delete(b[0]!);
  list.delete(b[5]!);
  t.is(list.size, 3);
  for (const kept of [b[1], b[3], b[4]]) t.true(list.list.includes(kept!));
  for (let i = 0; i < list.list.length; i++) t.is(list.list[i]!.slot, i);
  for (const gone of [b[0]!, b[2]!, b[5]!]) t.is(gone.slot, -1);
});

test('removing a batch twice, or one never added, leaves the list as it was', (t) => {
  const list = new BatchList();
  const [a, b, c] = [batch(), batch(), batch()];
  list.add(a);
  list.add(b);
  list.delete(a);
  list.delete(a);
  list.delete(c);
  t.is(list.list.length, 1);
  t.is(list.list[0], b);
  t.is(b.slot, 0);
  // A batch taken out and handed out again gets a fresh slot.
  list.add(a);
  t.is(list.list[1], a);
  t.is(a.slot, 1);
});

test('the list array is the same object for the life of the pool (the sweep and channels keep it)', (t) => {
  const list = new BatchList();
  const held = list.list;
  const x = batch();
  list.add(x);
  list.delete(x);
  list.add(batch());
  t.is(list.list, held);
  t.is(held.length, 1);
});

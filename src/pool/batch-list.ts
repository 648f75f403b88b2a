// The batches a pool has out, in an array rather than a Set. A Set that takes one batch in and one
// out per hand-off rehashes into a fresh table every few batches, and V8 leaves each old table
// pointing at its successor (for iterators still walking it) with the batches it held. Once one old
// table is promoted, every later table, its batches, their tickets and the requests they carry
// (the exchange, its scope, node's request and response) stay alive through every scavenge until
// the next full GC, and are promoted in turn: under the legacy bench's steady load ~0.8 MB more old
// space after every scavenge, a full GC every ~15k requests, and allocation sites pretenured (which
// deoptimizes the code that allocates there). With the array nothing links one batch to the next.
import type { Batch } from './ticket.js';

/** The batches a pool has handed out and not yet released, in no particular order. */
export class BatchList {
  readonly #list: Batch[] = [];

  /**
   * The batches, as one array for the life of the pool (its holders may keep it). Read it only:
   * {@link delete} moves the last batch into the gap, so nothing may be added or deleted while a
   * loop walks it (the sweep, take-back and harvest only read and settle).
   */
  get list(): readonly Batch[] {
    return this.#list;
  }

  /** How many batches are out. */
  get size(): number {
    return this.#list.length;
  }

  /** Adds a batch that is not in the list. */
  add(batch: Batch): void {
    batch.slot = this.#list.push(batch) - 1;
  }

  /** Removes `batch` if it is in the list, in O(1). */
  delete(batch: Batch): void {
    const list = this.#list;
    const i = batch.slot;
    if (i < 0 || list[i] !== batch) return;
    const last = list.pop()!;
    if (last !== batch) {
      list[i] = last;
      last.slot = i;
    }
    batch.slot = -1;
  }
}

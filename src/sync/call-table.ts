// The calls a thread has in flight, by id, on both ends of a reactor connection. Nearly always there
// is one: a Map would grow a table for it and shrink it back on every call (two allocations and a
// rehash each time), so the latest call sits in a field and only the others go to a Map.

/** Calls in flight by id; see the file header. */
export class CallTable<T extends { readonly id: number }> {
  #last: T | undefined;
  #more: Map<number, T> | undefined;

  /** Adds `call` (its id is new). */
  add(call: T): void {
    const last = this.#last;
    if (last !== undefined) (this.#more ??= new Map()).set(last.id, last);
    this.#last = call;
  }

  /** The call with this id, or undefined. */
  get(id: number): T | undefined {
    const last = this.#last;
    if (last !== undefined && last.id === id) return last;
    return this.#more?.get(id);
  }

  /** Forgets the call with this id (if any). */
  delete(id: number): void {
    const last = this.#last;
    if (last !== undefined && last.id === id) this.#last = undefined;
    else this.#more?.delete(id);
  }

  /** Every call in flight, in no particular order. */
  values(): T[] {
    const all = this.#more === undefined ? [] : [...this.#more.values()];
    if (this.#last !== undefined) all.push(this.#last);
    return all;
  }

  /** Forgets every call. */
  clear(): void {
    this.#last = undefined;
    this.#more = undefined;
  }
}

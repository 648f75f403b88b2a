// Work conservation under batched hand-offs. A batch is an offer, not a commitment: while a thread
// is free (or could be started) and nothing waits in the pool's own queue, requests a busy thread
// has not started yet are taken back (compareExchange queued → stolen, which the worker skips like a
// cancelled request) and handed to the free thread. Batching keeps its gain for trivial handlers
// (many requests per hand-off), and a slow handler no longer holds the requests queued behind it.
import { TaskState, startedAtIndex, stateIndex } from './protocol.js';
import type { Batch, Ticket } from './ticket.js';

/**
 * A request that has run this long holds its thread for real (a trivial handler takes tens of
 * microseconds): the requests queued behind it in its batch are taken back for a free thread even
 * when newer ones wait in the pool's queue, since a FIFO queue would start them first. Below it, a
 * batch is left to finish on its own thread; moving requests costs a hand-off each.
 */
export const STUCK_MS = 1;

/**
 * True when `batch` still carries its `i`-th request: a request taken back belongs to the batch it
 * went to next, and whatever its first batch reports about it (no result, a dead thread) is ignored.
 */
export function owns(batch: Batch, i: number): boolean {
  return batch.tickets[i]!.batch === batch;
}

/**
 * Takes back, from the batch out that holds the most requests not yet started, the share one free
 * thread should run, and returns them in arrival order (empty when nothing is worth moving). The
 * share is half of what the batch has not started: rounded up when its thread is running one of
 * its requests (the rest wait behind it, possibly for long), rounded down when its thread is not
 * running any yet (it is starting, or between two requests), so a batch is never emptied under a
 * thread about to start it. From a busy batch the oldest are taken, as a FIFO queue would start
 * them; otherwise the newest, leaving the front to the thread that will start it.
 *
 * Each request is won with a compareExchange: the worker may start it at the same moment, and
 * then it simply stays where it was.
 */
export function takeBack(active: Iterable<Batch>): Ticket[] {
  let victim: Batch | undefined;
  let share = 0;
  let fromFront = false;
  for (const batch of active) {
    let waiting = 0;
    let running = false;
    for (let i = 0; i < batch.tickets.length; i++) {
      const s = Atomics.load(batch.state, stateIndex(i));
      if (s === TaskState.queued) waiting++;
      else if (s === TaskState.running) running = true;
    }
    const n = running ? Math.ceil(waiting / 2) : Math.floor(waiting / 2);
    if (n > share) {
      victim = batch;
      share = n;
      fromFront = running;
    }
  }
  if (victim === undefined) return [];
  const taken: Ticket[] = [];
  const n = victim.tickets.length;
  for (let k = 0; k < n && taken.length < share; k++) {
    const i = fromFront ? k : n - 1 - k;
    const ticket = victim.tickets[i]!;
    if (ticket.settled || !owns(victim, i)) continue;
    if (Atomics.compareExchange(victim.state, stateIndex(i), TaskState.queued, TaskState.stolen) !== TaskState.queued) continue;
    // Not started, so nothing was posted for it on the worker's port and its body is still ours.
    ticket.batch = undefined;
    ticket.channel = undefined;
    taken.push(ticket);
  }
  return fromFront ? taken : taken.reverse();
}

/**
 * Takes back every request not yet started from batches whose thread has been running one request
 * for at least {@link STUCK_MS} (or is still loading the handler module), oldest first: they are
 * older than anything in the pool's queue and would wait behind that request while a thread is
 * free.
 */
export function takeBackStuck(active: Iterable<Batch>, now: number): Ticket[] {
  const taken: Ticket[] = [];
  for (const batch of active) {
    const n = batch.tickets.length;
    let stuck = false;
    let first = n;
    for (let i = 0; i < n; i++) {
      const s = Atomics.load(batch.state, stateIndex(i));
      if (s === TaskState.running) {
        const startedAt = batch.times[startedAtIndex(n, i)]!;
        stuck = startedAt === 0 || now - startedAt >= STUCK_MS;
      } else if (s === TaskState.queued && first === n) {
        first = i;
      }
    }
    if (!stuck) continue;
    for (let i = first; i < n; i++) {
      const ticket = batch.tickets[i]!;
      if (ticket.settled || !owns(batch, i)) continue;
      if (Atomics.compareExchange(batch.state, stateIndex(i), TaskState.queued, TaskState.stolen) !== TaskState.queued) continue;
      ticket.batch = undefined;
      ticket.channel = undefined;
      taken.push(ticket);
    }
  }
  if (taken.length > 1) taken.sort((a, b) => a.id - b.id);
  return taken;
}

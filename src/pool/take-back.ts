// Work conservation under batched hand-offs. A batch is an offer, not a commitment: while a thread
// is free (or could be started), requests that a busy thread has not started are taken back
// (compareExchange queued → stolen, which the worker skips like a cancelled request) and handed to
// the free thread. Batching keeps its gain for trivial handlers (many requests per hand-off, and a
// batch whose requests take microseconds is left alone), and a slow handler no longer holds the
// requests queued behind it while another thread idles.
import { THREAD_INDEX, TaskState, canResend, startedAtIndex, stateIndex } from './protocol.js';
import type { Batch, Ticket } from './ticket.js';

/**
 * A request that has run this long holds its thread for real, and a batch that no thread picked up
 * within it waits for one: requests behind either are taken back for a free thread. Below it a
 * batch is left to go on by itself (a trivial handler takes tens of microseconds, and moving a
 * request costs a hand-off); the pool looks again after this long.
 */
export const STUCK_MS = 1;

/** What {@link takeBack} returns when it took nothing but should be asked again after {@link STUCK_MS}. */
export const LOOK_LATER = 'later';

/**
 * True when `batch` still carries its `i`-th request: a request taken back belongs to the batch it
 * went to next, and whatever its first batch reports about it (no result, a dead thread) is ignored.
 */
export function owns(batch: Batch, i: number): boolean {
  return batch.tickets[i]!.batch === batch;
}

/** Where a batch out stands: requests not started, and whether they wait on a thread that holds them. */
interface Standing {
  waiting: number;
  /** Its thread has run one request for STUCK_MS or more (or is still loading the handler module). */
  stuck: boolean;
  /** No thread has picked it up within STUCK_MS (its thread is starting, or busy with another batch). */
  stalled: boolean;
}

function standing(batch: Batch, now: number): Standing {
  const n = batch.tickets.length;
  let waiting = 0;
  let stuck = false;
  for (let i = 0; i < n; i++) {
    const s = Atomics.load(batch.state, stateIndex(i));
    if (s === TaskState.queued) {
      waiting++;
    } else if (s === TaskState.running) {
      const startedAt = batch.times[startedAtIndex(n, i)]!;
      stuck = startedAt === 0 || now - startedAt >= STUCK_MS;
    }
  }
  const stalled = !stuck && Atomics.load(batch.state, THREAD_INDEX) === 0 && now - batch.sentAt >= STUCK_MS;
  return { waiting, stuck, stalled };
}

/**
 * Takes back, from every batch whose thread is stuck on one request, the older half of what it has
 * not started (rounded up), oldest first. They are older than anything in the pool's queue, so a
 * free thread starts them first; the younger half stays, so the stuck thread goes on without a
 * round trip to the main thread when its request ends (taking all would cost every request a
 * hand-off: 50 ms handlers lost ~8 % of their throughput to it). What stays is halved again at the
 * next hand-off if that thread is still stuck. Undefined when nothing was taken.
 *
 * Never an empty array: this runs on every hand-off and mostly takes nothing, while an array that
 * did take holds objects, which gives it another hidden class than an empty literal's. The caller's
 * optimized code, compiled having seen only empty ones, was thrown away the first time a request
 * was taken back: at a random moment, inside bench:instructions' counted window in some rounds.
 */
export function takeBackStuck(active: Iterable<Batch>, now: number): Ticket[] | undefined {
  let taken: Ticket[] | undefined;
  for (const batch of active) {
    const { waiting, stuck } = standing(batch, now);
    if (stuck && waiting > 0) take(batch, Math.ceil(waiting / 2), true, (taken ??= []));
  }
  if (taken === undefined || taken.length === 0) return undefined;
  if (taken.length > 1) taken.sort((a, b) => a.id - b.id);
  return taken;
}

/**
 * For one free thread when nothing waits in the pool's queue: takes back from the batch with the
 * largest share to give, in arrival order. From a stuck batch the share is the older half of what
 * it has not started, rounded up; from a stalled one, the younger half rounded down, leaving the
 * front to the thread that will pick it up. Without a request taken: {@link LOOK_LATER} when some
 * batch holds requests not started but is neither stuck nor stalled yet (the pool looks again after
 * {@link STUCK_MS}), else undefined; never an empty array (see {@link takeBackStuck}).
 *
 * Each request is won with a compareExchange: the worker may start it at the same moment, and
 * then it simply stays where it was.
 */
export function takeBack(active: Iterable<Batch>, now: number): Ticket[] | typeof LOOK_LATER | undefined {
  let victim: Batch | undefined;
  let share = 0;
  let fromFront = false;
  let later = false;
  for (const batch of active) {
    const { waiting, stuck, stalled } = standing(batch, now);
    if (waiting === 0) continue;
    const n = stuck ? Math.ceil(waiting / 2) : stalled ? Math.floor(waiting / 2) : 0;
    if (!stuck && !stalled) later = true;
    if (n > share) {
      victim = batch;
      share = n;
      fromFront = stuck;
    }
  }
  if (victim === undefined) return later ? LOOK_LATER : undefined;
  const taken: Ticket[] = [];
  take(victim, share, fromFront, taken);
  if (taken.length === 0) return later ? LOOK_LATER : undefined;
  return fromFront ? taken : taken.reverse();
}

// Wins up to `count` not-started requests of `batch` (from its front or its back) into `into`.
function take(batch: Batch, count: number, fromFront: boolean, into: Ticket[]): void {
  const n = batch.tickets.length;
  let got = 0;
  for (let k = 0; k < n && got < count; k++) {
    const i = fromFront ? k : n - 1 - k;
    const ticket = batch.tickets[i]!;
    // An offload call whose buffers moved with the hand-off can only run where they went.
    if (ticket.settled || !owns(batch, i) || !canResend(ticket.task)) continue;
    if (Atomics.compareExchange(batch.state, stateIndex(i), TaskState.queued, TaskState.stolen) !== TaskState.queued)
      continue;
    // Not started, so nothing was posted for it on the worker's port and its body is still ours.
    ticket.batch = undefined;
    ticket.channel = undefined;
    into.push(ticket);
    got++;
  }
}

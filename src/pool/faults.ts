// Every way a pool request can fail, as one AlbanyError each: the worker died (crash, OOM, a timeout
// or abort that replaced it), the client left, the pool is full or closed. A dead worker fails only
// the requests it was running; the ones it had not reached may run again.
import { albanyError, type AlbanyError } from '../errors.js';
import type { PoolConfig } from './config-types.js';
import type { PoolMetrics } from './metrics.js';
import { THREAD_INDEX, TaskState, startedAtIndex, stateIndex } from './protocol.js';
import { now } from './protocol.js';
import type { Batch, Ticket } from './ticket.js';

/** How often one request may be handed to a new thread after the thread it waited on died. */
export const MAX_REQUEUES = 3;

/** A batch whose piscina task failed, with the error it failed with. */
export interface FailedBatch {
  batch: Batch;
  err: unknown;
}

/**
 * True when a failed batch's worker died of one of the batch's own requests (one ran, timed out or
 * was aborted).
 */
function hasCulprit(batch: Batch): boolean {
  // A request taken back for another thread (see take-back.ts) is judged with its new batch.
  return (
    Atomics.load(batch.state, THREAD_INDEX) !== 0 &&
    batch.tickets.some(
      (t, i) =>
        t.batch === batch && (t.reason !== undefined || Atomics.load(batch.state, stateIndex(i)) !== TaskState.queued),
    )
  );
}

/**
 * The errors of the deaths that one of the dead thread's own requests caused: the requests that
 * thread had not reached are innocent and may be handed over again. piscina fails every task of a
 * dead thread with one error object, so a batch the thread never picked up (it waited behind
 * another, `concurrentTasksPerWorker` > 1) is judged with the batch that holds the culprit.
 */
export function culpritDeaths(failed: ReadonlyArray<FailedBatch>): Set<unknown> {
  const deaths = new Set<unknown>();
  for (const { batch, err } of failed) if (hasCulprit(batch)) deaths.add(err);
  return deaths;
}

/**
 * The error a request fails with when its worker died, by why it died (the sweep's timeout, the
 * client's abort, the pool's close, or anything else: a crash). Counts the rejection, and the start if
 * it had one.
 */
export function workerFault(err: unknown, ticket: Ticket, taskTimeoutMs: number, metrics: PoolMetrics): AlbanyError {
  const batch = ticket.batch;
  const s = batch === undefined ? TaskState.queued : Atomics.load(batch.state, stateIndex(ticket.index));
  const started = s === TaskState.running || s === TaskState.finished;
  const startedAt =
    started && batch !== undefined ? batch.times[startedAtIndex(batch.tickets.length, ticket.index)]! : 0;
  const stage = started ? 'running' : 'queued';
  if (started) metrics.taskStarted(Math.max(0, (startedAt || now()) - ticket.queuedAt));
  const runMs = started && startedAt > 0 ? Math.max(0, now() - startedAt) : 0;
  if (ticket.reason === 'timeout') {
    metrics.taskRejected('timeout', { stage, runMs });
    return albanyError(
      'ERR_ALBANY_TIMEOUT',
      `legacy task ran past taskTimeoutMs (${taskTimeoutMs} ms); its worker was replaced`,
      { cause: err },
    );
  }
  if (ticket.reason === 'client') {
    metrics.taskRejected('aborted', { stage, runMs });
    return clientAborted(ticket, started, err);
  }
  if (ticket.reason === 'closed') {
    metrics.taskRejected('aborted', { stage, runMs });
    return poolClosed(started, err);
  }
  metrics.taskRejected('crash', { stage, runMs });
  const message = (err as Error | undefined)?.message ?? '';
  const code = (err as { code?: unknown } | undefined)?.code;
  const lost = s === TaskState.finished ? ' (it had finished; its response was lost with the worker)' : '';
  return albanyError(
    'ERR_ALBANY_WORKER_CRASHED',
    `a legacy worker died while running the request${lost}: ${message || String(err)}`,
    {
      cause: err,
      details: typeof code === 'string' ? { workerError: code } : undefined,
    },
  );
}

/** The client went away (or the caller's signal fired) before the request finished. */
export function clientAborted(ticket: Ticket, started: boolean, cause?: unknown): AlbanyError {
  return albanyError(
    'ERR_ALBANY_ABORTED',
    started
      ? 'the client went away; the running task was aborted and its worker replaced'
      : 'the client went away; the queued task was removed',
    {
      cause,
      details: { started, waitedMs: now() - ticket.queuedAt },
    },
  );
}

/**
 * A request refused or dropped because the pool was closed, or stopped on its thread by the close
 * (`close({ force: true })`, or a plain `close()` past its `closeTimeoutMs`).
 */
export function poolClosed(started = false, cause?: unknown): AlbanyError {
  return albanyError(
    'ERR_ALBANY_ABORTED',
    started
      ? 'the legacy pool is closed; the close (forced, or past closeTimeoutMs) stopped the running task with its worker'
      : 'the legacy pool is closed',
    { cause },
  );
}

/** A request refused at admission: every thread busy and the queue at its bound. */
export function queueFull(pool: {
  readonly name: string | undefined;
  readonly maxQueue: number;
  readonly config: PoolConfig;
}): AlbanyError {
  return albanyError(
    'ERR_ALBANY_QUEUE_FULL',
    `the legacy pool${pool.name ? ` ${pool.name}` : ''} is full (${pool.config.maxThreads} threads busy, ` +
      `${pool.maxQueue} queued)`,
    {
      details: { maxQueue: pool.maxQueue, maxThreads: pool.config.maxThreads },
    },
  );
}

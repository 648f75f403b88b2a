// Past one core: a primary process forks N workers that share the listening socket (node:cluster),
// respawns crashed ones with back-off, drains them all on SIGTERM and replaces them one at a time
// on SIGHUP so a reload never drops a connection.
import cluster, { type Worker } from 'node:cluster';
import { AlbanyError, ErrorCodes } from '../errors.js';
import type { Logger } from './options.js';

/** What a worker's `start` may hand back: something that stops it gracefully. */
export interface Closable {
  close(): Promise<void>;
  /**
   * Called before `close()` when a successor takes this worker's place (a reload, `--max-requests`),
   * not on a plain stop: an HTTP server stops keeping connections alive and lets those it kept end
   * on their own, so none is cut while its client sends the next request (see AlbanyServer.retire).
   */
  retire?(): void;
}

/** Options for {@link runCluster}. */
export interface ClusterOptions {
  /** Worker processes to keep running (≥ 1). */
  workers: number;
  /**
   * Runs in each worker: start serving (listen) and resolve once ready. Return the server (or
   * anything with `close()`) so SIGTERM and reloads can drain it; `serve()` and `serveFastCGI()`
   * results qualify.
   */
  start: (worker: WorkerControl) => Promise<Closable | undefined>;
  /** How long a worker may take to drain before it is killed (default 30 s). */
  shutdownTimeoutMs?: number;
  /**
   * Respawn delay after a worker that crashed young: starts at `initialMs`, doubles per crash, capped at `maxMs`
   * (defaults 100 ms, 30 s).
   */
  backoff?: { initialMs?: number; maxMs?: number };
  /** A worker that lived at least this long before crashing resets the back-off (default 10 s). */
  stableAfterMs?: number;
  /**
   * Who hands new connections to workers. `rr` (default, node's own on Linux): the primary accepts
   * and passes connections round-robin, which spreads load evenly. A worker that leaves (reload,
   * SIGTERM, or an exception nothing handles) first answers every connection handed to it, but one
   * handed to a worker *killed* (SIGKILL, the OOM killer) in the instant before the primary notices
   * is lost: node:cluster neither re-dispatches nor closes it. `os`: every worker accepts on the
   * shared socket, so a dead worker takes no queued connection with it, but the kernel favours
   * whichever worker wakes first, so load is uneven.
   */
  scheduling?: 'os' | 'rr';
  /** Install SIGTERM/SIGINT/SIGHUP handlers in the primary (default true; tests may drive the handle instead). */
  handleSignals?: boolean;
}

/** What a worker's `start` may ask of the primary. */
export interface WorkerControl {
  /**
   * Asks the primary to replace this worker gracefully: a fresh worker is started, and once it is
   * ready this one drains and exits (`--max-requests`). Asking twice does nothing more.
   */
  recycle(): void;
}

/** The primary's view of the running cluster. */
export interface ClusterHandle {
  /** Pids of the workers currently running. */
  pids(): number[];
  /** Replace every worker, one at a time: start a new one, wait until it is ready, drain the old one. */
  reload(): Promise<void>;
  /** Drain every worker and resolve when all have exited. */
  stop(): Promise<void>;
}

// IPC messages between primary and workers; tagged so an app's own messages are left alone.
// SHUTDOWN carries `handOver: true` when a successor is taking the worker's place.
const READY = 'albany:ready';
const SHUTDOWN = 'albany:shutdown';
// A worker that has closed its server says DRAINED and leaves only once the primary answers
// FAREWELL; see leaveCluster.
const DRAINED = 'albany:drained';
const FAREWELL = 'albany:farewell';
// A worker asks to be replaced (RECYCLE), or says why it could not start (FAILED, with `message`).
const RECYCLE = 'albany:recycle';
const FAILED = 'albany:failed';
type ControlMessage =
  | { albany: typeof READY | typeof DRAINED | typeof FAREWELL | typeof RECYCLE }
  | { albany: typeof SHUTDOWN; handOver: boolean }
  | { albany: typeof FAILED; message: string };
// How long a drained worker waits for FAREWELL before leaving anyway (a wedged primary).
const FAREWELL_TIMEOUT_MS = 2000;
function isControl(message: unknown, kind: string): boolean {
  return typeof message === 'object' && message !== null && (message as ControlMessage).albany === kind;
}

interface WorkerState {
  worker: Worker;
  bornAt: number;
  ready: boolean;
  stopping: boolean;
  /**
   * Forked by a reload to replace a running worker: if it dies before ready, the old one stays and it is not respawned.
   */
  replacement: boolean;
  exited: Promise<void>;
  whenReady: Promise<boolean>;
  /** Why it could not start, as the worker reported it. */
  failure: string | undefined;
  recycling: boolean;
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

/**
 * Runs the cluster. In the primary process this forks the workers and resolves with a
 * {@link ClusterHandle} once all of them are ready; in a worker process it runs `options.start`
 * and resolves with `undefined`. With `workers: 1` the same supervision (respawn, reload) applies.
 */
export async function runCluster(options: ClusterOptions, logger: Logger): Promise<ClusterHandle | undefined> {
  if (!Number.isInteger(options.workers) || options.workers < 1) {
    throw new AlbanyError(
      ErrorCodes.ERR_ALBANY_INVALID_CONFIG,
      `options.workers must be a positive integer, got ${JSON.stringify(options.workers)}`,
    );
  }
  if (cluster.isWorker) {
    await runWorker(options, logger);
    return undefined;
  }
  return runPrimary(options, logger);
}

/**
 * Resolves when this worker may exit without losing a connection.
 *
 * With round-robin scheduling the primary accepts connections and hands each to a worker, which
 * must answer "accepted" or "not accepted" (then the primary passes it to another worker). Closing
 * the server tells the primary to stop handing over, but a connection it sent just before reading
 * that is still on its way; a worker that exits now never answers for it, and node's primary then
 * holds the socket forever: the client hangs. The channel from primary to worker is ordered, so
 * once the primary's answer to DRAINED (sent after the close) arrives, every hand-over sent before
 * it has been read and answered by node's cluster code.
 */
function leaveCluster(): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected || process.send === undefined) return resolve();
    const done = () => {
      clearTimeout(timer);
      process.off('message', onMessage);
      process.off('disconnect', done);
      resolve();
    };
    const onMessage = (message: unknown) => {
      if (isControl(message, FAREWELL)) done();
    };
    const timer = setTimeout(done, FAREWELL_TIMEOUT_MS);
    process.on('message', onMessage);
    process.once('disconnect', done);
    process.send({ albany: DRAINED } satisfies ControlMessage);
  });
}

async function runWorker(options: ClusterOptions, logger: Logger): Promise<void> {
  let server: Closable | undefined;
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      try {
        await server?.close();
      } catch (error) {
        logger.error(`worker ${process.pid}: graceful close failed: ${describe(error)}`);
      }
      await leaveCluster();
      process.exit(0);
    })());
  // An exception nothing else handles would end this process at once (node's default). Before it
  // goes, the worker stops accepting and says goodbye as a drained one does, so a connection handed
  // to it in that instant goes to another worker instead of hanging; its requests in flight are
  // lost either way. Nothing is awaited that the broken process would have to finish.
  let crashing = false;
  process.on('uncaughtException', (error, origin) => {
    if (crashing || process.listenerCount('uncaughtException') > 1) return; // the app handles its own
    crashing = true;
    logger.error(
      `worker ${process.pid}: ` +
        `${origin === 'unhandledRejection' ? 'unhandled rejection' : 'uncaught exception'}, exiting: ` +
        `${describe(error)}`,
    );
    try {
      server?.close().catch(() => {}); // stops accepting at once; the drain it starts is not waited for
    } catch {
      // A close() that throws at once has closed nothing more; leave all the same.
    }
    void leaveCluster().then(() => process.exit(1));
  });
  // Signals reach workers too when the whole process group is signalled (Ctrl-C, systemd).
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', () => {}); // reload is the primary's job
  process.on('message', (message: unknown) => {
    if (!isControl(message, SHUTDOWN)) return;
    if ((message as { handOver?: unknown }).handOver === true) server?.retire?.();
    void stop();
  });
  let recycleAsked = false;
  const control: WorkerControl = {
    recycle: () => {
      if (recycleAsked || stopping !== undefined) return;
      recycleAsked = true;
      process.send?.({ albany: RECYCLE } satisfies ControlMessage);
    },
  };
  try {
    server = await options.start(control);
  } catch (error) {
    // The primary reports it: once for the whole cluster when no worker has started yet (a port in
    // use fails every worker alike), with its pid when a replacement fails later.
    if (process.send === undefined) logger.error(`worker ${process.pid} failed to start: ${describe(error)}`);
    else
      process.send(
        { albany: FAILED, message: error instanceof Error ? error.message : String(error) } satisfies ControlMessage,
        () => process.exit(1),
      );
    return;
  }
  process.send?.({ albany: READY } satisfies ControlMessage);
}

async function runPrimary(options: ClusterOptions, logger: Logger): Promise<ClusterHandle> {
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? 30_000;
  const initialMs = options.backoff?.initialMs ?? 100;
  const maxMs = options.backoff?.maxMs ?? 30_000;
  const stableAfterMs = options.stableAfterMs ?? 10_000;
  // Must be set before the first fork; node reads it once.
  cluster.schedulingPolicy = options.scheduling === 'os' ? cluster.SCHED_NONE : cluster.SCHED_RR;
  const live = new Set<WorkerState>();
  const timers = new Set<NodeJS.Timeout>();
  let crashes = 0;
  let shuttingDown = false;
  // Until a worker has been ready once, a worker that fails to start fails the whole cluster: the
  // cause (a port in use, a broken app) would fail every respawn alike.
  let everReady = false;
  let startFailure: string | undefined;
  let reloading: Promise<void> | undefined;

  const fork = (replacement = false): WorkerState => {
    const worker = cluster.fork();
    let markReady!: (ok: boolean) => void;
    const state: WorkerState = {
      worker,
      bornAt: Date.now(),
      ready: false,
      stopping: false,
      replacement,
      exited: new Promise((resolve) => worker.once('exit', () => resolve())),
      whenReady: new Promise((resolve) => (markReady = resolve)),
      failure: undefined,
      recycling: false,
    };
    live.add(state);
    worker.on('message', (message: unknown) => {
      if (isControl(message, DRAINED)) {
        if (worker.isConnected()) worker.send({ albany: FAREWELL } satisfies ControlMessage);
        return;
      }
      if (isControl(message, FAILED)) {
        state.failure = String((message as { message?: unknown }).message);
        return;
      }
      if (isControl(message, RECYCLE)) {
        void recycle(state);
        return;
      }
      if (!isControl(message, READY)) return;
      everReady = true;
      state.ready = true;
      markReady(true);
      logger.info(`worker ${worker.process.pid} ready`);
    });
    worker.once('exit', (code, signal) => {
      live.delete(state);
      markReady(false);
      if (state.stopping || shuttingDown) return;
      // Respawning it would add a worker beside the old one it failed to replace.
      if (state.replacement && !state.ready) return;
      if (!state.ready && !everReady) {
        startFailure ??=
          state.failure ?? `worker ${worker.process.pid} exited (${signal ?? `exit code ${code}`}) before it was ready`;
        return;
      }
      if (!state.ready && state.failure !== undefined)
        logger.error(`worker ${worker.process.pid} failed to start: ${state.failure}`);
      const lived = Date.now() - state.bornAt;
      crashes = lived >= stableAfterMs ? 1 : crashes + 1;
      const delay = Math.min(maxMs, initialMs * 2 ** (crashes - 1));
      logger.warn(
        `worker ${worker.process.pid} died (${signal ?? `exit code ${code}`}) after ${lived} ms; respawning ` +
          `in ${delay} ms`,
      );
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!shuttingDown) fork();
      }, delay);
      timers.add(timer);
    });
    return state;
  };

  // `handOver`: a successor is ready to take the worker's place (reload, recycle), as opposed to a stop.
  const drain = async (state: WorkerState, handOver: boolean): Promise<void> => {
    state.stopping = true;
    // A worker still starting may not listen for messages yet (node drops an IPC message nobody
    // listens for, and SHUTDOWN lost that way left SIGTERM during a --max-requests replacement
    // waiting out shutdownTimeoutMs): it gets SIGTERM, which ends it at once before runWorker sets
    // its handler, and drains it after. A ready one listens, and gets the message.
    if (state.ready && state.worker.isConnected())
      state.worker.send({ albany: SHUTDOWN, handOver } satisfies ControlMessage);
    else state.worker.process.kill('SIGTERM');
    const timer = setTimeout(() => {
      logger.warn(`worker ${state.worker.process.pid} did not drain within ${shutdownTimeoutMs} ms; killing it`);
      state.worker.process.kill('SIGKILL');
    }, shutdownTimeoutMs);
    await state.exited;
    clearTimeout(timer);
  };

  // One worker asked to go (--max-requests): its successor first, then its drain.
  const recycle = async (old: WorkerState): Promise<void> => {
    if (old.recycling || old.stopping || shuttingDown) return;
    old.recycling = true;
    logger.info(`worker ${old.worker.process.pid} reached its request limit; replacing it`);
    const fresh = fork();
    if (!(await fresh.whenReady)) {
      old.recycling = false;
      // Stopped while starting (SIGTERM during the replacement) is no failure to report.
      if (!shuttingDown) logger.error(`worker ${old.worker.process.pid} kept: its replacement failed to start`);
      return;
    }
    if (!shuttingDown) await drain(old, true);
  };

  const reload = () =>
    (reloading ??= (async () => {
      logger.info(`reloading ${live.size} workers one at a time`);
      for (const old of [...live]) {
        if (shuttingDown) break;
        if (old.stopping) continue;
        const fresh = fork(true);
        if (!(await fresh.whenReady)) {
          logger.error('reload stopped: a new worker failed to start; the old ones keep serving');
          break;
        }
        await drain(old, true);
      }
      logger.info('reload complete');
    })().finally(() => (reloading = undefined)));

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      shuttingDown = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      logger.info(`draining ${live.size} workers`);
      await Promise.all([...live].map((state) => drain(state, false)));
    })());

  if (options.handleSignals !== false) {
    const onStop = (signal: string) => () => {
      logger.info(`${signal}: shutting down`);
      void stop().then(() => process.exit(0));
    };
    process.once('SIGTERM', onStop('SIGTERM'));
    process.once('SIGINT', onStop('SIGINT'));
    process.on('SIGHUP', () => void reload());
  }

  const first = Array.from({ length: options.workers }, fork);
  const started = await Promise.all(first.map((s) => s.whenReady));
  if (startFailure !== undefined) {
    await stop();
    throw new AlbanyError(ErrorCodes.ERR_ALBANY_WORKER_START, startFailure);
  }
  if (!started.every(Boolean) && live.size === 0) logger.error('no worker started; respawning with back-off');
  logger.info(`primary ${process.pid} running ${options.workers} worker${options.workers === 1 ? '' : 's'}`);
  return {
    pids: () => [...live].filter((s) => !s.stopping).map((s) => s.worker.process.pid!),
    reload,
    stop,
  };
}

// Carries out a parsed CLI config: load the app, start the host, print where it listens, stop on signals.
import cluster from 'node:cluster';
import type { CliConfig } from './cli-config.js';
import type { App } from './gateway/types.js';
import { toGatewayApp } from './interop/detect.js';
import { loadApp, parseTarget } from './load-app.js';
import type { CapturedListen } from './listen-capture.js';
import { fromNodeHandler } from './interop/node.js';
import type { NodeHandler } from './interop/node-exchange.js';
import { resolvePoolConfig } from './pool/config.js';
import { formatConfig } from './pool/config-format.js';
import { resolveProcessPools, setPoolConfigSource, unusedPoolSettings } from './pool/config-process.js';
import { serve } from './server/http.js';
import { AlbanyError, ErrorCodes } from './errors.js';
import { consoleLogger, type Logger } from './server/options.js';
import type { HttpMetrics } from './observe/http-metrics.js';
import { setContextTimeout } from './context/context.js';

/** A started host, whatever its kind. */
interface Running {
  url: string;
  close(): Promise<void>;
  /** A cluster successor takes this process's place: see AlbanyServer.retire (HTTP hosts only). */
  retire?(): void;
  /** This process's HTTP figures, kept when `--metrics` is given (HTTP hosts only). */
  metrics?: HttpMetrics;
}

/** Set by the --legacy start check when the pool will serve the module's own listen() call (its description). */
let legacyListenCall: string | undefined;

async function buildApp(
  config: CliConfig,
  logger: Logger,
): Promise<{ app: App; close: () => Promise<void>; listen?: CapturedListen }> {
  if (config.legacy !== undefined) {
    const resolved = await resolvePoolConfig({
      cwd: config.cwd,
      configPath: config.configPath,
      env: config.env,
      flags: config.poolFlags,
    });
    const { legacyFromCli } = await import('./legacy-mount.js');
    return legacyFromCli(config, resolved.config);
  }
  const target = parseTarget(config.target!, config.appDir);
  const loaded = await loadApp(target, (message) => logger.warn(message));
  if (loaded.listen !== undefined) {
    if (config.factory)
      throw new AlbanyError(
        ErrorCodes.ERR_ALBANY_APP_LOAD,
        `--factory: ${target.file} has no export "${target.exportName}" to call (it called ` +
          `${loaded.listen.call} itself); drop --factory or export the factory`,
      );
    // The captured listener is a node (req, res) handler whatever --interface says.
    return { app: fromNodeHandler(loaded.listen.handler as NodeHandler), close: async () => {}, listen: loaded.listen };
  }
  let value = loaded.value;
  if (config.factory) {
    if (typeof value !== 'function') {
      throw new AlbanyError(
        ErrorCodes.ERR_ALBANY_APP_LOAD,
        `--factory: export "${target.exportName}" of ${target.file} is a ` +
          `${value === null ? 'null' : typeof value}, not a function that builds the app`,
      );
    }
    // Called once per process, before the server starts (and so before lifespan startup).
    value = await (value as () => unknown)();
  }
  return { app: toGatewayApp(value, config.interface), close: async () => {} };
}

/** Loads the app and starts the host the flags ask for: FastCGI (`--fastcgi`) or HTTP (TCP or `--uds`). */
async function startHost(config: CliConfig, logger: Logger, recycle?: () => void): Promise<Running> {
  // --provide services are up (their startup() done) before the app loads, and stop after it.
  const services = await startServices(config, logger);
  let server: Running;
  const metrics =
    config.metricsPort === undefined ? undefined : new (await import('./observe/http-metrics.js')).HttpMetrics();
  let closeApp: () => Promise<void> = async () => {};
  let captured: CapturedListen | undefined;
  try {
    const built = await buildApp(config, logger);
    captured = built.listen;
    closeApp = built.close;
    if (config.fastcgi !== undefined) {
      const { parseFastCGIAddress, serveFastCGI } = await import('./server/fastcgi.js');
      const { uds: _uds, blockThresholdMs, ...options } = config.server;
      const fcgi = await serveFastCGI(built.app, { ...options, ...parseFastCGIAddress(config.fastcgi), logger });
      // serve() runs the blocking detector itself; the FastCGI front gets it here.
      const { acquireBlockDetector, DEFAULT_BLOCK_THRESHOLD_MS } = await import('./observe/block-detector.js');
      const releaseDetector = acquireBlockDetector(blockThresholdMs ?? DEFAULT_BLOCK_THRESHOLD_MS, logger);
      server = { url: fcgi.url, close: () => fcgi.close().finally(releaseDetector) };
    } else {
      const tls = config.tls === undefined ? undefined : (await import('./server/tls.js')).readTlsFiles(config.tls);
      server = await serve(built.app, {
        ...config.server,
        ...(tls === undefined ? {} : { tls }),
        ...(metrics === undefined ? {} : { metrics }),
        logger,
        ...maxRequestsOptions(config, recycle),
      });
    }
  } catch (error) {
    await closeApp().catch(() => {});
    await services.stop().catch((stopError: unknown) => logger.error((stopError as Error).message));
    throw error;
  }
  // Started before the "listening" line: SIGTERM handlers follow that line at once (no await between).
  const stopAdvice = await startPoolAdvice(config, logger);
  process.stdout.write(
    `albany: listening on ${server.url}${config.workers > 1 ? ` (worker ${process.pid})` : ' (Ctrl+C to stop)'}\n`,
  );
  const listenCall = captured?.call ?? legacyListenCall;
  if (listenCall !== undefined)
    logger.info(
      `serving the app's own app.${listenCall} handler through albany on ${server.url} (nothing was bound for it)`,
    );
  captured?.setAddress(realAddress(server.url));
  // After the app is loaded and started: the pools it builds (or mounts) have declared their names.
  for (const line of unusedPoolSettings()) logger.warn(`pool config not used: ${line}`);
  // Under a cluster (--workers, --reload) the primary serves /metrics and asks each worker for its figures.
  if (metrics !== undefined && cluster.isWorker) {
    const { answerMetricsRequests } = await import('./observe/cluster-metrics.js');
    answerMetricsRequests(await processExposition(metrics));
  }
  return {
    url: server.url,
    metrics,
    retire: () => server.retire?.(),
    close: () =>
      server
        .close()
        .then(closeApp)
        .finally(() => {
          stopAdvice();
          metrics?.close();
          return services.stop();
        }),
  };
}

/** The periodic pool sizing line (`--advice-interval`, pool/advice-log.ts) of this process. */
async function startPoolAdvice(config: CliConfig, logger: Logger): Promise<() => void> {
  if (config.adviceIntervalS <= 0) return () => {};
  const [{ startAdviceLog }, { toPrometheus }, { livePoolSources }] = await Promise.all([
    import('./pool/advice-log.js'),
    import('./pool/metrics-prometheus.js'),
    import('./pool/registry.js'),
  ]);
  // Cluster workers share the cores: each advises for its share.
  const options = { processesOnHost: config.workers };
  const exposition = (): string => toPrometheus(livePoolSources());
  return startAdviceLog(config.adviceIntervalS * 1000, exposition, (line) => logger.info(line), options);
}

/**
 * What `server.address()` of the app's captured server answers once albany listens: host and port, or the socket path.
 */
function realAddress(url: string): { address: string; family: string; port: number } | string {
  const parsed = new URL(url);
  if (parsed.protocol.endsWith('+unix:')) return decodeURIComponent(url.slice(parsed.protocol.length + 2));
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  return { address: host, family: host.includes(':') ? 'IPv6' : 'IPv4', port: Number(parsed.port) };
}

/** `--max-requests N --max-requests-jitter J`: this worker's own limit, N plus a random 0..J (gunicorn's rule). */
function maxRequestsOptions(
  config: CliConfig,
  recycle: (() => void) | undefined,
): { maxRequests?: number; onMaxRequests?: () => void } {
  if (config.maxRequests === undefined || recycle === undefined) return {};
  const maxRequests = config.maxRequests + Math.floor(Math.random() * (config.maxRequestsJitter + 1));
  return { maxRequests, onMaxRequests: recycle };
}

/**
 * The process-wide failure policy. An unhandled rejection is a promise nobody awaited (a
 * fire-and-forget call in an app); the request it came from has been settled by its cycle, so the
 * process logs it and keeps serving. An uncaught exception may have left any state half-changed,
 * so it is logged and the process exits 1 (a cluster worker is respawned by the primary).
 */
function installFailurePolicy(logger: Logger): void {
  const text = (e: unknown) => (e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.on('unhandledRejection', (reason) =>
    logger.error(`unhandled rejection (the process keeps serving): ${text(reason)}`),
  );
  if (cluster.isWorker) return; // cluster.ts says goodbye to the primary before exiting
  process.on('uncaughtException', (error) => {
    if (process.listenerCount('uncaughtException') > 1) return; // the app handles its own
    logger.error(`uncaught exception, exiting: ${text(error)}`);
    process.exit(1);
  });
}

/** Loads the `--provide` modules (none: nothing to stop). */
async function startServices(config: CliConfig, logger: Logger): Promise<{ stop(): Promise<void> }> {
  if (config.provide.length === 0) return { stop: async () => {} };
  const { parseProvideSpec, startProvided } = await import('./provide-modules.js');
  return startProvided(
    config.provide.map((spec) => parseProvideSpec(spec, config.cwd)),
    logger,
  );
}

/** This process's exposition: every live pool's figures, then the HTTP host's (when it keeps them). */
async function processExposition(metrics: HttpMetrics | undefined): Promise<() => string> {
  const { toPrometheus } = await import('./pool/metrics-prometheus.js');
  const { livePoolSources } = await import('./pool/registry.js');
  const { blockMetrics } = await import('./observe/block-metrics.js');
  return () => toPrometheus(livePoolSources()) + (metrics?.toPrometheus() ?? '') + blockMetrics.toPrometheus();
}

/**
 * Serves Prometheus text on `--metrics PORT` (same host as the app): this process's figures, or in
 * a cluster's primary the sum over every worker (observe/cluster-metrics.ts).
 */
async function startMetrics(
  config: CliConfig,
  logger: Logger,
  metrics: HttpMetrics | undefined,
): Promise<{ close(): Promise<void> }> {
  const { serveMetrics } = await import('./pool/metrics-server.js');
  let render: () => string | Promise<string>;
  if (cluster.isPrimary && (config.workers > 1 || config.reloadDirs !== undefined))
    render = (await import('./observe/cluster-metrics.js')).clusterExposition;
  else render = await processExposition(metrics);
  const server = await serveMetrics({ host: config.server.host ?? '127.0.0.1', port: config.metricsPort! }, () =>
    render(),
  );
  logger.info(`metrics at ${server.url}`);
  return server;
}

/**
 * `--reload`: the app runs in a one-worker cluster whose primary watches the folders and, on a
 * change, replaces the worker the way SIGHUP does (new one ready first, old one drained). A broken
 * edit leaves the old worker serving; a worker that cannot start is retried within 2 s.
 */
async function runReloading(config: CliConfig, logger: Logger): Promise<void> {
  const { runCluster } = await import('./server/cluster.js');
  const handle = await runCluster(
    {
      workers: 1,
      start: () => startHost(config, logger),
      shutdownTimeoutMs: (config.server.gracefulTimeoutMs ?? 10_000) + 5_000,
      backoff: { maxMs: 2000 },
    },
    logger,
  );
  if (handle === undefined) return; // the worker: serving until the primary replaces it
  if (config.metricsPort !== undefined) await startMetrics(config, logger, undefined);
  const { serialReloads, watchForReload } = await import('./reload.js');
  const watch = watchForReload(
    config.reloadDirs!,
    serialReloads(() => handle.reload(), logger),
    logger,
  );
  logger.info(`reload: watching ${config.reloadDirs!.join(', ')} (${watch.dirs.length} folders)`);
}

/** Runs `albany serve` or `albany config` as configured. Resolves when the server has stopped. */
export async function run(config: CliConfig): Promise<void> {
  // Every pool of this process, also those the app builds in code, reads these flags, env and file.
  await setPoolConfigSource({
    cwd: config.cwd,
    configPath: config.configPath,
    env: config.env,
    flags: config.poolFlags,
  });
  // The unnamed pool and every `pools.<name>` section, checked before anything starts.
  const pools = resolveProcessPools();
  if (config.command === 'config') {
    process.stdout.write(`${formatConfig(pools)}\n`);
    return;
  }
  const logger = consoleLogger(config.server.logLevel ?? 'info');
  installFailurePolicy(logger);
  // The request context's deadline (when the app turns context on) is the request timeout given here.
  setContextTimeout(config.server.requestTimeoutMs);
  // A broken --legacy module stops the CLI here with one line, before anything listens; under
  // --workers the primary checks once for all its workers.
  if (config.legacy !== undefined && cluster.isPrimary) {
    const [{ checkLegacyModule }, { legacySpec }] = await Promise.all([
      import('./legacy-check.js'),
      import('./legacy-mount.js'),
    ]);
    const checked = await checkLegacyModule(legacySpec(config));
    legacyListenCall = checked.listen;
    // Cluster workers (separate processes) do not share this variable: the primary says it once.
    if (
      legacyListenCall !== undefined &&
      (config.workers > 1 || config.maxRequests !== undefined || config.reloadDirs !== undefined)
    ) {
      logger.info(
        `serving the app's own app.${legacyListenCall} handler through albany's legacy pool (nothing was bound for it)`,
      );
    }
  }
  if (config.provide.length > 0 && config.workers > 1 && cluster.isPrimary) {
    const { checkProvideSpecs } = await import('./provide-modules.js');
    checkProvideSpecs(config.provide, config.cwd);
  }
  if (config.reloadDirs !== undefined) {
    await runReloading(config, logger);
    return;
  }
  if (config.workers > 1 || config.maxRequests !== undefined) {
    // The primary only supervises (it never loads the app or its pool); each worker runs startHost
    // and the cluster module owns signals in both.
    const { runCluster } = await import('./server/cluster.js');
    const handle = await runCluster(
      {
        workers: config.workers,
        start: (worker) => startHost(config, logger, () => worker.recycle()),
        shutdownTimeoutMs: (config.server.gracefulTimeoutMs ?? 10_000) + 5_000,
      },
      logger,
    );
    // The primary serves one /metrics for the whole service.
    if (handle !== undefined && config.metricsPort !== undefined) await startMetrics(config, logger, undefined);
    return;
  }
  // A single process has no second one to hand the socket to, so a reload would drop requests:
  // SIGHUP is logged and ignored (with --workers it replaces every worker gracefully). Installed
  // before the app loads, so a SIGHUP during startup does not end the process either.
  process.on('SIGHUP', () =>
    logger.info(
      'SIGHUP ignored: a single process cannot reload without dropping requests; use --workers N for graceful reloads',
    ),
  );
  const running = await startHost(config, logger);
  const metrics = config.metricsPort === undefined ? undefined : await startMetrics(config, logger, running.metrics);

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn(`${signal} again: exiting now`);
        process.exit(1);
      }
      stopping = true;
      logger.info(`${signal}: finishing in-flight requests, then stopping`);
      running
        .close()
        .then(() => metrics?.close())
        .then(resolve, (error: unknown) => {
          logger.error(`shutdown: ${(error as Error).message}`);
          process.exitCode = 1;
          resolve();
        });
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

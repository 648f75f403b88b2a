// Carries out a parsed CLI config: load the app, start the host, print where it listens, stop on signals.
import cluster from 'node:cluster';
import type { CliConfig } from './cli.js';
import type { App } from './gateway/types.js';
import { toGatewayApp } from './interop/detect.js';
import { loadTarget, parseTarget } from './load-app.js';
import { resolvePoolConfig } from './pool/config.js';
import { formatConfig } from './pool/config-format.js';
import { resolveProcessPools, setPoolConfigSource, unusedPoolSettings } from './pool/config-process.js';
import { serve } from './server/http.js';
import { consoleLogger, type Logger } from './server/options.js';

/** A started host, whatever its kind. */
interface Running {
  url: string;
  close(): Promise<void>;
}

async function buildApp(config: CliConfig): Promise<{ app: App; close: () => Promise<void> }> {
  if (config.legacy !== undefined) {
    const resolved = await resolvePoolConfig({ cwd: config.cwd, configPath: config.configPath, env: config.env, flags: config.poolFlags });
    const { legacyFromCli } = await import('./legacy-mount.js');
    return legacyFromCli(config, resolved.config);
  }
  const value = await loadTarget(parseTarget(config.target!, config.cwd));
  return { app: toGatewayApp(value, config.interface), close: async () => {} };
}

/** Loads the app and starts the host the flags ask for: FastCGI (`--fastcgi`) or HTTP (TCP or `--uds`). */
async function startHost(config: CliConfig, logger: Logger): Promise<Running> {
  // --provide services are up (their startup() done) before the app loads, and stop after it.
  const services = await startServices(config, logger);
  let server: Running;
  let closeApp: () => Promise<void> = async () => {};
  try {
    const built = await buildApp(config);
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
      server = await serve(built.app, { ...config.server, logger });
    }
  } catch (error) {
    await closeApp().catch(() => {});
    await services.stop().catch((stopError: unknown) => logger.error((stopError as Error).message));
    throw error;
  }
  process.stdout.write(`albany: listening on ${server.url}${config.workers > 1 ? ` (worker ${process.pid})` : ' (Ctrl+C to stop)'}\n`);
  // After the app is loaded and started: the pools it builds (or mounts) have declared their names.
  for (const line of unusedPoolSettings()) logger.warn(`pool config not used: ${line}`);
  return { url: server.url, close: () => server.close().then(closeApp).finally(() => services.stop()) };
}

/** Loads the `--provide` modules (none: nothing to stop). */
async function startServices(config: CliConfig, logger: Logger): Promise<{ stop(): Promise<void> }> {
  if (config.provide.length === 0) return { stop: async () => {} };
  const { parseProvideSpec, startProvided } = await import('./provide-modules.js');
  return startProvided(config.provide.map((spec) => parseProvideSpec(spec, config.cwd)), logger);
}

/** Serves every live pool's figures as Prometheus text on `--metrics PORT` (same host as the app). */
async function startMetrics(config: CliConfig, logger: Logger): Promise<{ close(): Promise<void> }> {
  const { serveMetrics } = await import('./pool/metrics-server.js');
  const { toPrometheus } = await import('./pool/metrics-prometheus.js');
  const { livePoolSources } = await import('./pool/registry.js');
  const { blockMetrics } = await import('./observe/block-metrics.js');
  const server = await serveMetrics({ host: config.server.host ?? '127.0.0.1', port: config.metricsPort! }, () => toPrometheus(livePoolSources()) + blockMetrics.toPrometheus());
  logger.info(`pool metrics at ${server.url}`);
  return server;
}

/** Runs `albany serve` or `albany config` as configured. Resolves when the server has stopped. */
export async function run(config: CliConfig): Promise<void> {
  // Every pool of this process, also those the app builds in code, reads these flags, env and file.
  await setPoolConfigSource({ cwd: config.cwd, configPath: config.configPath, env: config.env, flags: config.poolFlags });
  // The unnamed pool and every `pools.<name>` section, checked before anything starts.
  const pools = resolveProcessPools();
  if (config.command === 'config') {
    process.stdout.write(formatConfig(pools) + '\n');
    return;
  }
  const logger = consoleLogger(config.server.logLevel ?? 'info');
  // A broken --legacy module stops the CLI here with one line, before anything listens; under
  // --workers the primary checks once for all its workers.
  if (config.legacy !== undefined && cluster.isPrimary) {
    const [{ checkLegacyModule }, { legacySpec }] = await Promise.all([import('./legacy-check.js'), import('./legacy-mount.js')]);
    await checkLegacyModule(legacySpec(config));
  }
  if (config.provide.length > 0 && config.workers > 1 && cluster.isPrimary) {
    const { checkProvideSpecs } = await import('./provide-modules.js');
    checkProvideSpecs(config.provide, config.cwd);
  }
  if (config.workers > 1) {
    // The primary only supervises (it never loads the app or its pool); each worker runs startHost
    // and the cluster module owns signals in both.
    if (config.metricsPort !== undefined) logger.warn('--metrics is served by single-process servers only; with --workers, scrape each process on its own port instead');
    const { runCluster } = await import('./server/cluster.js');
    await runCluster({ workers: config.workers, start: () => startHost(config, logger), shutdownTimeoutMs: (config.server.gracefulTimeoutMs ?? 10_000) + 5_000 }, logger);
    return;
  }
  const running = await startHost(config, logger);
  const metrics = config.metricsPort === undefined ? undefined : await startMetrics(config, logger);

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

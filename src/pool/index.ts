// The pool package's public names, re-exported in one place; each line re-exports one file.
export type { OnDisconnect, ResourceLimits, PoolConfig, PoolConfigInput, ConfigSource } from './config-types.js';
export { poolKeySpecs, defaultPoolConfig, type PoolConfigKey, type PoolKeySpec, type ValueOrigin, type ConfigProblem } from './config-schema.js';
export { configFileNames, loadConfigFile, loadConfigFileSync, type LoadedConfigFile } from './config-sources.js';
export { setPoolConfigSource, resetPoolConfigSource, poolConfigSource, unusedPoolSettings, type PoolConfigSource } from './config-process.js';
export { resolvePoolConfig, resolvePoolConfigSync, resolveConfiguredPools, completeConfig, parsePoolFlags, poolFlagSpecs, poolParseArgsOptions, toPiscinaOptions, effectiveMaxQueue, type ResolvePoolConfigOptions, type ResolvedPoolConfig, type PoolFlagSpec, type PiscinaPoolOptions } from './config.js';
export { formatConfig } from './config-format.js';
export { PoolMetrics, TaskTracker, rejectReasons, type RejectReason, type TaskStage, type PoolStats, type PoolMetricsOptions } from './metrics.js';
export { LatencyHistogram, type LatencySummary } from './metrics-histogram.js';
export { toPrometheus, prometheusContentType, type PoolMetricsSource, type PiscinaStatsLike } from './metrics-prometheus.js';
export { serveMetrics, type MetricsServer, type MetricsServerOptions } from './metrics-server.js';
export { createPool, type NamedPoolConfigInput } from './pool.js';
export { offload, DEFAULT_OFFLOAD_POOL, type OffloadOptions, type OffloadCallOptions, type OffloadedFunction } from './offload.js';
export { LegacyPool } from './legacy-pool.js';
export type { PoolOptions, DispatchOptions, LegacyPoolStats } from './pool-types.js';
export { type HandlerStyle, type LegacyTask, type TaskResult, type WorkerMessage, type MainMessage } from './protocol.js';
export { advise, type AdviseOptions, type PoolAdvice, type LoadKind } from './advice.js';
export { readPoolFigures, figuresBetween, type PoolFigures } from './advice-figures.js';
export type { PoolCpuStats, CpuSourceName } from './thread-cpu.js';

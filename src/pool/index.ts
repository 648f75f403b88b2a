// The pool's public names (`albany/pool`, and re-exported by `albany`): creating pools, offload(),
// their config and metrics. Plumbing (config resolution, piscina options, the worker protocol, task
// trackers) is imported by path inside the package and is not part of the API.
export type { OnDisconnect, ResourceLimits, PoolConfig, PoolConfigInput, ConfigSource } from './config-types.js';
export { setPoolConfigSource, type PoolConfigSource } from './config-process.js';
export { PoolMetrics, type RejectReason, type TaskStage, type PoolStats, type PoolMetricsOptions } from './metrics.js';
export type { LatencySummary } from './metrics-histogram.js';
export {
  toPrometheus,
  prometheusContentType,
  type PoolMetricsSource,
  type PiscinaStatsLike,
} from './metrics-prometheus.js';
export { serveMetrics, type MetricsServer, type MetricsServerOptions } from './metrics-server.js';
export { createPool, type NamedPoolConfigInput } from './pool.js';
export {
  offload,
  DEFAULT_OFFLOAD_POOL,
  type OffloadOptions,
  type OffloadCallOptions,
  type OffloadedFunction,
} from './offload.js';
export { LegacyPool } from './legacy-pool.js';
export type { PoolOptions, DispatchOptions, LegacyPoolStats } from './pool-types.js';
export type { HandlerStyle } from './protocol.js';
export { advise, type AdviseOptions, type PoolAdvice, type LoadKind } from './advice.js';
export { readPoolFigures, figuresBetween, type PoolFigures } from './advice-figures.js';
export type { PoolCpuStats, CpuSourceName } from './thread-cpu.js';

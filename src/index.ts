// albany's public API, listed name by name: what README.md and docs/ describe. Plumbing (scope and
// environ builders, HttpCycle, header validators, config resolution, the worker protocols, the
// service bridge) is imported by path inside the package and is not reachable through package.json's
// exports map.
export { AlbanyError, ErrorCodes, hasCode, type ErrorCode } from './errors.js';
export { GATEWAY_VERSION, SPEC_VERSION } from './gateway/types.js';
export type {
  Address, AlbanyInfo, App, Headers, HttpScope, LifespanScope, Scope, WebSocketScope,
  HttpRequestMessage, HttpDisconnectMessage, HttpResponseStartMessage, HttpResponseBodyMessage,
  HttpResponseTrailersMessage, HttpResponsePathsendMessage, HttpReceiveMessage, HttpSendMessage,
  WebSocketConnectMessage, WebSocketAcceptMessage, WebSocketReceiveMessage, WebSocketSendMessage,
  WebSocketCloseMessage, WebSocketDisconnectMessage, WebSocketReceiveEvent, WebSocketSendEvent,
  LifespanReceiveMessage, LifespanSendMessage, ReceiveMessage, SendMessage, Receive, Send,
} from './gateway/types.js';
export { readBody, hasHeader, getHeader } from './gateway/helpers.js';
export { serve, createServer, createRequestHandler, type AlbanyServer, type GatewayRequestHandler } from './server/http.js';
export { consoleLogger, type ServerOptions, type Logger, type LifespanMode, type LogLevel } from './server/options.js';
export { attachWebSocket, type WebSocketOptions, type WebSocketHost } from './server/websocket.js';
export { serveFastCGI, createFastCGIServer, type FastCGIOptions, type FastCGIServer } from './server/fastcgi.js';
export { runCluster, type ClusterOptions, type ClusterHandle } from './server/cluster.js';
export { fromNodeHandler, toNodeHandler, fastifyPlugin, type NodeHandler, type ToNodeHandlerOptions, type NodeMiddleware, type FastifyPluginOptions } from './interop/node.js';
export { fromFetch, toFetch, type FetchHandler, type FromFetchOptions, type ToFetchOptions } from './interop/fetch.js';
export { toGatewayApp, detectInterface, type InterfaceKind } from './interop/detect.js';
export { mount, type MountRoutes, type MountOptions, type MountedApp } from './routing/mount.js';
export {
  syncify, runSync, runInReactor, EventualResult, closeReactor, reactorHandle, attachReactor, configureSync, provide,
  withTransfer, type SyncifyOptions, type ModuleTarget, type ServiceTarget, type ReactorHandle, type SyncOptions,
  type ServiceFn, type ReactorCallContext,
} from './sync/index.js';
export {
  createPool, offload, DEFAULT_OFFLOAD_POOL, LegacyPool, setPoolConfigSource, PoolMetrics, toPrometheus,
  prometheusContentType, serveMetrics, type NamedPoolConfigInput, type OffloadOptions, type OffloadCallOptions,
  type OffloadedFunction, type PoolOptions, type DispatchOptions, type LegacyPoolStats, type PoolConfig,
  type PoolConfigInput, type OnDisconnect, type ResourceLimits, type ConfigSource, type PoolConfigSource,
  type PoolStats, type PoolMetricsOptions, type RejectReason, type TaskStage, type LatencySummary,
  type PoolMetricsSource, type PiscinaStatsLike, type MetricsServer, type MetricsServerOptions, type HandlerStyle,
  advise, readPoolFigures, figuresBetween, type AdviseOptions, type PoolAdvice, type LoadKind, type PoolFigures,
  type PoolCpuStats, type CpuSourceName,
} from './pool/index.js';
export type { HeaderInput, PlainHandler, PlainRequest, PlainResponse, StartResponse, WsgiApp, WsgiEnviron, WsgiErrors, WsgiInput } from '../legacy-adapter/types.js';
export {
  context, enableContext, disableContext, RequestContext, parseTraceParent, formatTraceParent, type ContextOptions,
  type TraceParent,
} from './context/index.js';

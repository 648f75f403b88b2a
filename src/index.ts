// albany's public API: re-exports only.
export * from './errors.js';
export * from './gateway/types.js';
export { checkHeaders, checkReason, checkStatus, isToken } from './gateway/validate.js';
export { serve, createServer, createRequestHandler, type AlbanyServer, type GatewayRequestHandler } from './server/http.js';
export { HttpCycle, type ResponseSink, type RequestSource } from './server/cycle.js';
export { buildHttpScope, buildWebSocketScope, type RequestHead } from './server/scope.js';
export { Lifespan } from './server/lifespan.js';
export { resolveServerOptions, consoleLogger, SERVER_DEFAULTS, type ServerOptions, type ResolvedServerOptions, type Logger, type LifespanMode, type LogLevel } from './server/options.js';
export { attachWebSocket, type WebSocketOptions, type WebSocketHost } from './server/websocket.js';
export { serveFastCGI, createFastCGIServer, parseFastCGIAddress, type FastCGIOptions, type FastCGIServer } from './server/fastcgi.js';
export { runCluster, type ClusterOptions, type ClusterHandle } from './server/cluster.js';
export { fromNodeHandler, toNodeHandler, fastifyPlugin, type NodeHandler, type ToNodeHandlerOptions, type NodeMiddleware, type FastifyPluginOptions } from './interop/node.js';
export { fromFetch, toFetch, type FetchHandler, type FromFetchOptions, type ToFetchOptions } from './interop/fetch.js';
export { toGatewayApp, detectInterface, type InterfaceKind } from './interop/detect.js';
export * from './sync/index.js';
export * from './pool/index.js';
export { readBody, hasHeader, getHeader } from './gateway/helpers.js';

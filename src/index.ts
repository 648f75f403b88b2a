// albany's public API: re-exports only.
export * from './errors.js';
export * from './gateway/types.js';
export { checkHeaders, checkStatus, isToken } from './gateway/validate.js';
export { serve, createServer, createRequestHandler, type AlbanyServer, type GatewayRequestHandler } from './server/http.js';
export { HttpCycle, type ResponseSink, type RequestSource } from './server/cycle.js';
export { buildHttpScope, buildWebSocketScope, type RequestHead } from './server/scope.js';
export { Lifespan } from './server/lifespan.js';
export { resolveServerOptions, consoleLogger, SERVER_DEFAULTS, type ServerOptions, type ResolvedServerOptions, type Logger, type LifespanMode, type LogLevel } from './server/options.js';

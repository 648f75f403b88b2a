// Server limits and timeouts with their defaults, validated in one place.
import { AlbanyError, ErrorCodes } from '../errors.js';
import type { HttpMetrics } from '../observe/http-metrics.js';
import { tlsProblems, type TlsOptions } from './tls.js';
import { DEFAULT_FORWARDED_ALLOW_IPS } from './proxy-headers.js';
import type { WebSocketOptions } from './websocket.js';
import type { AccessLogFormat, LineSink } from '../observe/access-log.js';

/** Lifespan handling: `auto` tolerates apps without lifespan support, `on` requires it, `off` skips it. */
export type LifespanMode = 'auto' | 'on' | 'off';
/** How much the server logs. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** Options for {@link serve} / {@link createServer}. All optional. */
export interface ServerOptions {
  /** Interface to bind (default 127.0.0.1). */
  host?: string;
  /** Port to bind; 0 picks a free one (default 8000). */
  port?: number;
  /** Listen on a Unix socket path instead of host/port (for nginx `proxy_pass http://unix:`). */
  uds?: string;
  /** Largest request body accepted; larger → 413 (default 10 MiB; 0 = no limit). */
  maxBodySize?: number;
  /** Largest request head accepted; larger → 431 (default 16 KiB). */
  maxHeaderSize?: number;
  /** Time to receive the whole request head (default 30 s; slowloris guard). */
  headersTimeoutMs?: number;
  /**
   * Time for the whole exchange (default 300 s; 0 = none): node cuts a request still arriving with
   * 408, and an app that has not finished its response by then gets its client a 504 (or, once the
   * response started, a closed connection) and `http.disconnect`.
   */
  requestTimeoutMs?: number;
  /** How long an idle keep-alive connection stays open (default 5 s). */
  keepAliveTimeoutMs?: number;
  /** How long close() lets in-flight requests run before cutting them (default 10 s). */
  gracefulTimeoutMs?: number;
  /** Lifespan protocol handling (default auto). */
  lifespan?: LifespanMode;
  /** Log verbosity (default info). */
  logLevel?: LogLevel;
  /** Mount point reported to apps as `scope.rootPath` (default ""). */
  rootPath?: string;
  /** Trust X-Forwarded-For/Proto and Forwarded from these peers (see proxy-headers). */
  proxyHeaders?: boolean;
  /**
   * Let an app that can answer node:http requests itself (a `fromFetch` app) do so on this host,
   * skipping the gateway's messages (default true). false sends every request through the gateway.
   */
  directApps?: boolean;
  /** Addresses trusted for proxy headers (default loopback). `*` trusts everyone. */
  forwardedAllowIps?: string[];
  /** Where log lines go (default stderr). */
  logger?: Logger;
  /** Write one access log line per request (default false here; the CLI turns it on). */
  accessLog?: boolean;
  /** Access log layout: `text` or `json` lines (default text). */
  logFormat?: AccessLogFormat;
  /** Where access log lines go (default process.stdout). */
  accessLogStream?: LineSink;
  /** Requests in flight beyond this get 503 before the app runs (default 0 = no limit). */
  limitConcurrency?: number;
  /** After this many requests, `onMaxRequests` is called once (default 0 = never); the cluster recycles the worker. */
  maxRequests?: number;
  /** Called once when `maxRequests` requests have arrived. */
  onMaxRequests?: () => void;
  /**
   * Report when the event loop does not turn for this many milliseconds (default 100; 0 turns the
   * blocking detector off): a watchdog thread logs the request and the stack that held it.
   */
  blockThresholdMs?: number;
  /** WebSocket limits for upgrade requests (see `WebSocketOptions`); `false` refuses upgrades. */
  websocket?: Pick<WebSocketOptions, 'maxMessageSize' | 'pingIntervalMs' | 'sendHighWaterMark'> | false;
  /** Serve HTTPS with this key and certificate: HTTP/2 to clients that offer it (ALPN), HTTP/1.1 to the rest. */
  tls?: TlsOptions;
  /**
   * Count requests, in-flight, durations and event-loop figures here (see observe/http-metrics); none kept without it.
   */
  metrics?: HttpMetrics;
}

/** Options with every default filled in. */
export type ResolvedServerOptions = Required<
  Omit<ServerOptions, 'uds' | 'logger' | 'websocket' | 'tls' | 'metrics' | 'accessLogStream' | 'onMaxRequests'>
> & {
  uds: string | undefined;
  logger: Logger;
  websocket: ServerOptions['websocket'];
  tls: TlsOptions | undefined;
  metrics: HttpMetrics | undefined;
  accessLogStream: LineSink | undefined;
  onMaxRequests: (() => void) | undefined;
};

/** A minimal leveled logger. */
export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** A logger writing `level: message` lines to stderr at or above `level`. */
export function consoleLogger(level: LogLevel = 'info'): Logger {
  const min = LEVELS[level];
  const at = (l: LogLevel) => (LEVELS[l] >= min ? (msg: string) => process.stderr.write(`${l}: ${msg}\n`) : () => {});
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** The defaults, shown by `--help`. */
export const SERVER_DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  port: 8000,
  maxBodySize: 10 * 1024 * 1024,
  maxHeaderSize: 16 * 1024,
  headersTimeoutMs: 30_000,
  requestTimeoutMs: 300_000,
  keepAliveTimeoutMs: 5_000,
  gracefulTimeoutMs: 10_000,
  lifespan: 'auto' as LifespanMode,
  logLevel: 'info' as LogLevel,
  rootPath: '',
  proxyHeaders: false,
  directApps: true,
  blockThresholdMs: 100,
  forwardedAllowIps: [...DEFAULT_FORWARDED_ALLOW_IPS],
  accessLog: false,
  logFormat: 'text' as AccessLogFormat,
  limitConcurrency: 0,
  maxRequests: 0,
});

function nonNegativeInt(name: keyof ServerOptions, value: unknown, problems: string[]): void {
  if (value !== undefined && (typeof value !== 'number' || !Number.isInteger(value) || value < 0)) {
    problems.push(`options.${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
  }
}

/** Fills defaults and validates; throws one `ERR_ALBANY_INVALID_CONFIG` naming every bad option. */
export function resolveServerOptions(options: ServerOptions = {}): ResolvedServerOptions {
  const problems: string[] = [];
  for (const key of [
    'port',
    'maxBodySize',
    'maxHeaderSize',
    'headersTimeoutMs',
    'requestTimeoutMs',
    'keepAliveTimeoutMs',
    'gracefulTimeoutMs',
    'limitConcurrency',
    'maxRequests',
    'blockThresholdMs',
  ] as const) {
    nonNegativeInt(key, options[key], problems);
  }
  if (options.port !== undefined && options.port > 65535)
    problems.push(`options.port must be at most 65535, got ${options.port}`);
  if (options.lifespan !== undefined && !['auto', 'on', 'off'].includes(options.lifespan)) {
    problems.push(`options.lifespan must be one of auto, on, off; got ${JSON.stringify(options.lifespan)}`);
  }
  if (options.logLevel !== undefined && !(options.logLevel in LEVELS)) {
    problems.push(
      `options.logLevel must be one of ${Object.keys(LEVELS).join(', ')}; got ${JSON.stringify(options.logLevel)}`,
    );
  }
  if (options.logFormat !== undefined && options.logFormat !== 'text' && options.logFormat !== 'json') {
    problems.push(`options.logFormat must be one of text, json; got ${JSON.stringify(options.logFormat)}`);
  }
  if (
    options.rootPath !== undefined &&
    options.rootPath !== '' &&
    (!options.rootPath.startsWith('/') || options.rootPath.endsWith('/'))
  ) {
    problems.push(`options.rootPath must start with "/" and not end with one, got ${JSON.stringify(options.rootPath)}`);
  }
  const { headersTimeoutMs: headers, requestTimeoutMs: request } = options;
  if (headers !== undefined && request !== undefined && request > 0 && headers > request) {
    problems.push(
      `options.headersTimeoutMs (${headers}) must not exceed options.requestTimeoutMs (${request}): the head ` +
        `is part of the request`,
    );
  }
  problems.push(...tlsProblems(options.tls));
  if (problems.length) {
    throw new AlbanyError(ErrorCodes.ERR_ALBANY_INVALID_CONFIG, `invalid server options:\n  ${problems.join('\n  ')}`, {
      details: { problems },
    });
  }
  const merged = { ...SERVER_DEFAULTS, ...stripUndefined(options) };
  // node:http refuses a headersTimeout above requestTimeout; a short request timeout alone shortens the default head
  // timeout.
  if (merged.requestTimeoutMs > 0 && merged.headersTimeoutMs > merged.requestTimeoutMs)
    merged.headersTimeoutMs = merged.requestTimeoutMs;
  return {
    ...merged,
    uds: options.uds,
    tls: options.tls,
    metrics: options.metrics,
    logger: options.logger ?? consoleLogger(merged.logLevel),
    accessLogStream: options.accessLogStream,
    onMaxRequests: options.onMaxRequests,
  } as ResolvedServerOptions;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

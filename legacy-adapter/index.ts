// legacy(handlerModule, options) → App: blocking handlers behind the gateway interface, run in a pool.
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { App, HttpScope, Receive, Send } from '../src/gateway/types.js';
import type { OnDisconnect, PoolConfig } from '../src/pool/config-types.js';
import { LegacyPool, createPool, type NamedPoolConfigInput } from '../src/pool/pool.js';
import { declarePoolName } from '../src/pool/config-process.js';
import type { HandlerStyle } from '../src/pool/protocol.js';
import { withDirectNodeHandler } from '../src/server/direct.js';
import { runExchange, type ExchangeSettings } from './exchange.js';
import { REFUSED_WHOLE } from './refusal.js';

/** Options of one legacy mount. */
export interface LegacyOptions {
  /**
   * A pool to share, or the config of a pool this mount creates (at lifespan startup, else on first
   * request) and owns. The config merges with the config file, env and `--pool-*` flags like any
   * pool's (see createPool); a `name` picks its `pools.<name>` section and `ALBANY_POOLS_<NAME>_*` variables.
   */
  pool?: LegacyPool | PoolConfig | NamedPoolConfigInput;
  /** Force the handler style instead of detecting it (see the worker's loader for the rules). */
  style?: HandlerStyle;
  /** The export to call; `handle` or `default` when absent. */
  export?: string;
  /** What to do with a running request whose client left; the pool config's value when absent. */
  onDisconnect?: OnDisconnect;
  /** The worker waits for the client every this many response bytes (default 256 KiB). */
  ackBytes?: number;
  /** … or every this many response chunks (default 64). */
  ackMessages?: number;
  /** Where handler errors (with their stacks) and `wsgi.errors` go; `console.error` by default. */
  log?: (message: string, error?: unknown) => void;
}

/** A legacy mount: an App that also exposes its pool and a way to stop it. */
export interface LegacyApp extends App {
  /** The pool the requests run in (created on first use when the mount owns it). */
  readonly pool: LegacyPool;
  /** Closes the pool if this mount created it (a shared pool is left to its owner). */
  close(): Promise<void>;
}

/**
 * Wraps a blocking handler module as a gateway App. The module is loaded inside the pool's workers,
 * never on this thread. Lifespan shutdown closes a pool the mount owns; websocket scopes are refused.
 *
 * ```ts
 * const app = legacy(new URL('./handlers/app.js', import.meta.url), { pool: { maxThreads: 4 } });
 * ```
 */
export function legacy(handlerModule: URL | string, options: LegacyOptions = {}): LegacyApp {
  const moduleUrl = toModuleUrl(handlerModule);
  const log =
    options.log ??
    ((message: string, error?: unknown) =>
      error === undefined ? console.error(message) : console.error(message, error));
  const owned = !(options.pool instanceof LegacyPool);
  let pool: LegacyPool | undefined = options.pool instanceof LegacyPool ? options.pool : undefined;
  const poolName = (options.pool as NamedPoolConfigInput | undefined)?.name;
  // Declared now, not on first request: the start-up check for unused `pools.<name>` runs before that.
  if (owned && typeof poolName === 'string') declarePoolName(poolName);
  const getPool = (): LegacyPool => (pool ??= createPool((options.pool ?? {}) as NamedPoolConfigInput, { log }));
  let settings: ExchangeSettings | undefined;
  const getSettings = (): ExchangeSettings =>
    (settings ??= {
      pool: getPool(),
      mount: {
        moduleUrl,
        exportName: options.export,
        style: options.style,
        ackBytes: options.ackBytes ?? 256 * 1024,
        ackMessages: options.ackMessages ?? 64,
      },
      onDisconnect: options.onDisconnect ?? getPool().config.onDisconnect,
      log,
    });
  const close = async (): Promise<void> => {
    if (owned && pool !== undefined) await pool.close();
  };

  // Not async: the http path hands back runExchange's promise as is (no extra promise per request).
  const app = (scope: Parameters<App>[0], receive: Receive, send: Send): Promise<void> => {
    if (scope.type === 'http') return runExchange(scope as HttpScope, receive, send, settings ?? getSettings());
    if (scope.type === 'lifespan') return lifespan(receive, send, getPool, close);
    return refuseWebSocket(receive, send);
  };
  Object.defineProperty(app, 'pool', { get: getPool, enumerable: true });
  // On albany's node:http host a request without a body (HTTP/1.1, no limits or proxy headers: see
  // HttpConnection.handle) comes here first: with the pool full it is refused before its scope, cycle
  // and messages exist, the same 503 as the gateway path's (exchange.ts), which, for a request with
  // no body to wait for, decides admission in the same event-loop turn. Anything else takes that path.
  withDirectNodeHandler(app, (exchange) => {
    if (pool?.refuses() === true) {
      const { status, headers, body } = REFUSED_WHOLE;
      exchange.sendWhole(status, headers, body, body.length, false, true);
    } else exchange.run(app);
  });
  return Object.assign(app, { close }) as LegacyApp;
}

async function refuseWebSocket(receive: Receive, send: Send): Promise<void> {
  await receive();
  await send({ type: 'websocket.close', code: 1000 });
}

async function lifespan(receive: Receive, send: Send, start: () => unknown, close: () => Promise<void>): Promise<void> {
  for (;;) {
    const message = await receive();
    if (message.type === 'lifespan.startup') {
      // The pool starts with the server, not with the first request: its metric series exist from
      // the first scrape and its minThreads are warm before traffic arrives.
      start();
      await send({ type: 'lifespan.startup.complete' });
    } else if (message.type === 'lifespan.shutdown') {
      await close();
      await send({ type: 'lifespan.shutdown.complete' });
      return;
    }
  }
}

function toModuleUrl(handlerModule: URL | string): string {
  if (handlerModule instanceof URL) return handlerModule.href;
  if (/^[a-z][a-z0-9+.-]*:/i.test(handlerModule) && !/^[a-z]:[\\/]/i.test(handlerModule)) return handlerModule;
  return pathToFileURL(isAbsolute(handlerModule) ? handlerModule : resolve(handlerModule)).href;
}

export { LegacyPool, createPool } from '../src/pool/pool.js';
export type { HandlerStyle } from '../src/pool/protocol.js';
export type {
  HeaderInput,
  NodeHandler,
  PlainHandler,
  PlainRequest,
  PlainResponse,
  StartResponse,
  WsgiApp,
  WsgiEnviron,
  WsgiErrors,
  WsgiInput,
} from './types.js';

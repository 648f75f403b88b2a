// WebSocket host: node's `upgrade` event → websocket scope → app, with the `ws` package doing the
// framing; keep-alive pings, a message-size cap and send backpressure are settled here.
import type http from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import { AlbanyError, ErrorCodes } from '../errors.js';
import type { App } from '../gateway/types.js';
import { BAD_HOST_MESSAGE, rawHostOk } from './host.js';
import {
  DEFAULT_FORWARDED_ALLOW_IPS,
  rawForwardedHostsOk,
  requestHead,
  socketPeer,
  type HeadMount,
} from './proxy-headers.js';
import { buildWebSocketScope } from './scope.js';
import { kAccept, WebSocketConnection, type AcceptChoice } from './websocket-connection.js';

/** Options for {@link attachWebSocket}. */
export interface WebSocketOptions {
  /** Largest message accepted; a larger one closes the connection with 1009 (default 16 MiB). */
  maxMessageSize?: number;
  /** Ping every open connection this often; one that missed the previous pong is dropped (default 30 s; 0 = off). */
  pingIntervalMs?: number;
  /** `send()` waits for the socket once this many bytes are buffered (default 1 MiB). */
  sendHighWaterMark?: number;
  /** Mount point reported as `scope.rootPath` (default ""). */
  rootPath?: string;
  /** Lifespan state, shallow-copied into every scope. */
  state?: Record<string, unknown>;
  /** Believe X-Forwarded-For / X-Forwarded-Proto / Forwarded from trusted peers (default false; see ServerOptions). */
  proxyHeaders?: boolean;
  /** The peers trusted with proxy headers (default: loopback). */
  forwardedAllowIps?: string[];
  /** Where app errors go (default console.error). */
  logError?: (message: string) => void;
  /** Where a refused handshake is reported (an HTTP-only app; default: logError). */
  logWarning?: (message: string) => void;
}

/** What {@link attachWebSocket} returns. */
export interface WebSocketHost {
  /** Open connections. */
  readonly connections: number;
  /** Stops pinging and closes every open connection with `code` (default 1001, going away). */
  close(code?: number): void;
}

const DEFAULTS = { maxMessageSize: 16 * 1024 * 1024, pingIntervalMs: 30_000, sendHighWaterMark: 1024 * 1024 };

function checkOptions(options: WebSocketOptions): void {
  const problems: string[] = [];
  for (const key of ['maxMessageSize', 'pingIntervalMs', 'sendHighWaterMark'] as const) {
    const v = options[key];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 0))
      problems.push(`options.${key} must be a non-negative integer, got ${JSON.stringify(v)}`);
  }
  const { proxyHeaders, forwardedAllowIps } = options;
  if (proxyHeaders !== undefined && typeof proxyHeaders !== 'boolean') {
    problems.push(`options.proxyHeaders must be a boolean, got ${JSON.stringify(proxyHeaders)}`);
  }
  const ips = forwardedAllowIps as unknown;
  if (ips !== undefined && (!Array.isArray(ips) || ips.some((ip) => typeof ip !== 'string'))) {
    const got = JSON.stringify(ips);
    problems.push(`options.forwardedAllowIps must be an array of addresses or CIDR ranges (strings), got ${got}`);
  }
  if (problems.length)
    throw new AlbanyError(
      ErrorCodes.ERR_ALBANY_INVALID_CONFIG,
      `invalid websocket options:\n  ${problems.join('\n  ')}`,
      { details: { problems } },
    );
}

// A handshake refused for its Host or X-Forwarded-Host: the same 400 an HTTP request gets.
const BAD_HOST_RESPONSE =
  'HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\n' +
  `content-length: ${BAD_HOST_MESSAGE.length}\r\n\r\n${BAD_HOST_MESSAGE}`;

function address(host: string | undefined, port: number | undefined): [string, number] | null {
  return host === undefined || port === undefined ? null : [host, port];
}

/**
 * Runs `app` for every WebSocket upgrade on `server`. The app receives `websocket.connect` and
 * answers `websocket.accept` (optionally with a subprotocol the client offered and extra headers)
 * or `websocket.close` (→ HTTP 403). Non-websocket upgrades get 400.
 */
export function attachWebSocket(server: http.Server, app: App, options: WebSocketOptions = {}): WebSocketHost {
  checkOptions(options);
  const maxMessageSize = options.maxMessageSize ?? DEFAULTS.maxMessageSize;
  const pingIntervalMs = options.pingIntervalMs ?? DEFAULTS.pingIntervalMs;
  const sendHighWaterMark = options.sendHighWaterMark ?? DEFAULTS.sendHighWaterMark;
  const log = options.logError ?? ((m: string) => console.error(m));
  const logError = (error: unknown, what: string) => {
    log(`exception in app for "${what}": ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  };

  const mount: HeadMount = {
    rootPath: options.rootPath ?? '',
    state: options.state ?? {},
    proxyHeaders: options.proxyHeaders === true,
    forwardedAllowIps: options.forwardedAllowIps ?? DEFAULT_FORWARDED_ALLOW_IPS,
  };

  // The ws server and the pinger come with the first upgrade, not with the HTTP server: most servers
  // never see one, and building them at start-up costs every HTTP request. Measured with
  // bench:instructions (albany-detector-off): ~800-1,000 more instructions per request, in node's
  // own per-request code (IncomingMessage and ServerResponse construction take generic property
  // accesses, LoadIC_Megamorphic / StoreIC, that a process without the ws server does not).
  // The ws package itself is imported then too. Loading it at start-up (with node:https and its global
  // Agent) runs more of node's EventEmitter.init before the first request, so V8 gives that function
  // its feedback earlier; with the blocking detector's watchdog Worker (an EventEmitter with two stdio
  // Readables) it then saw six shapes (node --log-ic), past the four V8 keeps, and the Socket /
  // IncomingMessage / ServerResponse constructors that inline it took megamorphic property accesses on
  // every request (albany-detector-on ÷ off 1.014-1.020 Ir/req). With the import here: three shapes.
  let wss: WebSocketServer | undefined;
  let loading: Promise<WebSocketServer> | undefined;
  let closed = false;
  const open = new Set<WebSocket>();
  const alive = new WeakSet<WebSocket>();
  let pinger: NodeJS.Timeout | undefined;
  const startWss = (Server: typeof WebSocketServer): WebSocketServer => {
    const made = new Server({
      noServer: true,
      maxPayload: maxMessageSize,
      // The app picks the subprotocol in websocket.accept; ws asks us here during the handshake.
      handleProtocols: (_offered, req) =>
        (req as unknown as Record<symbol, AcceptChoice>)[kAccept]?.subprotocol ?? false,
      // perMessageDeflate off (ws default): compression costs CPU per message and opens zip-bomb risks.
    });
    made.on('headers', (headers: string[], req: IncomingMessage) => {
      const choice = (req as unknown as Record<symbol, AcceptChoice>)[kAccept];
      if (choice) for (const [name, value] of choice.headers) headers.push(`${name}: ${value}`);
    });
    if (pingIntervalMs > 0 && !closed) {
      pinger = setInterval(() => {
        for (const ws of open) {
          if (!alive.has(ws)) {
            ws.terminate();
            continue;
          }
          alive.delete(ws);
          ws.ping();
        }
      }, pingIntervalMs);
      pinger.unref();
    }
    return made;
  };
  const onOpen = (ws: WebSocket) => {
    open.add(ws);
    alive.add(ws);
    ws.on('pong', () => alive.add(ws));
    ws.once('close', () => open.delete(ws));
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {});
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    // node runs the upgrade listener even for an HTTP/1.1 request without Host (its
    // requireHostHeader check covers only the request event), so the whole Host rule is ours here.
    // With proxy headers on, X-Forwarded-Host gets the same check as on HTTP requests.
    const hostOk = rawHostOk(req.rawHeaders, req.httpVersion !== '1.0');
    if (!hostOk || (mount.proxyHeaders && !rawForwardedHostsOk(req.rawHeaders))) {
      socket.end(BAD_HOST_RESPONSE);
      return;
    }
    const s = req.socket;
    const local = s.address() as { address?: string; port?: number };
    // The same head builder as HTTP requests, so proxy headers set the client and scheme here too.
    const scope = buildWebSocketScope(requestHead(req, socketPeer(s), address(local.address, local.port), mount));
    const connect = (server: WebSocketServer) => {
      const connection = new WebSocketConnection(scope, {
        wss: server,
        req,
        socket,
        head,
        sendHighWaterMark,
        logError,
        logWarning: options.logWarning ?? log,
        onOpen,
      });
      void connection.run(app);
    };
    if (wss !== undefined) return connect(wss);
    // The first upgrades wait for the ws package (node set the socket's flowing state back to null
    // before the upgrade event, so bytes that come meanwhile stay buffered for ws).
    loading ??= import('ws').then((m) => (wss = startWss(m.WebSocketServer)));
    loading.then(
      (made) => {
        if (closed) socket.destroy();
        else connect(made);
      },
      (error: unknown) => {
        log(`websocket upgrade refused: the ws package did not load: ${String(error)}`);
        socket.destroy();
      },
    );
  };
  server.on('upgrade', onUpgrade);

  return {
    get connections() {
      return open.size;
    },
    close(code = 1001) {
      closed = true;
      if (pinger) clearInterval(pinger);
      server.off('upgrade', onUpgrade);
      for (const ws of open) ws.close(code);
    },
  };
}

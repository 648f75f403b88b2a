// mount(): a gateway App that dispatches to other gateway apps by path prefix, so async routes,
// node handlers (Express) and legacy pools live side by side without hand-written rootPath slicing.
import { AlbanyError, ErrorCodes } from '../errors.js';
import type { App, HttpScope, Receive, Scope, Send, WebSocketScope } from '../gateway/types.js';
import { consoleLogger, type Logger } from '../server/options.js';
import { fanOutLifespan, type LifespanMember } from './lifespan-fanout.js';
import { pathBelow } from './prefix.js';

/** The routes of a {@link mount}: prefix → app, as an object, a Map or a list of pairs. */
export type MountRoutes =
  | Readonly<Record<string, App>>
  | ReadonlyMap<string, App>
  | ReadonlyArray<readonly [prefix: string, app: App]>;

/** Options for {@link mount}. */
export interface MountOptions {
  /** Answers requests no prefix owns (default: 404 for http, a refused handshake for websocket). */
  notFound?: App;
  /** Where the lifespan fan-out reports (default: warnings and errors to stderr). */
  logger?: Logger;
}

/** A gateway App made by {@link mount}; `prefixes` lists what it dispatches on, longest first. */
export interface MountedApp extends App {
  readonly prefixes: readonly string[];
}

const NOT_FOUND = new TextEncoder().encode('Not Found');

/** The default `notFound`: 404 for http; a websocket handshake is refused (the client sees 403). */
async function notFound(scope: Scope, receive: Receive, send: Send): Promise<void> {
  if (scope.type === 'websocket') {
    await receive();
    await send({ type: 'websocket.close', code: 1000 });
    return;
  }
  await send({
    type: 'http.response.start',
    status: 404,
    headers: [
      ['content-type', 'text/plain; charset=utf-8'],
      ['content-length', String(NOT_FOUND.length)],
    ],
  });
  await send({ type: 'http.response.body', body: NOT_FOUND });
}

function invalid(problem: string): AlbanyError {
  return new AlbanyError(ErrorCodes.ERR_ALBANY_INVALID_CONFIG, `mount(): ${problem}`);
}

/** Checks and normalizes the routes ("/" becomes "", which owns everything), in the order given. */
function routeTable(routes: MountRoutes): Array<[prefix: string, app: App]> {
  if (routes === null || typeof routes !== 'object')
    throw invalid(
      `expected an object, Map or array of [prefix, app] pairs, got ${routes === null ? 'null' : typeof routes}`,
    );
  const pairs: Array<readonly [string, App]> = Array.isArray(routes)
    ? routes
    : routes instanceof Map
      ? [...routes]
      : Object.entries(routes);
  const table: Array<[string, App]> = [];
  const seen = new Set<string>();
  for (const pair of pairs) {
    const [prefix, app] = pair as readonly [unknown, unknown];
    if (typeof prefix !== 'string') throw invalid(`a prefix must be a string, got ${typeof prefix}`);
    if (
      prefix !== '' &&
      prefix !== '/' &&
      (!prefix.startsWith('/') || prefix.endsWith('/') || prefix.includes('//') || /[?#]/.test(prefix))
    ) {
      throw invalid(
        `prefix ${JSON.stringify(prefix)} must be "/" or a path that starts with "/", does not end with "/" ` +
          `and has no empty segment, "?" or "#" (e.g. "/api")`,
      );
    }
    if (typeof app !== 'function') {
      throw invalid(
        `the app for ${JSON.stringify(prefix)} must be a gateway App function (wrap a (req, res) handler ` +
          `with fromNodeHandler, a fetch handler with fromFetch, a blocking module with legacy()), got ` +
          `${app === null ? 'null' : typeof app}`,
      );
    }
    const key = prefix === '/' ? '' : prefix;
    if (seen.has(key)) throw invalid(`prefix ${JSON.stringify(prefix)} is given twice`);
    seen.add(key);
    table.push([key, app as App]);
  }
  if (table.length === 0) throw invalid('no routes given');
  return table;
}

/**
 * A gateway App that hands each request to the app mounted at the longest prefix of its path:
 *
 * ```ts
 * const app = mount({ '/legacy': legacy(url), '/api': fromNodeHandler(express), '/': gatewayApp });
 * ```
 *
 * Prefixes match whole segments of the decoded `scope.path`: `/app` owns `/app`, `/app/` and
 * `/app/x`, never `/apple`. The mounted app gets `rootPath` extended by the prefix and `path` the
 * part below it (`/app/x` → rootPath `/app`, path `/x`; the prefix itself → path `/`), as albany's
 * servers do with `--root-path`; `rawPath` and `queryString` stay as received. Mounts nest. A
 * websocket scope is dispatched the same way. Lifespan goes to every distinct mounted app: startup
 * completes when all have completed it, one failure fails it (after the others are shut down again),
 * shutdown goes to all; apps that do not support lifespan are left out. A path no prefix owns gets
 * `options.notFound` (404 by default).
 */
export function mount(routes: MountRoutes, options: MountOptions = {}): MountedApp {
  const declared = routeTable(routes);
  const fallback = options.notFound ?? notFound;
  const logger = options.logger ?? consoleLogger('warn');
  // Lifespan members in the order the routes were given (startup reaches them in that order), each
  // distinct app once however many prefixes it is mounted at.
  const members: LifespanMember[] = [];
  for (const [prefix, app] of declared) {
    const known = members.find((m) => m.app === app);
    if (known) known.prefixes.push(prefix);
    else members.push({ app, prefixes: [prefix] });
  }
  if (options.notFound !== undefined && !members.some((m) => m.app === options.notFound))
    members.push({ app: options.notFound, prefixes: ['(notFound)'] });
  // Longest prefix first: the first match is the most specific one.
  const table = declared.slice().sort((a, b) => b[0].length - a[0].length);
  const count = table.length;
  const prefixes = table.map(([p]) => p);
  const apps = table.map(([, a]) => a);

  // Not async: the mounted app's promise is handed back as is.
  const mounted = function mounted(scope: Scope, receive: Receive, send: Send): Promise<void> {
    if (scope.type === 'lifespan') return fanOutLifespan(members, scope, receive, send, logger);
    const path = scope.path;
    for (let i = 0; i < count; i++) {
      const prefix = prefixes[i]!;
      const below = pathBelow(path, prefix);
      if (below === undefined) continue;
      if (prefix === '') return apps[i]!(scope, receive, send);
      const inner: HttpScope | WebSocketScope = { ...scope, rootPath: scope.rootPath + prefix, path: below };
      return apps[i]!(inner, receive, send);
    }
    return fallback(scope, receive, send);
  };
  Object.defineProperty(mounted, 'prefixes', { value: Object.freeze(prefixes.map((p) => p || '/')), enumerable: true });
  return mounted as MountedApp;
}

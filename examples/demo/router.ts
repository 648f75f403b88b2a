// A tiny prefix router written as a gateway app: mounted apps see the prefix in scope.rootPath.
import type { App, HttpScope, Scope, WebSocketScope } from '../../src/index.js';

/**
 * Routes by path prefix; the first match wins; `fallback` answers the rest. `onShutdown` runs at
 * lifespan shutdown (close pools and clients there).
 */
export function router(routes: Array<[prefix: string, app: App]>, fallback: App, onShutdown?: () => Promise<void>): App {
  return async (scope, receive, send) => {
    if (scope.type === 'lifespan') {
      // Every mounted app shares one lifespan: answer it here so the server can start.
      for (;;) {
        const m = await receive();
        if (m.type === 'lifespan.startup') await send({ type: 'lifespan.startup.complete' });
        else if (m.type === 'lifespan.shutdown') {
          await onShutdown?.();
          await send({ type: 'lifespan.shutdown.complete' });
          return;
        }
      }
    }
    for (const [prefix, app] of routes) {
      if (scope.path === prefix || scope.path.startsWith(prefix === '/' ? '/' : `${prefix}/`)) {
        return app(mountScope(scope, prefix), receive, send);
      }
    }
    return fallback(scope, receive, send);
  };
}

function mountScope(scope: HttpScope | WebSocketScope, prefix: string): Scope {
  if (prefix === '/' || prefix === '') return scope;
  return { ...scope, rootPath: scope.rootPath + prefix, path: scope.path.slice(prefix.length) || '/' };
}

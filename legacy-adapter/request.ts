// Main side: the request a legacy handler gets, copied from the gateway scope field by field (no
// work on the event loop); the worker turns it into an environ or a req (legacy-adapter/worker/).
import type { HttpScope } from '../src/gateway/types.js';
import type { LegacyRequest } from '../src/pool/protocol.js';
import { targetBelowRoot } from '../src/routing/prefix.js';

/** The request as the worker needs it: the scope's fields plus the Node-style url (relative to the mount). */
export function buildLegacyRequest(scope: HttpScope): LegacyRequest {
  // Whole segments only: under rootPath "/app" a request for "/apple" stays "/apple", never "/le".
  let path = targetBelowRoot(scope);
  if (path.charCodeAt(0) !== 47 /* / */) path = `/${path}`;
  const url = scope.queryString === '' ? path : `${path}?${scope.queryString}`;
  return {
    method: scope.method,
    url,
    path: scope.path,
    rootPath: scope.rootPath,
    queryString: scope.queryString,
    scheme: scope.scheme,
    httpVersion: scope.httpVersion,
    server: scope.server,
    client: scope.client,
    headers: scope.headers,
  };
}

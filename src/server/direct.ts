// Apps that can answer a node:http request without the gateway's messages. An adapter whose app
// is a thin translation (fromFetch: a fetch handler's Request in, Response out) pays for the
// translation twice when hosted on node:http: node request → scope → Request, and Response →
// messages → node response, with every header validated by us and again by node's writeHead.
// Such an app may carry a direct handler; albany's node:http host then hands it the request as an
// exchange, and the handler answers the simple cases itself and runs anything else through the
// gateway cycle (`exchange.run`) so behaviour stays the same either way.
import type { App } from '../gateway/types.js';
import type { ErrorLogger, HttpCycle } from './cycle.js';
import type { RequestHead } from './scope.js';

/** One request on albany's node:http host, as a direct handler sees it. */
export interface NodeExchange {
  /** The request line, raw headers and connection facts (the scope is built from these on demand). */
  readonly head: RequestHead;
  /** Where app errors are reported, with the request line. */
  readonly logError: ErrorLogger;
  /** The gateway cycle for this request (scope, receive, send), built on the first call. */
  openCycle(): HttpCycle;
  /** Runs `app` on this request through the gateway cycle: the fallback for anything not answered directly. */
  run(app: App): void;
  /**
   * Writes a complete response at once: status, a flat `[name, value, …]` header list and the whole
   * body of `size` bytes (text goes out as UTF-8). With `ownLength` the body gets a content-length
   * of `size` (the caller found no framing header and the status and method allow one); without,
   * the headers are final. node's writeHead validates the headers and throws on a bad one, before
   * anything is sent, unless `checked` says they are albany's own constants.
   */
  sendWhole(
    status: number,
    headers: string[],
    body: string | Uint8Array | null,
    size: number,
    ownLength: boolean,
    checked: boolean,
  ): void;
}

/** Answers one request on albany's node:http host; see {@link NodeExchange}. */
export type DirectNodeHandler = (exchange: NodeExchange) => void;

const kDirect = Symbol('albany.directNodeHandler');

/** Marks `app` as answerable by `handler` on albany's node:http host; returns `app`. */
export function withDirectNodeHandler<T extends App>(app: T, handler: DirectNodeHandler): T {
  Object.defineProperty(app, kDirect, { value: handler });
  return app;
}

/** The direct handler `app` carries, if any. */
export function directNodeHandlerOf(app: App): DirectNodeHandler | undefined {
  return (app as App & { [kDirect]?: DirectNodeHandler })[kDirect];
}

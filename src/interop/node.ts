// (req, res) handlers (Express, Connect, Koa's callback()) run as gateway apps, and gateway apps
// mount inside node:http frameworks (Express middleware, Fastify routes).
import { AlbanyError, ErrorCodes } from '../errors.js';
import type { App, HttpReceiveMessage, HttpScope, Receive, Scope } from '../gateway/types.js';
import { IncomingMessage, ServerResponse } from 'node:http';
import { NodeHandlerExchange, type NodeHandler } from './node-exchange.js';
import { PrototypeSlot } from './node-prototypes.js';
import { scopeRequestHead, whenComplete } from './node-request.js';

export { toNodeHandler, type ToNodeHandlerOptions, type NodeMiddleware } from './node-mount.js';
export { fastifyPlugin, type FastifyPluginOptions } from './node-fastify.js';
export type { NodeHandler } from './node-exchange.js';

/** Waits (after the body is fully read) for the host to report the client gone. */
async function watchDisconnect(receive: Receive): Promise<void> {
  for (;;) {
    const message = (await receive()) as HttpReceiveMessage;
    if (message.type === 'http.disconnect') return;
  }
}

/**
 * Wraps a node:http request listener as a gateway App. The handler gets a real
 * `http.IncomingMessage` (body pulled from `receive()` as it reads) and a real
 * `http.ServerResponse` (headers and status kept by node; each write sent at once as an
 * `http.response.*` message, with backpressure), both on a stand-in socket that on-finished and
 * Koa work with. See docs/interop.md for what differs from a socket-backed pair.
 *
 * Non-http scopes: lifespan is answered as unsupported (the App throws, which `auto` lifespan
 * tolerates); websocket scopes are rejected with `websocket.close`.
 */
export function fromNodeHandler(handler: NodeHandler): App {
  if (typeof handler !== 'function') {
    throw new AlbanyError(
      ErrorCodes.ERR_ALBANY_INTERFACE,
      `fromNodeHandler: expected a (req, res) function, got ${typeof handler}`,
    );
  }
  // An Express app's `request`/`response`: req and res are built with them (see node-prototypes.ts).
  const carrier = handler as { request?: unknown; response?: unknown };
  const requests = new PrototypeSlot(IncomingMessage.prototype);
  const responses = new PrototypeSlot(ServerResponse.prototype);
  return function nodeHandlerApp(scope: Scope, receive, send): Promise<void> {
    if (scope.type !== 'http') return otherScope(scope, send);
    const http = scope as HttpScope;
    const exchange = new NodeHandlerExchange({
      head: scopeRequestHead(http),
      body: { receive },
      send,
      client: http.client,
      server: http.server,
      secure: http.scheme === 'https',
      requestPrototype: requests.check(carrier.request),
      responsePrototype: responses.check(carrier.response),
    });
    const done = exchange.run(handler);
    if (!exchange.bridge.closed) {
      // A slow handler must learn that the client left (req 'aborted', res 'close'), as on node:http.
      whenComplete(exchange.socket, () => {
        if (exchange.bridge.closed) return;
        watchDisconnect(receive).then(
          () => exchange.clientGone(),
          () => {},
        );
      });
    }
    return done;
  };
}

async function otherScope(scope: Scope, send: Parameters<App>[2]): Promise<void> {
  if (scope.type === 'websocket') {
    await send({ type: 'websocket.close', code: 1000 });
    return;
  }
  throw new AlbanyError(
    ErrorCodes.ERR_ALBANY_INTERFACE,
    `a node (req, res) handler does not support the ${scope.type} scope`,
  );
}

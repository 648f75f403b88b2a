// (req, res) handlers (Express, Connect, Koa's callback()) run as gateway apps, and gateway apps
// mount inside node:http frameworks (Express middleware, Fastify routes).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AlbanyError, ErrorCodes } from '../errors.js';
import type { App, HttpReceiveMessage, HttpScope, Receive, Scope } from '../gateway/types.js';
import { abortRequest, createIncomingMessage, whenComplete } from './node-request.js';
import { createServerResponse } from './node-response.js';
import { GatewaySocket } from './node-socket.js';

export { toNodeHandler, type ToNodeHandlerOptions, type NodeMiddleware } from './node-mount.js';
export { fastifyPlugin, type FastifyPluginOptions } from './node-fastify.js';

/** A node:http request listener: what `http.createServer(handler)` accepts. */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => unknown;

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
 * `http.ServerResponse` (headers and status kept by node; output sent as `http.response.*`
 * messages with backpressure). See docs/interop.md for what differs from a socket-backed pair.
 *
 * Non-http scopes: lifespan is answered as unsupported (the App throws, which `auto` lifespan
 * tolerates); websocket scopes are rejected with `websocket.close`.
 */
export function fromNodeHandler(handler: NodeHandler): App {
  if (typeof handler !== 'function') {
    throw new AlbanyError(ErrorCodes.ERR_ALBANY_INTERFACE, `fromNodeHandler: expected a (req, res) function, got ${typeof handler}`);
  }
  return function nodeHandlerApp(scope: Scope, receive, send): Promise<void> {
    if (scope.type !== 'http') return otherScope(scope, send);
    const socket = new GatewaySocket(scope.client, scope.server, scope.scheme === 'https');
    const req = createIncomingMessage(scope as HttpScope, receive, socket);
    const { res, bridge } = createServerResponse(req, send);
    let result: unknown;
    try {
      result = handler(req, res);
    } catch (error) {
      bridge.fail(error);
      return bridge.done;
    }
    if (result !== null && typeof result === 'object' && typeof (result as Promise<unknown>).then === 'function') {
      // Koa's callback() returns a promise that rejects only if its own error handling failed.
      (result as Promise<unknown>).then(undefined, (error: unknown) => bridge.fail(error));
    }
    if (!bridge.closed) {
      // A slow handler must learn that the client left (req 'aborted', res 'close'), as on node:http.
      whenComplete(req, () => {
        if (bridge.closed) return;
        watchDisconnect(receive).then(() => {
          if (bridge.closed) return;
          abortRequest(req);
          bridge.fail(new AlbanyError(ErrorCodes.ERR_ALBANY_CLIENT_DISCONNECTED, 'the client disconnected before the node handler responded'));
        }, () => {});
      });
    }
    return bridge.done.then(undefined, (error: unknown) => {
      if (!req.complete) abortRequest(req);
      throw error;
    });
  };
}

async function otherScope(scope: Scope, send: Parameters<App>[2]): Promise<void> {
  if (scope.type === 'websocket') {
    await send({ type: 'websocket.close', code: 1000 });
    return;
  }
  throw new AlbanyError(ErrorCodes.ERR_ALBANY_INTERFACE, `a node (req, res) handler does not support the ${scope.type} scope`);
}

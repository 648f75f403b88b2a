// One (req, res) exchange over gateway messages: the stand-in socket, the IncomingMessage and the
// ServerResponse wired so that a destroyed socket, a destroyed response and a departed client all
// end the exchange the way they do on node:http. Used in process (fromNodeHandler) and inside
// legacy workers, so both run the same objects.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AlbanyError, ErrorCodes } from '../errors.js';
import type { Address, Send } from '../gateway/types.js';
import {
  abortRequest,
  createIncomingMessage,
  type GatewayIncomingMessage,
  type NodeRequestBody,
  type NodeRequestHead,
} from './node-request.js';
import { createServerResponse, type GatewayServerResponse, type ResponseBridge } from './node-response.js';
import { GatewaySocket, type SocketOwner } from './node-socket.js';

/** A node:http request listener: what `http.createServer(handler)` accepts. */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => unknown;

/** What one exchange is built from. */
export interface NodeExchangeInit {
  head: NodeRequestHead;
  body: NodeRequestBody;
  send: Send;
  client: Address;
  server: Address;
  /** True for https (sets `socket.encrypted`). */
  secure: boolean;
  /** `req` inherits from this (the prototype an Express app would set; see node-prototypes.ts); default IncomingMessage's. */
  requestPrototype?: object | undefined;
  /** `res` inherits from this; default ServerResponse's. */
  responsePrototype?: object | undefined;
}

/** One request's socket, req, res and the bridge their output goes through. */
export class NodeHandlerExchange implements SocketOwner {
  readonly socket: GatewaySocket;
  readonly req: GatewayIncomingMessage;
  readonly res: GatewayServerResponse;
  readonly bridge: ResponseBridge;

  constructor(init: NodeExchangeInit) {
    const socket = new GatewaySocket(init.client, init.server, init.secure);
    const req = createIncomingMessage(init.head, init.body, socket, init.requestPrototype);
    const { res, bridge } = createServerResponse(req, init.send, socket, init.responsePrototype);
    socket.owner = this;
    this.socket = socket;
    this.req = req;
    this.res = res;
    this.bridge = bridge;
  }

  /** See {@link SocketOwner.socketDestroyed}. */
  socketDestroyed(error: Error | undefined, peerGone: boolean): void {
    if (peerGone)
      this.bridge.fail(
        new AlbanyError(
          ErrorCodes.ERR_ALBANY_CLIENT_DISCONNECTED,
          'the client disconnected before the node handler finished',
        ),
      );
    else
      this.bridge.fail(
        error ?? new AlbanyError(ErrorCodes.ERR_ALBANY_HANDLER, 'the node handler destroyed the connection'),
        true,
      );
  }

  /** See {@link SocketOwner.socketClosing}. */
  socketClosing(): void {
    abortRequest(this.req);
  }

  /**
   * Calls the handler; the promise settles when the response is fully handed over, or rejects
   * with why it could not be (the handler threw or destroyed the connection, the client left).
   */
  run(handler: NodeHandler): Promise<void> {
    const bridge = this.bridge;
    let result: unknown;
    try {
      result = handler(this.req, this.res);
    } catch (error) {
      bridge.fail(error);
      return bridge.done;
    }
    if (result !== null && typeof result === 'object' && typeof (result as Promise<unknown>).then === 'function') {
      // Koa's callback() returns a promise that rejects only if its own error handling failed.
      (result as Promise<unknown>).then(undefined, (error: unknown) => bridge.fail(error));
    }
    return bridge.done;
  }

  /** The host says the client is gone: the connection ends as a peer reset does on node:http. */
  clientGone(): void {
    if (this.bridge.closed) return;
    this.socket.hangUp();
  }
}

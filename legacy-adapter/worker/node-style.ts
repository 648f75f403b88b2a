// Node-style (req, res) legacy handlers, worker side: the same http.IncomingMessage /
// http.ServerResponse pair fromNodeHandler builds in process (src/interop/node-exchange.ts), fed by
// the worker's link, so real Express, Connect and Koa apps run unchanged in the pool. Each
// res.write() is posted to the main thread at once; what end() writes travels in the task result.
import { IncomingMessage } from 'node:http';
import type { BatchItem } from '../../src/pool/protocol.js';
import type { HttpReceiveMessage, SendMessage } from '../../src/gateway/types.js';
import { albanyError, hasCode } from '../../src/errors.js';
import { DISCONNECT, SENT } from '../../src/gateway/messages.js';
import { NodeHandlerExchange, type NodeHandler } from '../../src/interop/node-exchange.js';
import type { WorkerLink } from './link.js';
import type { ResponseHead } from './response.js';

/** What a finished response leaves for the task result: the head if not posted yet, and the last chunk. */
export interface NodeTail {
  start: ResponseHead | undefined;
  body: Uint8Array;
}

// How often a handler waiting on the event loop (a file stream, a timer) checks whether the client
// left: the main thread flags it in shared memory, which no event tells this thread about.
const DISCONNECT_POLL_MS = 20;

/**
 * The gateway `send` of one request inside the worker. The head is held until the first body
 * message (an empty one is what flushHeaders() sends) and posted with it; the last body message
 * becomes the task's tail, so a response written in one piece costs no port message.
 */
class WorkerSend {
  private head: ResponseHead | undefined;
  private headPosted = false;
  /** Set by the last body message. */
  tail: NodeTail | undefined;

  constructor(private readonly link: WorkerLink) {}

  readonly send = (message: SendMessage): Promise<void> => {
    if (message.type === 'http.response.start') {
      // The reason extension (res.statusMessage) travels like a WSGI status line's own phrase.
      const reason = message.reason;
      this.head =
        reason === undefined
          ? { status: message.status, headers: message.headers ?? [] }
          : { status: message.status, headers: message.headers ?? [], reason };
      return SENT;
    }
    if (message.type !== 'http.response.body') return SENT; // trailers have no place in the pool protocol
    const body = message.body ?? new Uint8Array(0);
    if (!message.moreBody) {
      this.tail = { start: this.headPosted ? undefined : this.head, body };
      this.headPosted = true;
      return SENT;
    }
    try {
      if (!this.headPosted) {
        this.headPosted = true;
        const head = this.head!;
        this.link.post(
          head.reason === undefined
            ? { type: 'legacy.start', id: this.link.id, status: head.status, headers: head.headers }
            : {
                type: 'legacy.start',
                id: this.link.id,
                status: head.status,
                headers: head.headers,
                reason: head.reason,
              },
        );
      }
      if (body.byteLength > 0) this.link.postBody(body, true);
    } catch (error) {
      // The client left (the link saw the flag): the exchange fails and tears itself down.
      return Promise.reject(error);
    }
    return SENT;
  };
}

/** The request body as the exchange pulls it: the first chunk came with the task, the rest blocks on the link. */
function bodyReader(item: BatchItem, link: WorkerLink): () => HttpReceiveMessage {
  let first = true;
  return () => {
    if (first) {
      first = false;
      return { type: 'http.request', body: item.body, moreBody: item.more };
    }
    try {
      const message = link.pull();
      return { type: 'http.request', body: message.chunk, moreBody: message.more };
    } catch (error) {
      if (hasCode(error, 'ERR_ALBANY_ABORTED')) return DISCONNECT;
      throw error;
    }
  };
}

// Blocking helpers a synchronous handler may call on `req` (own properties: Express's prototype
// swap keeps them). The stream's own read() works too, and blocks for more body when it must.
function readAll(this: IncomingMessage): Buffer {
  const parts: Buffer[] = [];
  for (let chunk = this.read() as Buffer | null; chunk !== null; chunk = this.read() as Buffer | null)
    parts.push(chunk);
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}
function text(this: IncomingMessage & { readAll(): Buffer }): string {
  return this.readAll().toString('utf8');
}
function json(this: IncomingMessage & { text(): string }): unknown {
  return JSON.parse(this.text());
}

const nodeDump = (IncomingMessage.prototype as unknown as { _dump(this: IncomingMessage): void })._dump;

// Node discards an unread body once the response is done; here reading it would block the thread
// on a client that may never send it, so only a body already received is discarded.
function dump(this: IncomingMessage): void {
  if (this.complete) nodeDump.call(this);
}

/**
 * Runs one node-style request in the worker. Returns the tail at once when the handler finished
 * its response synchronously; otherwise a promise, while the event loop runs (bounded by the
 * pool's task timeout), that rejects if the handler failed or the client left.
 */
export function runNodeStyle(handler: NodeHandler, item: BatchItem, link: WorkerLink): NodeTail | Promise<NodeTail> {
  const request = item.request;
  const out = new WorkerSend(link);
  const receiveSync = bodyReader(item, link);
  const exchange = new NodeHandlerExchange({
    head: request,
    body: { receive: () => Promise.resolve(receiveSync()), receiveSync },
    send: out.send,
    client: request.client,
    server: request.server,
    secure: request.scheme === 'https',
  });
  Object.assign(exchange.req, { readAll, text, json, _dump: dump });
  const done = exchange.run(handler);
  if (out.tail !== undefined) {
    // Finished within the call: a late failure (cleanup destroying the socket) cannot change it.
    done.catch(() => {});
    return out.tail;
  }
  const poll = setInterval(() => {
    if (link.disconnected) exchange.clientGone();
  }, DISCONNECT_POLL_MS);
  return done.then(
    async () => {
      clearInterval(poll);
      await tornDown(exchange);
      return out.tail!;
    },
    async (error: unknown) => {
      clearInterval(poll);
      await tornDown(exchange);
      // The main thread cuts the connection for an aborted result while the client is still there.
      if (exchange.bridge.reset)
        throw albanyError('ERR_ALBANY_ABORTED', 'the node handler destroyed the connection', { cause: error });
      throw error;
    },
  );
}

// Event-loop turns after 'close' that cleanup code needs: on-finished defers its callbacks with
// setImmediate, and Express's sendFile defers once more before it calls back.
const CLEANUP_TURNS = 3;

/**
 * Waits until the response has closed and its cleanup has run. piscina parks an idle worker in
 * Atomics.wait, where no callback runs: without this, a sendFile aborted by the client would call
 * back (and close its file) only when the next request arrives.
 */
async function tornDown(exchange: NodeHandlerExchange): Promise<void> {
  const res = exchange.res as typeof exchange.res & { _closed?: boolean };
  if (!res._closed) await new Promise<void>((resolve) => res.once('close', () => resolve()));
  for (let i = 0; i < CLEANUP_TURNS; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  // A file stream destroyed mid-read closes its descriptor only once that read completes, which
  // is an event-loop callback too: give in-flight file operations a bounded while to finish.
  for (let waited = 0; waited < FS_SETTLE_MS && fileOperationsPending(); waited += 5) {
    await new Promise<void>((resolve) => setTimeout(resolve, 5));
  }
}

/** Longest a finished node-style task waits for its file operations to settle. */
const FS_SETTLE_MS = 1000;

function fileOperationsPending(): boolean {
  for (const kind of process.getActiveResourcesInfo()) if (kind.startsWith('FSReq')) return true;
  return false;
}

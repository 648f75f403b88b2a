// fromFetch's direct path on albany's node:http host (see server/direct.ts). The handler's Request
// is built from the request head without a scope, and a light Response with a whole body (the
// usual `c.text()` / `c.json()`) goes out as one writeHead + end, the way @hono/node-server writes
// it. Everything else (a streamed or native Response, a handler that throws, a body or signal the
// handler reads) runs through the gateway cycle exactly as fetchApp would, so both paths answer
// alike; test/interop/fetch-paths.test.ts runs the same requests through each.
import type { Send } from '../gateway/types.js';
import type { DirectNodeHandler, NodeExchange } from '../server/direct.js';
import type { FetchHandler } from './fetch-types.js';
import { afterResponse, requestUrlOfHead, ScopeRequest } from './fetch-request.js';
import { SENT } from '../gateway/messages.js';
import { checkedSend, eachInitHeader } from './fetch-send.js';
import { lightState, TEXT_PLAIN, type LightState } from './light-response.js';
import { mayAddContentLength } from '../server/framing.js';

/** What fromFetch does with a handler's failure: its `onError` answer, or the error for a 500. */
export type FetchRecover = (error: unknown, request: Request, send: Send) => Promise<void>;

/** The direct node:http handler for a fetch handler (used by fromFetch). */
export function directFetchHandler(fetch: FetchHandler, recover: FetchRecover): DirectNodeHandler {
  return (exchange) => {
    const head = exchange.head;
    // receive() exists only once something reads the body or the signal: it opens the cycle.
    const request = new ScopeRequest(head.method, requestUrlOfHead(head), head, () =>
      exchange.openCycle().receive(),
    ) as unknown as Request;
    let result: Response | Promise<Response>;
    try {
      result = fetch(request);
    } catch (error) {
      exchange.run((_scope, _receive, send) => recover(error, request, send));
      return;
    }
    const light = lightState(result);
    if (light !== undefined) {
      finish(exchange, request, result, light);
      return;
    }
    Promise.resolve(result).then(
      (response) => finish(exchange, request, response, lightState(response)),
      (error: unknown) => exchange.run((_scope, _receive, send) => recover(error, request, send)),
    );
  };
}

/** Writes `response` directly when it is light and whole; otherwise sends it through the cycle. */
function finish(exchange: NodeExchange, request: Request, response: unknown, light: LightState | undefined): void {
  try {
    if (light !== undefined && writeWhole(exchange, light)) {
      afterResponse(request, SENT);
      return;
    }
  } catch (error) {
    // Most likely node's writeHead refusing a header (the gateway path refuses it at send()): a 500.
    exchange.run(() => Promise.reject(error));
    return;
  }
  exchange.run((_scope, _receive, send) => afterResponse(request, checkedSend(response, send)));
}

/**
 * One writeHead + end for a light Response whose body is text, bytes or empty. The headers come
 * out as the gateway path sends them: the default content-type for text, a content-length unless
 * the response has its own framing or may not carry a body. The body's length is measured once.
 */
function writeWhole(exchange: NodeExchange, light: LightState): boolean {
  const body = light.body;
  if (body !== null && typeof body !== 'string' && !(body instanceof Uint8Array)) return false;
  const status = light.status;
  const size = byteLength(body);
  const sized = mayAddContentLength(status, size, exchange.head.method);
  const text = typeof body === 'string';
  if (light.headers === undefined) {
    // The usual `new Response(text)`: albany's own constant headers, which node need not check.
    exchange.sendWhole(status, text ? ['content-type', TEXT_PLAIN] : [], body, size, sized, true);
    return true;
  }
  const headers: string[] = [];
  let typed = false;
  let framed = false;
  eachInitHeader(light.headers, (name, value) => {
    if (name === 'content-type') typed = true;
    else if (name === 'content-length' || name === 'transfer-encoding') framed = true;
    headers.push(name, value);
  });
  if (text && !typed) headers.push('content-type', TEXT_PLAIN);
  exchange.sendWhole(status, headers, body, size, sized && !framed, false);
  return true;
}

/** The length of a whole body in bytes (text goes out as UTF-8). */
function byteLength(body: string | Uint8Array | null): number {
  return body === null ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.length;
}

// The adapter's own plain-text responses (503, 504, 500), and a full queue's 503 (with Retry-After)
// built once: a flood against a full queue shares it instead of building headers, a body and their
// messages per refused request. Nobody changes them (node copies the head into its own bytes), and
// every way a request is refused for a full queue sends the same bytes.
import type { HttpResponseStartMessage, SendMessage } from '../src/gateway/types.js';

/** The headers of a plain-text response the adapter makes itself, whose whole body is `body`. */
export const textHeaders = (body: string): Array<[string, string]> => [
  ['content-type', 'text/plain; charset=utf-8'],
  ['content-length', String(Buffer.byteLength(body))],
];

const TEXT = 'Service Unavailable';
const BODY = Buffer.from(TEXT);
const HEADERS: Array<[string, string]> = [...textHeaders(TEXT), ['retry-after', '1']];

/** The refusal's `http.response.start`, for the gateway path (exchange.ts). */
export const REFUSED_START: HttpResponseStartMessage = { type: 'http.response.start', status: 503, headers: HEADERS };

/** The refusal's whole body, for the gateway path (exchange.ts). */
export const REFUSED_BODY: SendMessage = { type: 'http.response.body', body: BODY, moreBody: false };

/** The refusal as node:http's direct path takes it (NodeExchange.sendWhole): a flat header list and the body. */
export const REFUSED_WHOLE: { readonly status: 503; readonly headers: string[]; readonly body: Uint8Array } = {
  status: 503,
  headers: HEADERS.flat(),
  body: BODY,
};

// Response framing rules every host applies the way node:http does: which statuses never carry
// content, and when a host may add a content-length of its own to a whole body.

/**
 * True for statuses whose responses never carry content (RFC 9110 §6.4.1): 1xx, 204 and 304.
 * node:http writes neither a body nor framing headers for them, and keeps the app's own headers.
 * 205 is not among them: node:http frames it like a 200 (the RFC asks for no content, which is
 * the app's to keep, as Express and Koa do).
 */
export function isBodylessStatus(status: number): boolean {
  return status < 200 || status === 204 || status === 304;
}

/**
 * Whether a host may add `content-length: <length>` for a response whose whole body it holds
 * (`length` bytes, no content-length or transfer-encoding from the app). Never for a bodyless
 * status; and not for an empty body answering HEAD: the app only left out the body HEAD does not
 * carry, and `content-length: 0` would tell the client the GET body is empty (node:http adds no
 * length on HEAD). A non-empty body on HEAD is the GET body, so its length is the true one.
 */
export function mayAddContentLength(status: number, length: number, method: string | undefined): boolean {
  return !isBodylessStatus(status) && (length > 0 || method !== 'HEAD');
}

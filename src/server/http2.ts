// What differs for a request that came over HTTP/2 (node's compat Http2ServerRequest): its header
// list carries pseudo-headers, the authority may only be in `:authority`, a body needs no length,
// and node:http's per-request timeout does not apply. Everything else goes through http.ts as is.
import http2, { type Http2ServerRequest, type ServerHttp2Session } from 'node:http2';

const { NGHTTP2_CANCEL } = http2.constants;

/**
 * The raw header list an HTTP/2 request shows the app: pseudo-headers dropped (the scope carries
 * method, path and scheme), and `:authority` given as `host` when no `host` header came, as
 * HTTP/1.1 apps expect (RFC 9113 §8.3.1).
 */
export function h2RawHeaders(raw: readonly string[]): string[] {
  const out: string[] = [];
  let authority: string | undefined;
  let host = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.charCodeAt(0) === 58 /* : */) {
      if (name === ':authority') authority = raw[i + 1];
      continue;
    }
    if (name === 'host') host = true;
    out.push(name, raw[i + 1]!);
  }
  if (!host && authority !== undefined) out.unshift('host', authority);
  return out;
}

/**
 * The size of a header list as HTTP/2's SETTINGS_MAX_HEADER_LIST_SIZE counts it (name, value and
 * 32 octets per field, RFC 9113 §6.5.2). nghttp2 advertises the limit but does not refuse a larger
 * list, so the host checks it against maxHeaderSize like node:http does for HTTP/1.1 (431).
 */
export function h2HeaderListSize(raw: readonly string[]): number {
  let size = 0;
  for (let i = 0; i < raw.length; i++) size += raw[i]!.length;
  return size + (raw.length >> 1) * 32;
}

/** Whether more frames (a body) follow the request's HEADERS frame. */
export function h2HasBody(req: Http2ServerRequest): boolean {
  return !req.stream.endAfterHeaders;
}

/** The session a request came on (alive while the request is). */
export function h2Session(req: Http2ServerRequest): ServerHttp2Session {
  return req.stream.session as ServerHttp2Session;
}

/**
 * node:http's requestTimeout for one HTTP/2 stream: `onTimeout` runs if the body has not all
 * arrived within `ms` (0 = never). Returns nothing to clear: the timer goes with the stream.
 */
export function h2RequestTimeout(req: Http2ServerRequest, ms: number, onTimeout: () => void): void {
  if (ms <= 0) return;
  const timer = setTimeout(onTimeout, ms);
  timer.unref();
  const clear = () => clearTimeout(timer);
  req.once('end', clear);
  req.stream.once('close', clear);
}

/** Resets one stream (the client sees RST_STREAM CANCEL); the session and its other streams go on. */
export function h2Cancel(req: Http2ServerRequest): void {
  if (!req.stream.destroyed) req.stream.close(NGHTTP2_CANCEL);
}

/**
 * Idle sessions close after `ms` without a frame (node:http's keepAliveTimeout for HTTP/2),
 * with GOAWAY so the client knows not to start more streams there.
 */
export function h2IdleTimeout(session: ServerHttp2Session, ms: number, busy: () => boolean): void {
  if (ms <= 0) return;
  session.setTimeout(ms, () => {
    if (!busy() && !session.closed) session.close();
  });
}

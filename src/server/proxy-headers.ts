// Who the client is and which scheme it used (the socket's word, or a trusted proxy's headers), and the
// request head built from them: one builder for HTTP/1.1, HTTP/2 and WebSocket scopes.
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP, type Socket } from 'node:net';
import type { Address, Headers } from '../gateway/types.js';
import { isValidForwardedHost } from './host.js';
import { h2RawHeaders } from './http2.js';
import type { RequestHead } from './scope.js';

/** Peers trusted for X-Forwarded-* by default: the loopback addresses (a proxy on the same host). */
export const DEFAULT_FORWARDED_ALLOW_IPS: readonly string[] = Object.freeze(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/** The part of the server options that decides whether proxy headers are believed. */
export interface ProxyTrust {
  /** Whether X-Forwarded-* headers are read at all. */
  readonly proxyHeaders: boolean;
  /** The peers whose X-Forwarded-* headers are trusted. */
  readonly forwardedAllowIps: readonly string[];
}

/** Who the client is and which scheme it used, as a scope reports them. */
export interface Peer {
  readonly client: Address;
  readonly scheme: string;
}

/**
 * The peer as the socket reports it: its remote address and whether it is TLS. A keep-alive
 * connection computes this once and reuses it for every request it carries.
 */
export function socketPeer(socket: Socket): Peer {
  const address = socket.remoteAddress;
  const encrypted = (socket as Socket & { encrypted?: boolean }).encrypted === true;
  return {
    client: address === undefined ? null : (Object.freeze([address, socket.remotePort ?? 0]) as unknown as Address),
    scheme: encrypted ? 'https' : 'http',
  };
}

/** Where a request head is mounted: proxy trust, `scope.rootPath` and the lifespan state. */
export interface HeadMount extends ProxyTrust {
  rootPath: string;
  state: Record<string, unknown>;
}

/**
 * The request head of a node request, the one builder behind every node:http-based scope (HTTP/1.1,
 * HTTP/2, WebSocket upgrades): request line, raw headers (HTTP/2's pseudo-headers turned into what
 * an HTTP/1.1 app expects), and the client and scheme, taken from `peer` (the socket's word, see
 * {@link socketPeer}) or, with proxy headers on and `peer` a trusted proxy, from its headers.
 * `server` is the address the scope reports as the server's.
 *
 * With proxy headers on, the host must also refuse a request whose X-Forwarded-Host is malformed
 * (see {@link rawForwardedHostsOk}).
 */
export function requestHead(req: IncomingMessage, peer: Peer, server: Address, mount: HeadMount): RequestHead {
  const h2 = req.httpVersionMajor === 2;
  const rawHeaders = h2 ? h2RawHeaders(req.rawHeaders) : req.rawHeaders;
  if (mount.proxyHeaders) peer = forwardedPeer(rawHeaders, peer, mount);
  return {
    method: req.method!,
    target: req.url!,
    httpVersion: h2 ? '2' : req.httpVersion,
    rawHeaders,
    scheme: peer.scheme,
    client: peer.client,
    server,
    rootPath: mount.rootPath,
    state: mount.state,
  };
}

/** `peer`, or who its proxy headers name when `peer` is a trusted proxy. */
function forwardedPeer(raw: readonly string[], peer: Peer, trust: ProxyTrust): Peer {
  const address = peer.client?.[0];
  if (address === undefined) return peer;
  // Only the headers that matter are paired, so a trusted request pays for nothing else.
  const relevant: Headers = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name === 'x-forwarded-for' || name === 'x-forwarded-proto' || name === 'forwarded') {
      relevant.push([name, raw[i + 1]!]);
    }
  }
  if (relevant.length === 0) return peer;
  return forwardedClientAndScheme(relevant, address, peer.client, peer.scheme, trust);
}

/** {@link forwardedHostsOk} over node's flat raw header list (names in any case). */
export function rawForwardedHostsOk(raw: readonly string[]): boolean {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length !== 16 || name.toLowerCase() !== 'x-forwarded-host') continue;
    if (!isValidForwardedHost(raw[i + 1]!)) return false;
  }
  return true;
}

/**
 * With proxy headers on, every X-Forwarded-Host must be a list of valid authorities, whoever sent
 * it. albany does not read it, but apps behind a proxy do (Express's `req.hostname` with `trust
 * proxy`, URL builders), so it gets the same check as Host; a client that is not a trusted proxy
 * has no business sending a malformed one either. `headers` are lower-cased pairs.
 */
export function forwardedHostsOk(headers: Headers): boolean {
  for (let i = 0; i < headers.length; i++) {
    if (headers[i]![0] === 'x-forwarded-host' && !isValidForwardedHost(headers[i]![1])) return false;
  }
  return true;
}

/**
 * The pure core of {@link requestHead}'s proxy handling, shared with hosts that do not have a socket per request
 * (FastCGI, where nginx names the peer in REMOTE_ADDR). `headers` are lower-cased pairs.
 *
 * X-Forwarded-For is walked from the right, skipping hops that are themselves trusted, so a chain
 * of trusted proxies still yields the real client and anything a client prepended is ignored.
 * `Forwarded` (RFC 7239) is read only when no X-Forwarded-For is present, because proxies such as
 * nginx add one and pass the other through untouched: preferring the one the proxy wrote keeps a
 * client from choosing its own address.
 */
export function forwardedClientAndScheme(
  headers: Headers,
  peer: string,
  client: Address,
  scheme: string,
  trust: ProxyTrust,
): { client: Address; scheme: string } {
  if (!trust.proxyHeaders) return { client, scheme };
  const trusted = trustedSet(trust.forwardedAllowIps);
  if (!trusted.has(peer)) return { client, scheme };
  const xff: string[] = [];
  let xfProto: string | undefined;
  const forwarded: string[] = [];
  for (const [name, value] of headers) {
    if (name === 'x-forwarded-for') xff.push(...splitList(value));
    else if (name === 'x-forwarded-proto') xfProto = lastOf(value);
    else if (name === 'forwarded') forwarded.push(...splitList(value));
  }
  if (xff.length) {
    const hop = pickHop(
      xff.map((h) => [stripPort(h), 0] as [string, number]),
      trusted,
    );
    if (hop) client = hop;
  } else if (forwarded.length) {
    const elements = forwarded.map(parseForwardedElement);
    const hop = pickHop(
      elements.filter((e) => e.for !== undefined).map((e) => e.for!),
      trusted,
    );
    if (hop) client = hop;
    const proto = elements.length ? elements[elements.length - 1]!.proto : undefined;
    if (proto !== undefined && xfProto === undefined) xfProto = proto;
  }
  if (xfProto !== undefined) {
    const p = xfProto.toLowerCase();
    if (p === 'http' || p === 'https' || p === 'ws' || p === 'wss')
      scheme = p === 'wss' ? 'https' : p === 'ws' ? 'http' : p;
  }
  return { client, scheme };
}

// Right to left: the first hop we do not trust is the client. Obfuscated or unknown identifiers
// stop the walk without naming anyone, so the peer stays the client rather than a made-up value.
function pickHop(hops: Array<[string, number]>, trusted: TrustedSet): Address {
  if (trusted.all) return hops.length && isIP(hops[0]![0]) ? hops[0]! : null;
  for (let i = hops.length - 1; i >= 0; i--) {
    const [host] = hops[i]!;
    if (!isIP(host)) return null;
    if (!trusted.has(host)) return hops[i]!;
  }
  return hops.length && isIP(hops[0]![0]) ? hops[0]! : null;
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function lastOf(value: string): string | undefined {
  const items = splitList(value);
  return items[items.length - 1];
}

// "1.2.3.4:80" → "1.2.3.4"; a bare IPv6 address keeps its colons; "[::1]:80" → "::1".
function stripPort(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end === -1 ? host : host.slice(1, end);
  }
  const colon = host.indexOf(':');
  return colon !== -1 && colon === host.lastIndexOf(':') ? host.slice(0, colon) : host;
}

function parseForwardedElement(element: string): { for?: [string, number]; proto?: string } {
  const out: { for?: [string, number]; proto?: string } = {};
  for (const pair of element.split(';')) {
    const eq = pair.indexOf('=');
    if (eq === -1) continue;
    const key = pair.slice(0, eq).trim().toLowerCase();
    const value = pair
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1');
    if (key === 'proto') out.proto = value;
    else if (key === 'for') {
      let host = value;
      let port = 0;
      const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(value) ?? /^([^:]+):(\d+)$/.exec(value);
      if (m) {
        host = m[1]!;
        port = m[2] === undefined ? 0 : Number(m[2]);
      }
      out.for = [host, port];
    }
  }
  return out;
}

interface TrustedSet {
  all: boolean;
  has(address: string): boolean;
}

const cache = new WeakMap<readonly string[], TrustedSet>();

/**
 * Addresses or CIDR ranges (`10.0.0.0/8`, `fd00::/8`), `*` for all. IPv4-mapped IPv6 peers
 * (`::ffff:10.0.0.1`, what a dual-stack listener reports) match their IPv4 entries.
 */
function trustedSet(allowed: readonly string[]): TrustedSet {
  let set = cache.get(allowed);
  if (set) return set;
  const list = new BlockList();
  let all = false;
  for (const entry of allowed) {
    if (entry === '*') all = true;
    else if (entry.includes('/')) {
      const [net, bits] = entry.split('/');
      const family = isIP(net!) === 6 ? 'ipv6' : 'ipv4';
      if (isIP(net!)) list.addSubnet(net!, Number(bits), family);
    } else if (isIP(entry)) list.addAddress(entry, isIP(entry) === 6 ? 'ipv6' : 'ipv4');
  }
  set = {
    all,
    has(address: string): boolean {
      if (all) return true;
      const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
      if (mapped && list.check(mapped[1]!, 'ipv4')) return true;
      const family = isIP(address);
      return family !== 0 && list.check(address, family === 6 ? 'ipv6' : 'ipv4');
    },
  };
  cache.set(allowed, set);
  return set;
}

/** Parses `--forwarded-allow-ips a,b,10.0.0.0/8` into the option's list. */
export function parseForwardedAllowIps(value: string): string[] {
  return splitList(value);
}

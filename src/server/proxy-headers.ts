// Who the client is and which scheme it used: the socket's word, or a trusted proxy's headers.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Address } from '../gateway/types.js';
import type { ResolvedServerOptions } from './options.js';

/** The client address and scheme for a request, honouring proxy headers only from trusted peers. */
export function clientAndScheme(req: IncomingMessage, socket: Socket, options: ResolvedServerOptions): { client: Address; scheme: string } {
  const peer = socket.remoteAddress;
  const encrypted = (socket as Socket & { encrypted?: boolean }).encrypted === true;
  let client: Address = peer === undefined ? null : [peer, socket.remotePort ?? 0];
  let scheme = encrypted ? 'https' : 'http';
  if (!options.proxyHeaders || peer === undefined || !isTrusted(peer, options.forwardedAllowIps)) return { client, scheme };
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    if (name === 'x-forwarded-for') {
      // The right-most entry is the one our trusted proxy added.
      const hops = value.split(',').map((s) => s.trim()).filter(Boolean);
      if (hops.length) client = [hops[hops.length - 1]!, 0];
    } else if (name === 'x-forwarded-proto') {
      const proto = value.split(',').pop()!.trim().toLowerCase();
      if (proto === 'http' || proto === 'https') scheme = proto;
    } else if (name === 'forwarded') {
      const last = value.split(',').pop()!;
      for (const part of last.split(';')) {
        const [k, v] = part.split('=').map((s) => s?.trim());
        if (!k || v === undefined) continue;
        const val = v.replace(/^"|"$/g, '');
        if (k.toLowerCase() === 'for') client = [val.replace(/^\[|\](:\d+)?$/g, '').replace(/:\d+$/, ''), 0];
        else if (k.toLowerCase() === 'proto' && (val === 'http' || val === 'https')) scheme = val;
      }
    }
  }
  return { client, scheme };
}

function isTrusted(peer: string, allowed: readonly string[]): boolean {
  return allowed.includes('*') || allowed.includes(peer);
}

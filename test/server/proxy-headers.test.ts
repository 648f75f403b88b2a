// Proxy headers are believed only from trusted peers, and never let a client pick its own address.
import test from 'ava';
import { forwardedClientAndScheme, parseForwardedAllowIps } from '../../src/server/proxy-headers.js';
import type { Address, Headers } from '../../src/gateway/types.js';

const loopback = ['127.0.0.1', '::1'];
function run(
  headers: Headers,
  peer: string,
  allow: string[] = loopback,
  proxyHeaders = true,
): { client: Address; scheme: string } {
  return forwardedClientAndScheme(headers, peer, [peer, 1234], 'http', { proxyHeaders, forwardedAllowIps: allow });
}

const cases: Array<{
  name: string;
  headers: Headers;
  peer?: string;
  allow?: string[];
  on?: boolean;
  client: Address;
  scheme: string;
}> = [
  {
    name: 'off: headers ignored',
    headers: [['x-forwarded-for', '1.2.3.4']],
    on: false,
    client: ['127.0.0.1', 1234],
    scheme: 'http',
  },
  {
    name: 'untrusted peer: headers ignored',
    headers: [
      ['x-forwarded-for', '1.2.3.4'],
      ['x-forwarded-proto', 'https'],
    ],
    peer: '10.9.9.9',
    client: ['10.9.9.9', 1234],
    scheme: 'http',
  },
  {
    name: 'trusted peer: XFF and proto applied',
    headers: [
      ['x-forwarded-for', '1.2.3.4'],
      ['x-forwarded-proto', 'https'],
    ],
    client: ['1.2.3.4', 0],
    scheme: 'https',
  },
  {
    name: 'a client-prepended XFF entry is ignored (right-most untrusted hop wins)',
    headers: [['x-forwarded-for', '6.6.6.6, 1.2.3.4']],
    client: ['1.2.3.4', 0],
    scheme: 'http',
  },
  {
    name: 'trusted hops on the right are skipped',
    headers: [['x-forwarded-for', '1.2.3.4, 10.0.0.2']],
    allow: ['127.0.0.1', '10.0.0.0/8'],
    client: ['1.2.3.4', 0],
    scheme: 'http',
  },
  {
    name: 'duplicate XFF headers read as one list',
    headers: [
      ['x-forwarded-for', '6.6.6.6'],
      ['x-forwarded-for', '1.2.3.4'],
    ],
    client: ['1.2.3.4', 0],
    scheme: 'http',
  },
  {
    name: 'IPv4-mapped peer matches an IPv4 entry',
    headers: [['x-forwarded-for', '1.2.3.4']],
    peer: '::ffff:127.0.0.1',
    allow: ['127.0.0.1'],
    client: ['1.2.3.4', 0],
    scheme: 'http',
  },
  {
    name: 'CIDR range trusts the peer',
    headers: [['x-forwarded-proto', 'https']],
    peer: '192.168.3.4',
    allow: ['192.168.0.0/16'],
    client: ['192.168.3.4', 1234],
    scheme: 'https',
  },
  {
    name: '* trusts everyone and takes the left-most hop',
    headers: [['x-forwarded-for', '1.1.1.1, 2.2.2.2']],
    peer: '8.8.8.8',
    allow: ['*'],
    client: ['1.1.1.1', 0],
    scheme: 'http',
  },
  {
    name: 'XFF with a port is stripped',
    headers: [['x-forwarded-for', '1.2.3.4:5678']],
    client: ['1.2.3.4', 0],
    scheme: 'http',
  },
  {
    name: 'bare IPv6 in XFF keeps its colons',
    headers: [['x-forwarded-for', '2001:db8::1']],
    client: ['2001:db8::1', 0],
    scheme: 'http',
  },
  {
    name: 'garbage in XFF leaves the peer as client',
    headers: [['x-forwarded-for', 'not-an-ip']],
    client: ['127.0.0.1', 1234],
    scheme: 'http',
  },
  {
    name: 'unknown proto value ignored',
    headers: [['x-forwarded-proto', 'gopher']],
    client: ['127.0.0.1', 1234],
    scheme: 'http',
  },
  {
    name: 'wss proto maps to https',
    headers: [['x-forwarded-proto', 'wss']],
    client: ['127.0.0.1', 1234],
    scheme: 'https',
  },
  {
    name: 'Forwarded: for and proto, quoted IPv6 with port',
    headers: [['forwarded', 'for="[2001:db8:cafe::17]:4711";proto=https']],
    client: ['2001:db8:cafe::17', 4711],
    scheme: 'https',
  },
  {
    name: 'Forwarded: IPv4 with port, several elements',
    headers: [['forwarded', 'for=6.6.6.6, for="192.0.2.43:47011";proto=http']],
    client: ['192.0.2.43', 47011],
    scheme: 'http',
  },
  {
    name: 'Forwarded: obfuscated identifier leaves the peer',
    headers: [['forwarded', 'for=_hidden;proto=https']],
    client: ['127.0.0.1', 1234],
    scheme: 'https',
  },
  {
    name: 'XFF (what nginx writes) beats a client-sent Forwarded, whatever the header order',
    headers: [
      ['x-forwarded-for', '1.2.3.4'],
      ['forwarded', 'for=6.6.6.6'],
    ],
    client: ['1.2.3.4', 0],
    scheme: 'http',
  },
  {
    name: 'same with Forwarded first',
    headers: [
      ['forwarded', 'for=6.6.6.6;proto=https'],
      ['x-forwarded-for', '1.2.3.4'],
    ],
    client: ['1.2.3.4', 0],
    scheme: 'http',
  },
];

for (const c of cases) {
  test(c.name, (t) => {
    t.deepEqual(run(c.headers, c.peer ?? '127.0.0.1', c.allow, c.on ?? true), { client: c.client, scheme: c.scheme });
  });
}

test('parseForwardedAllowIps splits and trims', (t) => {
  t.deepEqual(parseForwardedAllowIps(' 127.0.0.1, 10.0.0.0/8 ,,::1'), ['127.0.0.1', '10.0.0.0/8', '::1']);
});

test('through the HTTP server: a trusted loopback peer gets its X-Forwarded-For honoured', async (t) => {
  const { serve } = await import('../../src/server/http.js');
  const server = await serve(
    async (scope, _r, send) => {
      if (scope.type !== 'http') return;
      await send({ type: 'http.response.start', status: 200 });
      await send({ type: 'http.response.body', body: Buffer.from(`${scope.client?.[0]} ${scope.scheme}`) });
    },
    { port: 0, lifespan: 'off', proxyHeaders: true, logLevel: 'silent' },
  );
  t.teardown(() => server.close());
  const res = await fetch(server.url, { headers: { 'x-forwarded-for': '9.9.9.9', 'x-forwarded-proto': 'https' } });
  t.is(await res.text(), '9.9.9.9 https');
});

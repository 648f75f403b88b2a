import test from 'ava';
import { headersHostOk, isValidForwardedHost, isValidHost, rawHostOk } from '../../src/server/host.js';
import { prng, seedFromEnv } from '../reliability/helpers.js';

const VALID = [
  'localhost',
  'localhost:3000',
  'example.com',
  'EXAMPLE.com:443',
  'a-b_c~d.example',
  'a.b.c.d.e',
  'example.com.',
  "a!$&'()*+,;=b",
  'a..b',
  '.a',
  '127.0.0.1',
  '127.0.0.1:8080',
  '255.255.255.255',
  '0.0.0.0:0',
  'a.0xg',
  'host:65535',
  'host:00080',
  '[::1]',
  '[::1]:8080',
  '[2001:db8::1]',
  '[::ffff:127.0.0.1]:80',
  '[FE80::1]',
  'x',
  '1a',
  'a.1b',
  'localhost:1',
];

const INVALID: Array<[host: string, why: string]> = [
  ['', 'empty'],
  ['example.com/admin', 'a path'],
  ['example.com?x', 'a query'],
  ['example.com#x', 'a fragment'],
  ['user@example.com', 'userinfo'],
  ['a b', 'a space'],
  ['a\tb', 'a tab'],
  ['a\u0001b', 'a control byte'],
  ['a\u007fb', 'DEL'],
  ['a\\b', 'a backslash'],
  ['caf\u00e9.example', 'a non-ASCII byte'],
  ['a%41', 'percent-encoding'],
  ['a%2Fb', 'an encoded slash'],
  ['a<b', "a '<'"],
  ['a"b', 'a quote'],
  ['a|b', "a '|'"],
  ['a^b', "a '^'"],
  [':80', 'no host before the port'],
  ['host:', 'an empty port'],
  ['host:65536', 'a port over 65535'],
  ['host:123456', 'six port digits'],
  ['host:8a', 'a non-digit port'],
  ['host:-1', 'a negative port'],
  ['host:80:80', 'two ports'],
  ['host: 80', 'a space before the port'],
  ['1.2.3.999', 'an IPv4 octet over 255'],
  ['1.2.3', 'three IPv4 parts'],
  ['1.2.3.4.5', 'five IPv4 parts'],
  ['1.2.3.4.', 'an IPv4 address with a trailing dot'],
  ['01.2.3.4', 'an octal-looking IPv4 octet'],
  ['0x7f.1', 'a hex IPv4 shorthand'],
  ['999999999999', 'a bare number'],
  ['a.1', 'a name ending in a number'],
  ['a.0x', "a name ending in '0x'"],
  ['[::1', 'an unclosed bracket'],
  ['[::1]x', 'text after the bracket'],
  ['[::1]:', 'an empty port after IPv6'],
  ['[::g]', 'a non-hex IPv6 character'],
  ['[1:2:3]', 'an IPv6 address too short'],
  ['[::1%25eth0]', 'a zone ID'],
  ['[v1.x]', 'IPvFuture'],
  ['::1', 'IPv6 without brackets'],
  ['[]', 'empty brackets'],
  ['a]b', 'a stray bracket'],
];

for (const host of VALID) {
  test(`isValidHost accepts ${JSON.stringify(host)}`, (t) => {
    t.true(isValidHost(host));
  });
}
for (const [host, why] of INVALID) {
  test(`isValidHost refuses ${JSON.stringify(host)} (${why})`, (t) => {
    t.false(isValidHost(host));
  });
}

test('every accepted host builds a URL whose path, query and user part are exactly what the request sent', (t) => {
  for (const host of VALID) {
    const url = new URL(`http://${host}/p?q=1`);
    t.is(url.pathname, '/p', host);
    t.is(url.search, '?q=1', host);
    t.is(url.username, '', host);
  }
});

// The property behind the table: whatever the validator lets through, the WHATWG parser reads as a
// host and nothing else. Random strings over an alphabet heavy in the characters that matter.
test('property: for 20,000 random candidates, an accepted host never changes the URL path, query or user', (t) => {
  const random = prng(seedFromEnv(13));
  const alphabet = [
    'a',
    'b',
    'Z',
    '0',
    '1',
    '9',
    '.',
    '.',
    ':',
    '[',
    ']',
    '/',
    '?',
    '#',
    '@',
    '%',
    '2',
    'F',
    'x',
    '-',
    '_',
    '~',
    '!',
    ',',
    ' ',
    '\\',
    '\t',
    'f',
    'e',
    '8',
    '5',
  ];
  let accepted = 0;
  for (let k = 0; k < 20_000; k++) {
    let host = '';
    const length = 1 + Math.floor(random() * 12);
    for (let j = 0; j < length; j++) host += alphabet[Math.floor(random() * alphabet.length)];
    if (!isValidHost(host)) continue;
    accepted++;
    let url: URL;
    try {
      url = new URL(`http://${host}/p?q`);
    } catch {
      t.fail(`accepted ${JSON.stringify(host)}, which the URL parser refuses`);
      continue;
    }
    if (url.pathname !== '/p' || url.search !== '?q' || url.username !== '')
      t.fail(`accepted ${JSON.stringify(host)}, which moves the URL: ${url.href}`);
  }
  t.true(accepted > 500, `only ${accepted} candidates were accepted: the alphabet no longer exercises the validator`);
});

test('the one-entry memo of the last valid host never lets an invalid value through', (t) => {
  t.true(isValidHost('example.com'));
  t.true(isValidHost('example.com'));
  t.false(isValidHost('example.com/admin'));
  t.false(isValidHost('\0'));
  t.false(isValidHost(''));
  t.true(isValidHost('example.com'));
});

test('rawHostOk: one valid Host passes; a second Host, a bad one, or none on HTTP/1.1 fails', (t) => {
  t.true(rawHostOk(['Host', 'a.example', 'Accept', '*/*'], true));
  t.true(rawHostOk(['HOST', 'a.example'], true));
  t.false(rawHostOk(['Host', 'a.example', 'host', 'b.example'], true));
  t.false(rawHostOk(['Host', 'a.example/admin'], true));
  t.false(rawHostOk(['Accept', '*/*'], true));
  t.true(rawHostOk(['Accept', '*/*'], false), 'HTTP/1.0 may omit Host');
  t.false(rawHostOk(['Host', ''], false), 'an empty Host is never valid for an http URL');
});

test('headersHostOk reads a scope header list the same way', (t) => {
  t.true(headersHostOk([['host', 'a.example:80']], true));
  t.false(
    headersHostOk(
      [
        ['host', 'a'],
        ['host', 'b'],
      ],
      false,
    ),
  );
  t.false(headersHostOk([['host', 'a b']], false));
  t.true(headersHostOk([], false));
  t.false(headersHostOk([], true));
});

test('isValidForwardedHost checks every element of a proxy list', (t) => {
  t.true(isValidForwardedHost('a.example'));
  t.true(isValidForwardedHost('a.example, b.example:8080'));
  t.false(isValidForwardedHost('a.example, evil.example/admin'));
  t.false(isValidForwardedHost('a.example,,b.example'));
  t.false(isValidForwardedHost(''));
});

import test from 'ava';
import {
  checkBody,
  checkHeaders,
  checkMessage,
  checkReason,
  checkStatus,
  isToken,
} from '../../src/gateway/validate.js';

const invalid = { code: 'ERR_ALBANY_INVALID_MESSAGE' };

test('status codes from 100 to 999 pass (node:http writes every three-digit code)', (t) => {
  for (const status of [100, 200, 204, 304, 418, 599, 600, 999])
    t.is(checkStatus(status, 'http.response.start'), status);
});

for (const status of [99, 1000, 0, -1, 200.5, Number.NaN, '200', null, undefined]) {
  test(`status ${String(status)} (${typeof status}) is refused, naming the message type`, (t) => {
    const err = t.throws(() => checkStatus(status, 'http.response.start'), invalid);
    t.regex(err!.message, /http\.response\.start: status must be an integer from 100 to 999/);
  });
}

test('header names made of token characters pass, in any case', (t) => {
  for (const name of ['content-type', 'X-Custom', "a!#$%&'*+-.^_`|~z", '0']) t.true(isToken(name), name);
  t.deepEqual(
    checkHeaders(
      [
        ['x-a', 'v'],
        ['x-a', 'w'],
      ],
      'http.response.start',
    ),
    [
      ['x-a', 'v'],
      ['x-a', 'w'],
    ],
  );
});

test('absent headers become an empty list', (t) => {
  t.deepEqual(checkHeaders(undefined, 'http.response.start'), []);
});

const badNames = ['', 'bad name', 'a:b', 'a\r\nb', 'x\0', 'naïve', '(x)', 'a/b', 'a\tb', 'a"b'];
for (const name of badNames) {
  test(`header name ${JSON.stringify(name)} is not a token and is refused`, (t) => {
    const err = t.throws(
      () =>
        checkHeaders(
          [
            ['ok', 'v'],
            [name, 'v'],
          ],
          'http.response.start',
        ),
      invalid,
    );
    t.regex(err!.message, /headers\[1\] is not a valid token/);
  });
}

for (const [label, value] of [
  ['CR', 'a\rb'],
  ['LF', 'a\nb'],
  ['CRLF', 'a\r\nSet-Cookie: x=1'],
  ['NUL', 'a\0b'],
] as const) {
  test(`header value with ${label} is refused`, (t) => {
    const err = t.throws(() => checkHeaders([['x-v', value]], 'http.response.trailers'), invalid);
    t.regex(err!.message, /http\.response\.trailers: header "x-v" at headers\[0\] contains CR, LF or NUL/);
  });
}

test('header values may hold tabs, spaces and latin1 obs-text', (t) => {
  t.notThrows(() => checkHeaders([['x-v', ' a\tb \u00e9\u00ff']], 'http.response.start'));
});

for (const headers of [{}, 'x', [['only-name']], [['a', 1]], [['a', 'b', 'c']], [null]]) {
  test(`malformed header list ${JSON.stringify(headers)} is refused`, (t) => {
    t.throws(() => checkHeaders(headers, 'http.response.start'), invalid);
  });
}

test('bodies must be Uint8Array (Buffer included) or absent', (t) => {
  t.is(checkBody(undefined, 'http.response.body'), undefined);
  const u = new Uint8Array([1]);
  t.is(checkBody(u, 'http.response.body'), u);
  const b = Buffer.from('x');
  t.is(checkBody(b, 'http.response.body'), b);
  for (const bad of ['text', 1, {}, [1, 2], new ArrayBuffer(1)])
    t.throws(() => checkBody(bad, 'http.response.body'), invalid);
});

test('a message must be an object with a string type', (t) => {
  t.is(checkMessage({ type: 'http.response.start' }), 'http.response.start');
  for (const bad of [null, undefined, 'http.response.start', 5, {}, { type: 1 }])
    t.throws(() => checkMessage(bad), invalid);
});

test('reason phrases of tab, space, visible ASCII and latin1 pass, the empty one included', (t) => {
  for (const reason of ['OK', 'ok', 'Custom Thing', '', 'a\tb', 'caf\u00e9 \u00ff', '!"#~'])
    t.is(checkReason(reason, 'http.response.start'), reason);
});

const badReasons: Array<[unknown, RegExp]> = [
  [
    'ok\r\nx-injected: 1',
    /reason "ok\\r\\nx-injected: 1" has character U\+000D at 2; allowed are tab, space, visible ASCII and latin1/,
  ],
  ['ok\n', /U\+000A at 2/],
  ['o\0k', /U\+0000 at 1/],
  ['bell\u0007', /U\+0007 at 4/],
  ['del\u007f', /U\+007F at 3/],
  ['check \u2713', /U\+2713 at 6/],
  [42, /reason must be a string, got number/],
  [null, /reason must be a string, got null/],
];
for (const [reason, pattern] of badReasons) {
  test(`reason ${JSON.stringify(reason)} is refused, naming the character and where it is`, (t) => {
    const err = t.throws(() => checkReason(reason, 'http.response.start'), invalid);
    t.regex(err!.message, /^http\.response\.start: /);
    t.regex(err!.message, pattern);
  });
}

test('a header that passed once does not let a bad one of the same length through later', (t) => {
  // checkHeaders remembers strings it found valid (one per length class); a different string of
  // the same length must still be checked in full, whatever was seen before.
  const start = 'http.response.start';
  t.deepEqual(checkHeaders([['content-type', 'text/plain']], start), [['content-type', 'text/plain']]);
  t.throws(() => checkHeaders([['content-typ\r', 'text/plain']], start), invalid);
  t.throws(() => checkHeaders([['content-type', 'text/plai\n']], start), invalid);
  t.throws(() => checkHeaders([['content-type', 'text/pla\0n']], start), invalid);
  // An equal string built at run time (another object) passes, and a 32-longer one shares the slot.
  const built = ['content', 'type'].join('-');
  t.deepEqual(checkHeaders([[built, 'text/plain']], start), [[built, 'text/plain']]);
  t.throws(() => checkHeaders([[`${'x'.repeat(44)} `, 'v']], start), invalid);
  t.throws(() => checkHeaders([['content-type', `text/plain${'\n'.repeat(32)}`]], start), invalid);
});

for (const [label, value] of [
  ['a control byte', 'a\u0001b'],
  ['DEL', 'a\u007fb'],
  ['a character past U+00FF', 'a\u20acb'],
] as const) {
  test(`header value with ${label} is refused, as node's writeHead refuses it`, (t) => {
    const err = t.throws(
      () =>
        checkHeaders(
          [
            ['x-ok', 'v'],
            ['x-v', value],
          ],
          'http.response.start',
        ),
      invalid,
    );
    t.regex(
      err!.message,
      /http\.response\.start: header "x-v" at headers\[1\] contains U\+[0-9A-F]{4} at 1; allowed are tab/,
    );
  });
}

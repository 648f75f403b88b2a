import test from 'ava';
import { checkBody, checkHeaders, checkMessage, checkStatus, isToken } from '../../src/gateway/validate.js';

const invalid = { code: 'ERR_ALBANY_INVALID_MESSAGE' };

test('status codes from 100 to 999 pass (node:http writes every three-digit code)', (t) => {
  for (const status of [100, 200, 204, 304, 418, 599, 600, 999]) t.is(checkStatus(status, 'http.response.start'), status);
});

for (const status of [99, 1000, 0, -1, 200.5, Number.NaN, '200', null, undefined]) {
  test(`status ${String(status)} (${typeof status}) is refused, naming the message type`, (t) => {
    const err = t.throws(() => checkStatus(status, 'http.response.start'), invalid);
    t.regex(err!.message, /http\.response\.start: status must be an integer from 100 to 999/);
  });
}

test('header names made of token characters pass, in any case', (t) => {
  for (const name of ['content-type', 'X-Custom', "a!#$%&'*+-.^_`|~z", '0']) t.true(isToken(name), name);
  t.deepEqual(checkHeaders([['x-a', 'v'], ['x-a', 'w']], 'http.response.start'), [['x-a', 'v'], ['x-a', 'w']]);
});

test('absent headers become an empty list', (t) => {
  t.deepEqual(checkHeaders(undefined, 'http.response.start'), []);
});

const badNames = ['', 'bad name', 'a:b', 'a\r\nb', 'x\0', 'naïve', '(x)', 'a/b', 'a\tb', 'a"b'];
for (const name of badNames) {
  test(`header name ${JSON.stringify(name)} is not a token and is refused`, (t) => {
    const err = t.throws(() => checkHeaders([['ok', 'v'], [name, 'v']], 'http.response.start'), invalid);
    t.regex(err!.message, /headers\[1\] is not a valid token/);
  });
}

for (const [label, value] of [['CR', 'a\rb'], ['LF', 'a\nb'], ['CRLF', 'a\r\nSet-Cookie: x=1'], ['NUL', 'a\0b']] as const) {
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
  for (const bad of ['text', 1, {}, [1, 2], new ArrayBuffer(1)]) t.throws(() => checkBody(bad, 'http.response.body'), invalid);
});

test('a message must be an object with a string type', (t) => {
  t.is(checkMessage({ type: 'http.response.start' }), 'http.response.start');
  for (const bad of [null, undefined, 'http.response.start', 5, {}, { type: 1 }]) t.throws(() => checkMessage(bad), invalid);
});

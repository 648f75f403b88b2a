import test from 'ava';
import { buildEnviron, headersObject } from '../../legacy-adapter/worker/environ.js';
import { buildLegacyRequest } from '../../legacy-adapter/request.js';
import { httpScope } from '../../src/testing/communicator.js';

const scope = httpScope({
  method: 'POST',
  path: '/items/ä b',
  rawPath: '/app/items/%C3%A4%20b',
  rootPath: '/app',
  queryString: 'x=1&y=%20',
  client: ['10.0.0.7', 51234],
  server: ['127.0.0.1', 8080],
  headers: [
    ['host', 'example.test:8080'],
    ['content-type', 'text/plain'],
    ['content-length', '11'],
    ['accept', 'text/html'],
    ['accept', 'application/json'],
    ['cookie', 'a=1'],
    ['cookie', 'b=2'],
    ['x-forwarded-for', '1.1.1.1'],
  ],
});

const cases: Array<[key: string, expected: string | undefined]> = [
  ['REQUEST_METHOD', 'POST'],
  ['SCRIPT_NAME', '/app'],
  ['PATH_INFO', '/items/ä b'],
  ['QUERY_STRING', 'x=1&y=%20'],
  ['CONTENT_TYPE', 'text/plain'],
  ['CONTENT_LENGTH', '11'],
  ['SERVER_NAME', '127.0.0.1'],
  ['SERVER_PORT', '8080'],
  ['SERVER_PROTOCOL', 'HTTP/1.1'],
  ['REMOTE_ADDR', '10.0.0.7'],
  ['REMOTE_PORT', '51234'],
  ['HTTP_HOST', 'example.test:8080'],
  ['HTTP_ACCEPT', 'text/html, application/json'],
  ['HTTP_COOKIE', 'a=1; b=2'],
  ['HTTP_X_FORWARDED_FOR', '1.1.1.1'],
  ['HTTP_CONTENT_TYPE', undefined],
  ['HTTP_CONTENT_LENGTH', undefined],
  ['wsgi.url_scheme', 'http'],
];

for (const [key, expected] of cases) {
  test(`environ ${key} is ${JSON.stringify(expected)}`, (t) => {
    t.is(buildEnviron(scope)[key] as string | undefined, expected);
  });
}

test('environ falls back to the Host header when the server address is unknown', (t) => {
  const environ = buildEnviron(httpScope({ server: null, scheme: 'https', headers: [['host', 'api.test']] }));
  t.is(environ.SERVER_NAME, 'api.test');
  t.is(environ.SERVER_PORT, '443');
  t.is(environ['wsgi.url_scheme'], 'https');
});

test('environ has no REMOTE_ADDR when the client is unknown', (t) => {
  t.false('REMOTE_ADDR' in buildEnviron(httpScope({ client: null })));
});

test('the legacy request url is relative to the mount and keeps the raw query', (t) => {
  const request = buildLegacyRequest(scope);
  t.is(request.url, '/items/%C3%A4%20b?x=1&y=%20');
  t.is(request.method, 'POST');
  t.is(request.headers.length, 8);
});

const mountedUrls: Array<[rawPath: string, rootPath: string, path: string, url: string]> = [
  ['/apple', '/app', '/apple', '/apple'],
  ['/app', '/app', '/', '/'],
  ['/app/', '/app', '/', '/'],
  ['/app/le', '/app', '/le', '/le'],
  ['/ap%70/le', '/app', '/le', '/le'],
  ['/app%2Fle', '/app', '/le', '/le'],
];
for (const [rawPath, rootPath, path, url] of mountedUrls) {
  test(`the legacy request url strips rootPath ${JSON.stringify(rootPath)} by whole segments: ${JSON.stringify(rawPath)} → ${JSON.stringify(url)}`, (t) => {
    t.is(buildLegacyRequest(httpScope({ rawPath, rootPath, path, queryString: '' })).url, url);
  });
}

test('headersObject joins repeated headers like Node and keeps set-cookie apart', (t) => {
  t.deepEqual(
    headersObject([
      ['a', '1'],
      ['a', '2'],
      ['cookie', 'x=1'],
      ['cookie', 'y=2'],
      ['set-cookie', 's=1'],
      ['set-cookie', 's=2'],
    ]),
    {
      a: '1, 2',
      cookie: 'x=1; y=2',
      'set-cookie': ['s=1', 's=2'],
    },
  );
});

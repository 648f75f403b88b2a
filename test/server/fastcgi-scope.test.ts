// CGI variables → http scope, table-driven: what nginx sends must read the same as an HTTP request.
import test from 'ava';
import { buildFastCGIScope } from '../../src/server/fastcgi-scope.js';

const base = { rootPath: '', state: {}, proxyHeaders: false, forwardedAllowIps: ['127.0.0.1'] };

test('stock nginx fastcgi_params: path and query from REQUEST_URI, headers from HTTP_*', (t) => {
  const { scope, contentLength } = buildFastCGIScope(
    [
      ['QUERY_STRING', 'a=1&b=%20'],
      ['REQUEST_METHOD', 'post'],
      ['CONTENT_TYPE', 'text/plain'],
      ['CONTENT_LENGTH', '12'],
      ['SCRIPT_NAME', '/caf\u00c3\u00a9/x y'],
      ['REQUEST_URI', '/caf%C3%A9/x%20y?a=1&b=%20'],
      ['SERVER_PROTOCOL', 'HTTP/1.0'],
      ['REMOTE_ADDR', '198.51.100.2'],
      ['REMOTE_PORT', '40000'],
      ['SERVER_NAME', 'svc.test'],
      ['SERVER_PORT', '8080'],
      ['HTTP_HOST', 'svc.test:8080'],
      ['HTTP_X_CUSTOM_THING', 'v'],
      ['HTTP_COOKIE', 'a=b'],
    ],
    base,
  );
  t.is(scope.method, 'POST');
  t.is(scope.path, '/café/x y');
  t.is(scope.rawPath, '/caf%C3%A9/x%20y');
  t.is(scope.queryString, 'a=1&b=%20');
  t.is(scope.rootPath, '');
  t.is(scope.httpVersion, '1.0');
  t.is(scope.scheme, 'http');
  t.deepEqual(scope.client, ['198.51.100.2', 40000]);
  t.deepEqual(scope.server, ['svc.test', 8080]);
  t.deepEqual(scope.headers, [
    ['content-type', 'text/plain'],
    ['content-length', '12'],
    ['host', 'svc.test:8080'],
    ['x-custom-thing', 'v'],
    ['cookie', 'a=b'],
  ]);
  t.is(contentLength, 12);
});

const cases: Array<{ name: string; params: Array<[string, string]>; path: string; rootPath: string; scheme?: string }> =
  [
    {
      name: 'fastcgi_split_path_info mount: SCRIPT_NAME is the root, PATH_INFO the path',
      params: [
        ['SCRIPT_NAME', '/app'],
        ['PATH_INFO', '/users/1'],
        ['REQUEST_URI', '/app/users/1'],
      ],
      path: '/users/1',
      rootPath: '/app',
    },
    {
      name: 'empty PATH_INFO does not turn the whole path into a root',
      params: [
        ['SCRIPT_NAME', '/users/1'],
        ['PATH_INFO', ''],
        ['REQUEST_URI', '/users/1'],
      ],
      path: '/users/1',
      rootPath: '',
    },
    {
      name: 'no REQUEST_URI: path rebuilt from SCRIPT_NAME + PATH_INFO',
      params: [
        ['SCRIPT_NAME', '/app'],
        ['PATH_INFO', '/a b'],
      ],
      path: '/a b',
      rootPath: '/app',
    },
    { name: 'nothing at all: "/"', params: [], path: '/', rootPath: '' },
    {
      name: 'HTTPS=on gives https',
      params: [
        ['HTTPS', 'on'],
        ['REQUEST_URI', '/'],
      ],
      path: '/',
      rootPath: '',
      scheme: 'https',
    },
    {
      name: 'HTTPS=off stays http',
      params: [
        ['HTTPS', 'off'],
        ['REQUEST_URI', '/'],
      ],
      path: '/',
      rootPath: '',
      scheme: 'http',
    },
    {
      name: 'REQUEST_SCHEME=https gives https',
      params: [
        ['REQUEST_SCHEME', 'https'],
        ['REQUEST_URI', '/'],
      ],
      path: '/',
      rootPath: '',
      scheme: 'https',
    },
  ];
for (const c of cases) {
  test(c.name, (t) => {
    const { scope } = buildFastCGIScope(c.params, base);
    t.is(scope.path, c.path);
    t.is(scope.rootPath, c.rootPath);
    if (c.scheme) t.is(scope.scheme, c.scheme);
  });
}

test('a configured rootPath applies when the web server sends no split', (t) => {
  const { scope } = buildFastCGIScope([['REQUEST_URI', '/api/v1?x']], { ...base, rootPath: '/api' });
  t.is(scope.path, '/v1');
  t.is(scope.rootPath, '/api');
  t.is(scope.queryString, 'x');
});

test('a bad CONTENT_LENGTH is not trusted for framing', (t) => {
  t.is(buildFastCGIScope([['CONTENT_LENGTH', '12abc']], base).contentLength, undefined);
  t.is(buildFastCGIScope([['CONTENT_LENGTH', '']], base).contentLength, undefined);
});

test('proxy headers apply when REMOTE_ADDR (the proxy in front of nginx) is trusted', (t) => {
  const params: Array<[string, string]> = [
    ['REMOTE_ADDR', '127.0.0.1'],
    ['REMOTE_PORT', '1'],
    ['HTTP_X_FORWARDED_FOR', '192.0.2.7'],
    ['HTTP_X_FORWARDED_PROTO', 'https'],
  ];
  const on = buildFastCGIScope(params, { ...base, proxyHeaders: true }).scope;
  t.deepEqual(on.client, ['192.0.2.7', 0]);
  t.is(on.scheme, 'https');
  const off = buildFastCGIScope(params, base).scope;
  t.deepEqual(off.client, ['127.0.0.1', 1]);
  t.is(off.scheme, 'http');
});

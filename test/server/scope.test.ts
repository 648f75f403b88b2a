import test from 'ava';
import {
  buildHttpScope,
  buildWebSocketScope,
  decodePath,
  pairHeaders,
  splitTarget,
  type RequestHead,
} from '../../src/server/scope.js';

const head = (over: Partial<RequestHead> = {}): RequestHead => ({
  method: 'GET',
  target: '/',
  httpVersion: '1.1',
  rawHeaders: [],
  scheme: 'http',
  client: ['127.0.0.1', 40000],
  server: ['127.0.0.1', 8000],
  ...over,
});

const targets: Array<[target: string, rawPath: string, queryString: string]> = [
  ['/', '/', ''],
  ['/a/b', '/a/b', ''],
  ['/a?x=1&y=2', '/a', 'x=1&y=2'],
  ['/a?', '/a', ''],
  ['/a?x=1?y', '/a', 'x=1?y'],
  ['/a%20b?q=%20', '/a%20b', 'q=%20'],
  ['*', '*', ''],
  ['http://example.com/p/q?z=9', '/p/q', 'z=9'],
  ['http://example.com', '/', ''],
  ['http://example.com?x=1', '/', 'x=1'],
  ['//double/slash', '//double/slash', ''],
];
for (const [target, rawPath, queryString] of targets) {
  test(`splitTarget(${JSON.stringify(target)})`, (t) => {
    t.deepEqual(splitTarget(target), { rawPath, queryString });
  });
}

const paths: Array<[raw: string, decoded: string]> = [
  ['/plain', '/plain'],
  ['/a%20b', '/a b'],
  ['/caf%C3%A9', '/café'],
  ['/a%2Fb', '/a/b'],
  ['/%FF', '/\uFFFD'],
  ['/100%', '/100%'],
  ['/%zz/%41', '/%zz/A'],
  ['/%C3', '/\uFFFD'],
  ['/%E2%82%AC%', '/€%'],
  ['/\u00e9%zz', '/\u00e9%zz'],
  ['/\u{1F600}%zz', '/\u{1F600}%zz'],
];
for (const [raw, decoded] of paths) {
  test(`decodePath(${JSON.stringify(raw)}) never throws and decodes as UTF-8`, (t) => {
    t.is(decodePath(raw), decoded);
  });
}

test('pairHeaders lower-cases names and keeps order, duplicates and value case', (t) => {
  t.deepEqual(pairHeaders(['Host', 'x', 'X-A', 'One', 'x-a', 'Two']), [
    ['host', 'x'],
    ['x-a', 'One'],
    ['x-a', 'Two'],
  ]);
  t.deepEqual(pairHeaders([]), []);
});

test('buildHttpScope fills every field the interface names', (t) => {
  const scope = buildHttpScope(
    head({ method: 'POST', target: '/a%20b?x=1', rawHeaders: ['Content-Type', 'text/plain'], state: { db: 1 } }),
  );
  t.deepEqual(scope, {
    type: 'http',
    albany: { version: '1.0', specVersion: '1.0' },
    httpVersion: '1.1',
    method: 'POST',
    scheme: 'http',
    path: '/a b',
    rawPath: '/a%20b',
    queryString: 'x=1',
    rootPath: '',
    headers: [['content-type', 'text/plain']],
    client: ['127.0.0.1', 40000],
    server: ['127.0.0.1', 8000],
    state: { db: 1 },
    extensions: { 'http.response.pathsend': {}, 'http.response.trailers': {} },
  });
});

test('state is a shallow copy: a request cannot change what the next one sees', (t) => {
  const shared = { pool: { n: 1 } as { n: number }, count: 0 };
  const a = buildHttpScope(head({ state: shared }));
  a.state.count = 99;
  t.is(shared.count, 0);
  t.is(a.state.pool, shared.pool);
  t.deepEqual(buildHttpScope(head()).state, {});
});

const roots: Array<[rootPath: string, target: string, path: string]> = [
  ['/api', '/api/users', '/users'],
  ['/api', '/api', '/'],
  ['/api', '/apix', '/apix'],
  ['/api', '/other', '/other'],
  ['', '/x', '/x'],
];
for (const [rootPath, target, path] of roots) {
  test(`rootPath ${JSON.stringify(rootPath)} with ${target} gives path ${path}`, (t) => {
    const scope = buildHttpScope(head({ target, rootPath }));
    t.is(scope.path, path);
    t.is(scope.rootPath, rootPath);
    t.is(scope.rawPath, target);
  });
}

const wsSchemes: Array<[string, string]> = [
  ['http', 'ws'],
  ['https', 'wss'],
];
for (const [scheme, expected] of wsSchemes) {
  test(`websocket scope over ${scheme} has scheme ${expected}, subprotocols in order and no method`, (t) => {
    const scope = buildWebSocketScope(
      head({ scheme, rawHeaders: ['Sec-WebSocket-Protocol', 'chat, superchat', 'sec-websocket-protocol', ' v2 '] }),
    );
    t.is(scope.type, 'websocket');
    t.is(scope.scheme, expected);
    t.deepEqual(scope.subprotocols, ['chat', 'superchat', 'v2']);
    t.false('method' in scope);
  });
}

// The pure parts of the blocking detector: stack parsing and trimming, the line and its advice.
import test from 'ava';
import { advice, formatBlockReport, functionName, routeLabel } from '../../src/observe/block-report.js';
import { parseStack, userFrames } from '../../src/observe/stack-frames.js';

const stack = [
  'Error',
  '    at BlockDetector.#capture (/srv/albany/src/observe/block-detector.ts:80:13)',
  '    at <anonymous>:1:40',
  '    at Atomics.wait (<anonymous>)',
  '    at Timeout.spin [as _onTimeout] (file:///srv/app/lib/heavy.ts:12:5)',
  '    at async route (/srv/app/routes.ts:30:7)',
  '    at Layer.handle (/srv/app/node_modules/express/lib/router/layer.js:95:5)',
  '    at listOnTimeout (node:internal/timers:581:17)',
].join('\n');

test('parseStack reads locations, turns file URLs into paths, skips frames without one', (t) => {
  const frames = parseStack(stack);
  t.deepEqual(
    frames.map((f) => `${f.fn}|${f.file}|${f.line}|${f.column}`),
    [
      'BlockDetector.#capture|/srv/albany/src/observe/block-detector.ts|80|13',
      '<anonymous>|<anonymous>|1|40',
      'Timeout.spin [as _onTimeout]|/srv/app/lib/heavy.ts|12|5',
      'async route|/srv/app/routes.ts|30|7',
      'Layer.handle|/srv/app/node_modules/express/lib/router/layer.js|95|5',
      'listOnTimeout|node:internal/timers|581|17',
    ],
  );
});

test('userFrames drops albany, evaluated code, node_modules and node internals', (t) => {
  const frames = userFrames(parseStack(stack), ['/srv/albany/src/']);
  t.deepEqual(
    frames.map((f) => f.file),
    ['/srv/app/lib/heavy.ts', '/srv/app/routes.ts'],
  );
});

test('functionName keeps the bare name, undefined for anonymous code', (t) => {
  const [spin, route] = userFrames(parseStack(stack), ['/srv/albany/src/']);
  t.is(functionName(spin!), 'spin');
  t.is(functionName(route!), 'route');
  t.is(functionName({ fn: '<anonymous>', file: '/a.ts', line: 1, column: 1 }), undefined);
});

test('routeLabel drops the query string; no request is named so', (t) => {
  t.is(routeLabel({ method: 'GET', target: '/report?id=7' }), 'GET /report');
  t.is(routeLabel(undefined), '(no request)');
});

test('the line names duration, request, frames relative to cwd, and the offload() call for the culprit module', (t) => {
  const frames = userFrames(parseStack(stack), ['/srv/albany/src/']);
  const line = formatBlockReport(
    {
      blockedMs: 312.4,
      detectedAfterMs: 118,
      thresholdMs: 100,
      stillBlocked: false,
      request: { method: 'GET', target: '/report?id=7' },
      frames,
    },
    '/srv/app',
  );
  t.is(
    line,
    'event loop was blocked for 312 ms (threshold 100 ms, caught after 118 ms) while serving GET /report?id=7 at Timeout.spin [as _onTimeout] (lib/heavy.ts:12:5) <- async route (routes.ts:30:7); ' +
      "move it to the pool: await offload(new URL('./heavy.ts', import.meta.url), 'spin')(...args) (spin must be exported from heavy.ts), " +
      "or serve /report from a legacy route in the pool: mount({ '/report': legacy(new URL('./handler.ts', import.meta.url)), '/': app })",
  );
});

test('without a stack or a request the advice still says where to go', (t) => {
  const s = {
    blockedMs: 150,
    detectedAfterMs: 110,
    thresholdMs: 100,
    stillBlocked: true,
    request: undefined,
    frames: [],
    stackMissing: 'native code',
  };
  t.is(advice(s), 'move the blocking work to the pool with offload() (albany/pool)');
  t.regex(
    formatBlockReport(s, '/'),
    /^event loop has been blocked for 150 ms and still is .* outside any request \(no stack: native code\); move/,
  );
});

// What `albany serve` makes of an export: table-driven over the shapes real frameworks export.
import test from 'ava';
import connect from 'connect';
import express from 'express';
import { Hono } from 'hono';
import Koa from 'koa';
import { detectInterface, toGatewayApp, type InterfaceKind } from '../../src/interop/detect.js';

const gateway = async (_scope: unknown, _receive: unknown, _send: unknown) => {};
const nodeHandler = (_req: unknown, _res: unknown) => {};
const fetchHandler = (_request: Request) => new Response('x');

const cases: Array<[string, unknown, InterfaceKind, ReturnType<typeof detectInterface>['kind']]> = [
  ['a 3-parameter function', gateway, 'auto', 'gateway'],
  ['a 2-parameter function', nodeHandler, 'auto', 'node'],
  ['a 1-parameter function', fetchHandler, 'auto', 'fetch'],
  ['an Express app (arity 3, but has handle/use)', express(), 'auto', 'node'],
  ['a Connect app', connect(), 'auto', 'node'],
  ['a Koa instance (via callback())', new Koa(), 'auto', 'node'],
  ['a Hono instance (has fetch)', new Hono(), 'auto', 'fetch'],
  ['an object with fetch', { fetch: fetchHandler }, 'auto', 'fetch'],
  ['forced node on a 3-parameter function', gateway, 'node', 'node'],
  ['forced fetch on a Hono instance', new Hono(), 'fetch', 'fetch'],
  ['forced gateway on a 2-parameter function', nodeHandler, 'gateway', 'gateway'],
];

for (const [name, value, kind, expected] of cases) {
  test(`detects ${name} as ${expected}`, (t) => {
    t.is(detectInterface(value, kind).kind, expected);
    t.is(typeof toGatewayApp(value, kind), 'function');
  });
}

const ambiguous: Array<[string, unknown]> = [
  ['a function with rest parameters', (..._args: unknown[]) => {}],
  ['a 4-parameter function', (_a: unknown, _b: unknown, _c: unknown, _d: unknown) => {}],
  ['a plain object', { handler: () => {} }],
  ['a string', 'app'],
];

for (const [name, value] of ambiguous) {
  test(`refuses ${name} with ERR_ALBANY_INTERFACE naming --interface`, (t) => {
    const error = t.throws(() => toGatewayApp(value, 'auto'));
    t.is((error as { code?: string }).code, 'ERR_ALBANY_INTERFACE');
    t.regex(error!.message, /--interface/);
  });
}

test('a forced interface the value cannot satisfy is refused', (t) => {
  const error = t.throws(() => toGatewayApp({ nope: 1 }, 'fetch'));
  t.is((error as { code?: string }).code, 'ERR_ALBANY_INTERFACE');
});

// fn.length stops at the first default or rest parameter: these read as another interface by arity.
const hiddenArity: Array<[string, unknown, RegExp]> = [
  [
    'a gateway app with a default send (length 2, reads as node)',
    async (_scope: unknown, _receive: unknown, _send: unknown = null) => {},
    /declares 3 parameter\(s\) but its length is 2/,
  ],
  [
    'a node handler with a default res (length 1, reads as fetch)',
    function handler(_req: unknown, _res: unknown = {}) {},
    /declares 2 parameter\(s\) but its length is 1/,
  ],
  [
    'a gateway app with rest parameters after scope',
    (_scope: unknown, ..._rest: unknown[]) => {},
    /declares 2 parameter\(s\) but its length is 1/,
  ],
  [
    "node middleware (req, res, next): a gateway app's arity",
    (_req: unknown, _res: unknown, _next: unknown) => {},
    /named like node middleware/,
  ],
  [
    'middleware written as (request, response, next)',
    function mw(request: unknown, response: unknown, next: unknown) {
      return [request, response, next];
    },
    /named like node middleware/,
  ],
];

for (const [name, value, why] of hiddenArity) {
  test(`refuses ${name} with ERR_ALBANY_INTERFACE naming --interface`, (t) => {
    const error = t.throws(() => toGatewayApp(value, 'auto'));
    t.is((error as { code?: string }).code, 'ERR_ALBANY_INTERFACE');
    t.regex(error!.message, why);
    t.regex(error!.message, /--interface gateway/);
    t.false(error!.message.includes('\n'), 'the CLI prints it as one line');
  });
}

test('an explicit --interface settles what the arity could not', (t) => {
  const [, gatewayWithDefault] = hiddenArity[0]!;
  t.is(detectInterface(gatewayWithDefault, 'gateway').kind, 'gateway');
  t.is(toGatewayApp(gatewayWithDefault, 'gateway') as unknown, gatewayWithDefault);
  const [, middleware] = hiddenArity[3]!;
  t.is(detectInterface(middleware, 'node').kind, 'node');
});

const trusted: Array<[string, unknown, ReturnType<typeof detectInterface>['kind']]> = [
  [
    'destructured parameters without defaults',
    ({ method }: { method: string }, { end }: { end: () => void }) => [method, end],
    'node',
  ],
  [
    'a one-parameter arrow without parentheses',
    (async (request: Request) => new Response(request.url)) as unknown,
    'fetch',
  ],
  [
    'a bound function (no source: its length is all there is)',
    ((_a: unknown, _b: unknown, _c: unknown) => {}).bind(null),
    'gateway',
  ],
  ['a method shorthand', { handle(_scope: unknown, _receive: unknown, _send: unknown) {} }.handle, 'gateway'],
];

for (const [name, value, expected] of trusted) {
  test(`trusts the arity of ${name}`, (t) => {
    t.is(detectInterface(value, 'auto').kind, expected);
  });
}

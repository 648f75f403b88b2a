// The periods of the node:http host's timeout checks: a fraction of the timeout they enforce, and
// never near one second (the period of node:http's Date header timer; see src/server/check-periods.ts).
import test from 'ava';
import { connectionsCheckMs, sweepPeriodMs } from '../../src/server/check-periods.js';
import { createServer } from '../../src/server/http.js';
import { resolveServerOptions, SERVER_DEFAULTS } from '../../src/server/options.js';

const nearOneSecond = (ms: number) => ms > 500 && ms < 2000;

test('the sweep runs every quarter of the request timeout, from 50 ms up to 250 ms', (t) => {
  const rows: Array<[number, number]> = [
    [1, 50],
    [199, 50],
    [200, 50],
    [600, 150],
    [1000, 250],
    [1200, 250],
    [2000, 250],
    [4000, 250],
    [SERVER_DEFAULTS.requestTimeoutMs, 250],
  ];
  for (const [timeout, period] of rows) t.is(sweepPeriodMs(timeout), period, `requestTimeoutMs ${timeout}`);
});

test("node's connection check runs every half of the shorter timeout: 100-500 ms, or 2 s from 4 s on", (t) => {
  const rows: Array<[number, number, number]> = [
    [600, 1200, 300],
    [400, 1000, 200],
    [100, 100, 100],
    [2000, 4000, 500],
    [3999, 300_000, 500],
    [4000, 300_000, 2000],
    [SERVER_DEFAULTS.headersTimeoutMs, SERVER_DEFAULTS.requestTimeoutMs, 2000],
    // 0 is "no limit" for either: a 1 s stand-in takes its place.
    [0, 1200, 500],
    [30_000, 0, 500],
    [0, 0, 500],
  ];
  for (const [headers, request, period] of rows)
    t.is(connectionsCheckMs(headers, request), period, `headersTimeoutMs ${headers}, requestTimeoutMs ${request}`);
});

test('no timeout pair gives either check a period between 0.5 and 2 s', (t) => {
  for (let a = 0; a <= 20_000; a += 7) {
    t.false(nearOneSecond(sweepPeriodMs(a || 1)), `sweep for ${a}`);
    for (const b of [0, 1, 999, 1000, 3998, 4001, 300_000])
      t.false(nearOneSecond(connectionsCheckMs(a, b)), `check for ${a}, ${b}`);
  }
});

test('createServer hands node the connection check period', (t) => {
  const { server, options } = createServer(async () => {}, {});
  t.is((server as unknown as { connectionsCheckingInterval: number }).connectionsCheckingInterval, 2000);
  t.is(options.headersTimeoutMs, resolveServerOptions({}).headersTimeoutMs);
  server.close();
  const short = createServer(async () => {}, { headersTimeoutMs: 600, requestTimeoutMs: 1200 }).server;
  t.is((short as unknown as { connectionsCheckingInterval: number }).connectionsCheckingInterval, 300);
  short.close();
});

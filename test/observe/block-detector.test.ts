// The blocking detector end to end: a real server, real requests, the watchdog's one line and the
// /metrics families, and a route that only waits on I/O left alone.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { serve } from '../../src/server/http.js';
import type { Logger } from '../../src/server/options.js';
import { blockMetrics } from '../../src/observe/block-metrics.js';
import { app, spinStartedAt } from '../fixtures/observe/blocking-app.js';
import { acquireBlockDetector, lastBlockSighting } from '../../src/observe/block-detector.js';
import { albany, lines, listening } from '../cli/helpers.js';

const fixtureFile = fileURLToPath(new URL('../fixtures/observe/blocking-app.ts', import.meta.url));
const spinLine =
  readFileSync(fixtureFile, 'utf8')
    .split('\n')
    .findIndex((l) => l.includes('SPIN-LINE')) + 1;

/** A logger that keeps its warn lines with the time each arrived. */
function recordingLogger(): Logger & { warnings: Array<{ at: number; line: string }> } {
  const warnings: Array<{ at: number; line: string }> = [];
  return {
    warnings,
    debug() {},
    info() {},
    error() {},
    warn: (line: string) => void warnings.push({ at: Date.now(), line }),
  };
}

// One server for the serial tests below: the detector is one per process.
test.serial(
  'a route that spins 300 ms is reported within 2 x the threshold, with its file:line and the offload() call',
  async (t) => {
    const logger = recordingLogger();
    const server = await serve(app, { port: 0, logger, lifespan: 'off', blockThresholdMs: 100 });
    t.teardown(() => server.close());
    const before = blockMetrics.routes().get('GET /spin') ?? 0;
    const res = await fetch(`${server.url}/spin?ms=300`);
    t.is(await res.text(), 'done /spin');
    // Only the /spin line counts: the first fetch of a loaded test process can block the loop too.
    await until(() => logger.warnings.some((w) => w.line.includes('GET /spin')));
    const spins = logger.warnings.filter((w) => w.line.includes('GET /spin'));
    t.is(spins.length, 1, logger.warnings.map((w) => w.line).join('\n'));
    const line = spins[0]!.line;
    // Caught within 2 x the threshold of the spin's start, on the main thread's own clock (the block
    // may have begun a little before the spin: the request's own handling is part of it).
    const sighting = lastBlockSighting();
    t.truthy(sighting?.caughtAt);
    const caughtAfterSpinStart = sighting!.caughtAt! - spinStartedAt;
    t.true(
      caughtAfterSpinStart > 0 && caughtAfterSpinStart <= 200,
      `caught ${caughtAfterSpinStart} ms into the spin; ${line}`,
    );
    t.true(Number(/caught after (\d+) ms/.exec(line)?.[1]) >= 100, line);
    const blocked = Number(/was blocked for (\d+) ms/.exec(line)?.[1]);
    t.true(blocked >= 300 && blocked < 2000, line);
    t.true(line.includes('while serving GET /spin?ms=300'), line);
    t.true(line.includes(`spinFor (test/fixtures/observe/blocking-app.ts:${spinLine}:`), line);
    t.true(line.includes(`offload(new URL('./blocking-app.ts', import.meta.url), 'spinFor')`), line);
    t.true(line.includes(`mount({ '/spin': legacy(`), line);
    t.is(blockMetrics.routes().get('GET /spin'), before + 1);
  },
);

test.serial('a route that awaits a timer or a socket for 300 ms is never reported', async (t) => {
  const logger = recordingLogger();
  const server = await serve(app, { port: 0, logger, lifespan: 'off', blockThresholdMs: 100 });
  t.teardown(() => server.close());
  const started = Date.now();
  // /io awaits a 300 ms timer; the slow client below makes the server wait on a socket as long.
  const [io, echo] = await Promise.all([
    fetch(`${server.url}/io?ms=300`).then((r) => r.text()),
    fetch(`${server.url}/echo`, { method: 'POST', body: slowBody(300), duplex: 'half' } as RequestInit).then((r) =>
      r.text(),
    ),
  ]);
  t.is(io, 'done /io');
  t.is(echo, 'first second');
  t.true(Date.now() - started >= 290);
  await new Promise((resolve) => setTimeout(resolve, 150));
  t.deepEqual(
    logger.warnings.filter((w) => /GET \/(io|echo)/.test(w.line)),
    [],
  );
});

test.serial('blockThresholdMs: 0 runs no detector; a bad value is refused with its name', async (t) => {
  const logger = recordingLogger();
  const server = await serve(app, { port: 0, logger, lifespan: 'off', blockThresholdMs: 0 });
  t.teardown(() => server.close());
  t.is(await (await fetch(`${server.url}/spin?ms=250`)).text(), 'done /spin');
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.deepEqual(logger.warnings, []);
  await t.throwsAsync(serve(app, { port: 0, logger, lifespan: 'off', blockThresholdMs: -1 }), {
    code: 'ERR_ALBANY_INVALID_CONFIG',
    message: /blockThresholdMs must be a non-negative integer/,
  });
});

test.serial(
  'clockScale stretches the threshold: at 100 ms x 5 a 200 ms spin passes, a 1200 ms one is reported at 500 ms',
  async (t) => {
    t.throws(() => acquireBlockDetector(100, recordingLogger(), 0.5), {
      code: 'ERR_ALBANY_INVALID_CONFIG',
      message: /clockScale must be a number from 1 to 10000.*got 0\.5/,
    });
    const logger = recordingLogger();
    // Started first, the scaled detector is the one serve() joins (one per process).
    const release = acquireBlockDetector(100, logger, 5);
    t.teardown(release);
    const server = await serve(app, { port: 0, logger, lifespan: 'off', blockThresholdMs: 100 });
    t.teardown(() => server.close());
    t.is(await (await fetch(`${server.url}/spin?ms=200`)).text(), 'done /spin');
    t.is(await (await fetch(`${server.url}/spin?ms=1200`)).text(), 'done /spin');
    await until(() => logger.warnings.some((w) => w.line.includes('ms=1200')));
    const spins = logger.warnings.filter((w) => w.line.includes('GET /spin'));
    t.is(spins.length, 1, logger.warnings.map((w) => w.line).join('\n'));
    t.regex(spins[0]!.line, /threshold 500 ms.*while serving GET \/spin\?ms=1200/);
  },
);

test('the CLI reports a blocked loop on stderr and exposes both families at --metrics', async (t) => {
  const run = albany([
    'serve',
    'test/fixtures/observe/blocking-app.ts:app',
    '--port',
    '0',
    '--metrics',
    '0',
    '--block-threshold',
    '80',
    '--lifespan',
    'off',
  ]);
  t.teardown(() => run.child.kill('SIGKILL'));
  let metricsUrl: string | undefined;
  let url: string | undefined;
  const begun = Date.now();
  while (url === undefined || metricsUrl === undefined) {
    url = /albany: listening on (http:\/\/\S+)/.exec(run.stdout())?.[1];
    metricsUrl = /metrics at (http:\/\/\S+)/.exec(run.stderr())?.[1];
    if (run.child.exitCode !== null || Date.now() - begun > 30_000)
      throw new Error(`no listening and metrics lines: ${run.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  t.is(await (await fetch(`${url}/spin?ms=250`)).text(), 'done /spin');
  await until(() => run.stderr().includes('GET /spin'));
  const warn = lines(run.stderr()).filter((l) => l.startsWith('warn: event loop') && l.includes('GET /spin'));
  t.is(warn.length, 1, run.stderr());
  t.regex(
    warn[0]!,
    /threshold 80 ms.*while serving GET \/spin\?ms=250 at spinFor \(test\/fixtures\/observe\/blocking-app\.ts:\d+:\d+\)/,
  );
  const text = await (await fetch(metricsUrl)).text();
  t.regex(text, /^# TYPE albany_event_loop_blocked_seconds histogram$/m);
  t.regex(text, /^albany_event_loop_blocked_seconds_count [1-9]\d*$/m);
  t.regex(text, /^albany_event_loop_blocked_seconds_bucket\{le="0\.5"\} [1-9]\d*$/m);
  t.regex(text, /^albany_blocking_total\{route="GET \/spin"\} 1$/m);
  run.child.kill('SIGTERM');
  await run.exit;
});

test('a loop that stays blocked gets its line from the watchdog itself, once, while still blocked', async (t) => {
  // Threshold 50 ms: the watchdog writes the line itself once the block passes 1 s.
  const run = albany([
    'serve',
    'test/fixtures/observe/blocking-app.ts:app',
    '--port',
    '0',
    '--block-threshold',
    '50',
    '--lifespan',
    'off',
  ]);
  t.teardown(() => run.child.kill('SIGKILL'));
  const url = await listening(run);
  // A first request loads what the host loads lazily, so only the spin below blocks for long.
  t.is(await (await fetch(`${url}/`)).text(), 'done /');
  const started = Date.now();
  const response = fetch(`${url}/spin?ms=2500`).then((r) => r.text());
  let line: string | undefined;
  while (line === undefined) {
    line = lines(run.stderr()).find((l) => l.startsWith('warn: event loop') && l.includes('ms=2500'));
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const seenAfter = Date.now() - started;
  t.true(seenAfter < 2400, `the line came ${seenAfter} ms after the request, after the block ended`);
  t.regex(
    line,
    /event loop has been blocked for \d+ ms and still is \(threshold 50 ms.*while serving GET \/spin\?ms=2500 at spinFor \(test\/fixtures\/observe\/blocking-app\.ts:\d+:\d+\)/,
  );
  t.is(await response, 'done /spin');
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.is(
    lines(run.stderr()).filter((l) => l.startsWith('warn: event loop') && l.includes('ms=2500')).length,
    1,
    run.stderr(),
  );
  run.child.kill('SIGTERM');
  await run.exit;
});

/** Resolves once `ready()` holds, or after 3 s (the assertions after it then say what is missing). */
async function until(ready: () => boolean): Promise<void> {
  for (const end = Date.now() + 3000; !ready() && Date.now() < end; )
    await new Promise((resolve) => setTimeout(resolve, 20));
}

/** A request body that arrives in two halves `ms` apart: the server waits on its socket meanwhile. */
function slowBody(ms: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    async pull(controller) {
      if (sent === 0) controller.enqueue(new TextEncoder().encode('first '));
      else if (sent === 1) {
        await new Promise((resolve) => setTimeout(resolve, ms));
        controller.enqueue(new TextEncoder().encode('second'));
      } else controller.close();
      sent++;
    },
  });
}

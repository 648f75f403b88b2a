// `albany config --suggest`: sizing advice read from a running `albany serve --metrics` (both real
// processes, real ports), the periodic advice line of the server, and one-line errors with exit 2.
import { availableParallelism } from 'node:os';
import test from 'ava';
import { parseCli } from '../../src/cli.js';
import { albany, listening, root } from './helpers.js';
import { freePort } from '../helpers/nginx.js';

/** Waits until `check(text)` holds for the run's stderr (at most `ms`). */
async function stderrShows(run: ReturnType<typeof albany>, check: RegExp, ms = 20_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 50)))
    if (check.test(run.stderr())) return true;
  return false;
}

test('config --suggest PORT against albany serve --legacy: advice for a sleep-bound pool; periodic line', async (t) => {
  const metricsPort = await freePort();
  const serve = albany(
    [
      'serve',
      '--legacy',
      'test/fixtures/pool/sleep.ts',
      '--port',
      '0',
      '--pool-max-threads',
      '2',
      '--metrics',
      String(metricsPort),
      '--advice-interval',
      '1',
      '--no-access-log',
    ],
    { timeoutMs: 90_000 },
  );
  t.teardown(() => serve.child.kill('SIGKILL'));
  const url = await listening(serve);
  t.true(await stderrShows(serve, /metrics at http/), serve.stderr());
  // Two threads, 24 requests of 250 ms at once: a queue the whole time, next to no CPU.
  const statuses = await Promise.all(
    Array.from({ length: 24 }, () =>
      fetch(`${url}/?ms=250`).then(async (r) => {
        await r.text();
        return r.status;
      }),
    ),
  );
  t.deepEqual(new Set(statuses), new Set([200]));

  const suggest = albany(['config', '--suggest', String(metricsPort)]);
  const { code } = await suggest.exit;
  t.log(suggest.stdout());
  t.is(code, 0, suggest.stderr());
  const line = suggest.stdout().trim();
  t.is(line.split('\n').length, 1);
  t.regex(line, /^pool \S+: 2 threads, busy \d+ %, CPU [\d.]+ % of run time, .*24 tasks.* → I\/O-bound: /);
  const m = / → I\/O-bound: try maxThreads (\d+), maxQueue \d+ \(rule: .+\)$/.exec(line);
  t.truthy(m, line);
  t.true(Number(m![1]) > availableParallelism());

  // The server said the same on its own, as an info line for the window it was busy in.
  t.true(
    await stderrShows(
      serve,
      /info: pool \S+: 2 threads, .*→ I\/O-bound: try maxThreads \d+.*\[last [\d.]+ s\]/,
      10_000,
    ),
    serve.stderr(),
  );
  serve.child.kill('SIGTERM');
  t.is((await serve.exit).code, 0);
});

test('config --suggest with nothing listening: one line naming the URL and the cause, exit 2', async (t) => {
  const port = await freePort();
  const run = albany(['config', '--suggest', `127.0.0.1:${port}`]);
  t.is((await run.exit).code, 2);
  t.is(run.stdout(), '');
  t.is(
    run.stderr(),
    `albany: --suggest: cannot read http://127.0.0.1:${port}/metrics (ECONNREFUSED); ` +
      'start the server with --metrics PORT and give that port\n',
  );
});

test('config --suggest with a bad URL: one usage line, exit 2', async (t) => {
  const run = albany(['config', '--suggest', 'ftp://example.com/metrics']);
  t.is((await run.exit).code, 2);
  t.regex(run.stderr(), /^albany: --suggest "ftp:\/\/example\.com\/metrics": ftp: is not http: or https:; /);
  const allowed = 'give the --metrics port of a running albany, as PORT, HOST:PORT or http://HOST:PORT/metrics';
  t.true(run.stderr().endsWith(`; ${allowed}\n`), run.stderr());
  t.is(run.stderr().split('\n').length, 2, 'one line');
});

test('--suggest parses PORT, HOST:PORT and URLs, and belongs to albany config only', (t) => {
  t.is(parseCli(['config', '--suggest', '9100'], {}, root).suggest, '9100');
  t.is(parseCli(['serve', 'app.ts'], {}, root).adviceIntervalS, 60);
  t.is(parseCli(['serve', 'app.ts'], { ALBANY_ADVICE_INTERVAL: '0' }, root).adviceIntervalS, 0);
  t.is(
    parseCli(['serve', 'app.ts', '--advice-interval', '5'], { ALBANY_ADVICE_INTERVAL: '0' }, root).adviceIntervalS,
    5,
  );
  t.is(parseCli(['config', '--suggest', '9100', '--suggest-window', '10'], {}, root).suggestWindowS, 10);
  const noSuggest = { message: '--suggest-window needs --suggest' };
  t.throws(() => parseCli(['config', '--suggest-window', '10'], {}, root), noSuggest);
  t.throws(() => parseCli(['serve', 'app.ts', '--suggest', '9100'], {}, root), {
    message: /--suggest belongs to albany config/,
  });
  t.throws(() => parseCli(['serve', 'app.ts', '--advice-interval', 'soon'], {}, root), {
    message: '--advice-interval must be a whole number, got "soon"',
  });
});

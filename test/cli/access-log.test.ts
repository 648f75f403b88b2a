// The access log of `albany serve`: one line per request on stdout, as text or JSON lines, for
// gateway apps, the direct fromFetch path and legacy handlers alike; --no-access-log turns it off.
import test from 'ava';
import { albany, fixture, listening, type CliRun } from './helpers.js';

// Access lines are written at the end of the event loop's turn: wait until `count` have arrived.
async function accessLines(run: CliRun, count: number, filter: (line: string) => boolean): Promise<string[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const found = run.stdout().split('\n').filter(filter);
    if (found.length >= count || Date.now() > deadline) return found;
    await new Promise((r) => setTimeout(r, 25));
  }
}
const isAccess = (line: string) => /^\d{4}-\d\d-\d\dT.*" \d{3} /.test(line);

test.serial('text lines: time, client, request line, status, bytes, duration and the x-request-id sent', async (t) => {
  const run = albany(['serve', fixture('ops-app.mjs'), '--port', '0', '--lifespan', 'off']);
  t.teardown(() => run.child.kill('SIGKILL'));
  const url = await listening(run);
  const res = await fetch(`${url}/hello?x=1`, { headers: { 'x-request-id': 'req-abc-123' } });
  t.is(await res.text(), 'ok /hello');
  const second = await fetch(`${url}/other`);
  t.is(await second.text(), 'ok /other');
  const [first, next] = await accessLines(run, 2, isAccess);
  t.regex(
    first!,
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z 127\.0\.0\.1:\d+ "GET \/hello\?x=1 HTTP\/1\.1" 200 9 \d+(\.\d+)?ms req-abc-123$/,
  );
  // Without x-request-id, one is made up: a per-process prefix and a counter.
  t.regex(next!, /"GET \/other HTTP\/1\.1" 200 9 [\d.]+ms [0-9a-f]{12}-[0-9a-z]+$/);
  run.child.kill('SIGTERM');
  t.is((await run.exit).code, 0, run.stderr());
});

test.serial('--log-format json: one JSON object per line, for the direct fromFetch path too', async (t) => {
  const run = albany(['serve', fixture('fetch-hello.mjs'), '--port', '0', '--lifespan', 'off', '--log-format', 'json']);
  t.teardown(() => run.child.kill('SIGKILL'));
  const url = await listening(run);
  const res = await fetch(`${url}/f"q`, { headers: { 'x-request-id': 'id "quoted"' } });
  t.is(await res.text(), 'fetched /f%22q');
  const [line] = await accessLines(run, 1, (l) => l.startsWith('{'));
  const record = JSON.parse(line!) as Record<string, unknown>;
  t.like(record, {
    method: 'GET',
    path: '/f%22q',
    httpVersion: '1.1',
    status: 200,
    bytes: 14,
    requestId: 'id "quoted"',
  });
  t.regex(String(record.client), /^127\.0\.0\.1:\d+$/);
  t.true(typeof record.durationMs === 'number' && record.durationMs >= 0);
  t.false(Number.isNaN(Date.parse(String(record.time))));
  run.child.kill('SIGTERM');
  await run.exit;
});

test.serial('legacy handlers are logged, and refusals (413) too', async (t) => {
  const run = albany([
    'serve',
    '--legacy',
    fixture('legacy-plain.mjs'),
    '--port',
    '0',
    '--max-body-size',
    '4',
    '--pool-max-threads',
    '1',
  ]);
  t.teardown(() => run.child.kill('SIGKILL'));
  const url = await listening(run);
  t.is(await (await fetch(`${url}/legacy`)).text(), 'handle /legacy');
  const refused = await fetch(`${url}/big`, { method: 'POST', body: 'too large' });
  t.is(refused.status, 413);
  const found = await accessLines(run, 2, isAccess);
  t.regex(found.find((l) => l.includes('/legacy')) ?? '', /"GET \/legacy HTTP\/1\.1" 200 14 /);
  t.regex(found.find((l) => l.includes('/big')) ?? '', /"POST \/big HTTP\/1\.1" 413 17 /);
  run.child.kill('SIGTERM');
  await run.exit;
});

test.serial('--no-access-log writes no lines; --log-level warn turns the default off', async (t) => {
  for (const flags of [['--no-access-log'], ['--log-level', 'warn']]) {
    const run = albany(['serve', fixture('ops-app.mjs'), '--port', '0', '--lifespan', 'off', ...flags]);
    t.teardown(() => run.child.kill('SIGKILL'));
    const url = await listening(run);
    t.is(await (await fetch(`${url}/quiet`)).text(), 'ok /quiet');
    run.child.kill('SIGTERM');
    await run.exit;
    t.deepEqual(run.stdout().split('\n').filter(isAccess), [], flags.join(' '));
  }
});

test.serial('a client that leaves before the response is logged as 499', async (t) => {
  const run = albany(['serve', fixture('ops-app.mjs'), '--port', '0', '--lifespan', 'off']);
  t.teardown(() => run.child.kill('SIGKILL'));
  const url = await listening(run);
  const error = await fetch(`${url}/hang`, { signal: AbortSignal.timeout(300) }).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.is((error as DOMException).name, 'TimeoutError');
  const [line] = await accessLines(run, 1, isAccess);
  t.regex(line!, /"GET \/hang HTTP\/1\.1" 499 0 /);
  run.child.kill('SIGTERM');
  await run.exit;
});

test.serial(
  '--access-log and --no-access-log together are refused; a bad --log-format names the choices',
  async (t) => {
    const both = albany(['serve', fixture('ops-app.mjs'), '--access-log', '--no-access-log']);
    t.is((await both.exit).code, 2);
    t.is(both.stderr(), 'albany: give either --access-log or --no-access-log, not both\n');
    const bad = albany(['serve', fixture('ops-app.mjs'), '--log-format', 'xml']);
    t.is((await bad.exit).code, 2);
    t.is(bad.stderr(), 'albany: --log-format must be one of text, json, got "xml"\n');
  },
);

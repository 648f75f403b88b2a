// `albany serve` refuses an app whose interface its arity cannot tell (a default parameter hides
// it) instead of guessing; `--interface` settles it.
import test from 'ava';
import { albany, fixture, lines, listening } from './helpers.js';

test.serial(
  'a gateway app with a default parameter exits 2 with one line naming --interface, instead of hanging every request',
  async (t) => {
    const run = albany(['serve', fixture('default-param.mjs'), '--port', '0']);
    t.is((await run.exit).code, 2, run.stderr());
    t.is(lines(run.stderr()).length, 1, run.stderr());
    t.regex(
      run.stderr(),
      /^albany: cannot tell what kind of app the export is \(a function \(scope, receive, send ?= ?null\) of length 2\): it declares 3 parameter\(s\) but its length is 2/,
    );
    t.regex(run.stderr(), /--interface gateway/);
    t.false(run.stdout().includes('listening'));
  },
);

test.serial('the same app with --interface gateway serves', async (t) => {
  const run = albany([
    'serve',
    fixture('default-param.mjs'),
    '--interface',
    'gateway',
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--lifespan',
    'off',
  ]);
  t.teardown(() => run.child.kill('SIGKILL'));
  const url = await listening(run);
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  t.is(res.status, 200);
  t.is(await res.text(), 'gateway with a default');
  run.child.kill('SIGTERM');
  t.is((await run.exit).code, 0, run.stderr());
});

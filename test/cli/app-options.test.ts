// --factory, --app-dir and --env-file through the real CLI.
import test from 'ava';
import { albany, lines, listening } from './helpers.js';

test.serial(
  '--factory --app-dir --env-file: the factory runs once, in the environment the file set up, and a variable already set wins',
  async (t) => {
    const run = albany(
      [
        'serve',
        'factory.mjs:createApp',
        '--factory',
        '--app-dir',
        'test/fixtures/cli/app-dir',
        '--env-file',
        'test/fixtures/cli/app-dir/test.env',
        '--port',
        '0',
        '--lifespan',
        'off',
      ],
      { env: { ALBANY_TEST_KEPT: 'from-env' } },
    );
    t.teardown(() => run.child.kill('SIGKILL'));
    const url = await listening(run);
    for (let i = 0; i < 3; i++)
      t.is(await (await fetch(`${url}/x`)).text(), 'calls=1 greeting=from-file kept=from-env');
    run.child.kill('SIGTERM');
    t.is((await run.exit).code, 0, run.stderr());
  },
);

test.serial('--factory on an export that is not a function exits 2 with one line', async (t) => {
  const run = albany([
    'serve',
    'factory.mjs:notAFactory',
    '--factory',
    '--app-dir',
    'test/fixtures/cli/app-dir',
    '--port',
    '0',
  ]);
  t.is((await run.exit).code, 2);
  t.is(lines(run.stderr()).length, 1, run.stderr());
  t.regex(
    run.stderr(),
    /^albany: --factory: export "notAFactory" of .*factory\.mjs is a number, not a function that builds the app$/m,
  );
});

test.serial(
  'a missing --env-file, a missing --app-dir and --factory with --legacy are refused with one line each',
  async (t) => {
    // node 20 itself looks for --env-file anywhere in argv, even after the script, and exits 9 with
    // its own line before albany runs; later nodes leave it to albany (exit 2).
    const missing = albany(['serve', 'x.mjs', '--env-file', 'nope.env']);
    const { code } = await missing.exit;
    t.true(code === 2 || code === 9, String(code));
    t.regex(missing.stderr(), /^(albany: --env-file .*nope\.env: no such file|\S*node: nope\.env: not found)\n?$/);
    const cases: Array<[string[], RegExp]> = [
      [['serve', 'x.mjs', '--app-dir', 'no/such/dir'], /^albany: --app-dir "no\/such\/dir" is not a directory\n$/],
      [
        ['serve', '--legacy', 'x.mjs', '--factory'],
        /^albany: --factory applies to a serve target, not to --legacy handlers\n$/,
      ],
    ];
    for (const [args, expected] of cases) {
      const run = albany(args);
      t.is((await run.exit).code, 2, args.join(' '));
      t.regex(run.stderr(), expected);
    }
  },
);

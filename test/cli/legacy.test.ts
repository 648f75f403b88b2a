// `albany serve --legacy MODULE[:EXPORT]`: the module is loaded once at start; a broken one stops the
// CLI with exit 2 and one line naming the file (and the line of a syntax error or a throw).
import test from 'ava';
import { resolve } from 'node:path';
import { albany, fixture, lines, listening, root } from './helpers.js';

const abs = (name: string) => resolve(root, fixture(name));

const broken: Array<[string, string, RegExp]> = [
  ['a missing file', 'no-such-handler.mjs', /^albany: legacy module not found: \S+no-such-handler\.mjs$/],
  [
    'a missing export (listing the exports there are)',
    'legacy-plain.mjs:nothere',
    /^albany: legacy module \S+legacy-plain\.mjs has no function export "nothere" \(exports: handle, other\)$/,
  ],
  [
    'a syntax error (with its line)',
    'legacy-syntax.mjs',
    /^albany: legacy module \S+legacy-syntax\.mjs:4 has a syntax error: Unexpected identifier 'body'$/,
  ],
  [
    'a handler whose style cannot be told (naming --legacy-style)',
    'legacy-two-params.mjs',
    /^albany: cannot tell whether export "default" of \S+legacy-two-params\.mjs is WSGI .* \(here: --legacy-style wsgi\|plain\|node\)$/,
  ],
  [
    'a throw at import time (with its line)',
    'legacy-throws.mjs',
    /^albany: legacy module \S+legacy-throws\.mjs:3 threw while loading: Error: cannot open \/var\/lib\/app\.db$/,
  ],
];

for (const [name, target, expected] of broken) {
  test.serial(`--legacy with ${name} exits 2 with one line naming the file, before listening`, async (t) => {
    const run = albany(['serve', '--legacy', fixture(target), '--port', '0']);
    const { code } = await run.exit;
    t.is(code, 2, run.stderr());
    t.is(lines(run.stderr()).length, 1, run.stderr());
    t.regex(lines(run.stderr())[0]!, expected);
    t.true(run.stderr().includes(abs(target.replace(/:\w+$/, ''))), 'names the absolute file');
    t.false(run.stdout().includes('listening'));
  });
}

test.serial(
  '--legacy with a broken module and --workers 2 still exits 2 with one line (the primary checks it)',
  async (t) => {
    const run = albany(['serve', '--legacy', fixture('legacy-throws.mjs'), '--port', '0', '--workers', '2']);
    t.is((await run.exit).code, 2, run.stderr());
    t.is(lines(run.stderr()).length, 1, run.stderr());
    t.regex(run.stderr(), /legacy-throws\.mjs:3 threw while loading/);
  },
);

for (const [spec, body] of [
  ['legacy-plain.mjs', 'handle /a/b'],
  ['legacy-plain.mjs:other', 'other /a/b'],
  ['legacy-plain.mjs:handle', 'handle /a/b'],
] as const) {
  test.serial(`--legacy ${spec} serves that export`, async (t) => {
    const run = albany(['serve', '--legacy', fixture(spec), '--host', '127.0.0.1', '--port', '0']);
    t.teardown(() => run.child.kill('SIGKILL'));
    const url = await listening(run);
    const res = await fetch(`${url}/a/b`);
    t.is(res.status, 200);
    t.is(await res.text(), body);
    run.child.kill('SIGTERM');
    t.is((await run.exit).code, 0, run.stderr());
  });
}

test.serial('a serve target with a syntax error names its file and line the same way', async (t) => {
  const run = albany(['serve', fixture('legacy-syntax.mjs'), '--port', '0']);
  t.is((await run.exit).code, 2, run.stderr());
  t.is(lines(run.stderr()).length, 1, run.stderr());
  t.regex(run.stderr(), /^albany: module \S+legacy-syntax\.mjs:4 has a syntax error: Unexpected identifier 'body'$/m);
});

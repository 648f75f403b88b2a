// `MODULE[:EXPORT]` as the CLI splits it: only an identifier after the last ':' names an export.
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTarget, splitModuleSpec } from '../src/load-app.js';

const cwd = '/srv/app';

const cases: Array<[string, string, string | undefined]> = [
  ['app.mjs', '/srv/app/app.mjs', undefined],
  ['app.mjs:handler', '/srv/app/app.mjs', 'handler'],
  ['lib/app.ts:$weird_1', '/srv/app/lib/app.ts', '$weird_1'],
  ['/abs/app.js:default', '/abs/app.js', 'default'],
  ['dir:v2/app.js', '/srv/app/dir:v2/app.js', undefined],
  ['releases:2024/app.js:handle', '/srv/app/releases:2024/app.js', 'handle'],
  ['app.mjs:not-an-identifier', '/srv/app/app.mjs:not-an-identifier', undefined],
  ['app.mjs:', '/srv/app/app.mjs:', undefined],
  ['app.mjs:1st', '/srv/app/app.mjs:1st', undefined],
];

for (const [spec, file, exportName] of cases) {
  test(`splits ${JSON.stringify(spec)}`, (t) => {
    t.deepEqual(splitModuleSpec(spec, cwd), { file, exportName });
  });
}

test('parseTarget defaults the export to "default"', (t) => {
  t.deepEqual(parseTarget('app.mjs', cwd), { file: '/srv/app/app.mjs', exportName: 'default' });
  t.deepEqual(parseTarget('app.mjs:named', cwd), { file: '/srv/app/app.mjs', exportName: 'named' });
});

test('a file whose whole name looks like MODULE:EXPORT is used when only it exists', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'albany-spec-'));
  writeFileSync(join(dir, 'server:main'), 'export default 1;\n');
  t.deepEqual(splitModuleSpec('server:main', dir), { file: join(dir, 'server:main'), exportName: undefined });
  writeFileSync(join(dir, 'server'), 'export default 1;\n');
  t.deepEqual(
    splitModuleSpec('server:main', dir),
    { file: join(dir, 'server'), exportName: 'main' },
    'both exist: the export reading wins',
  );
});

// `--provide [NAME=]MODULE`: the service-name prefix, and services registered and withdrawn in process.
import test from 'ava';
import { fileURLToPath } from 'node:url';
import { parseProvideSpec, startProvided } from '../src/provide-modules.js';
import { registry } from '../src/sync/service-registry.js';
import { consoleLogger } from '../src/server/options.js';

const cwd = '/srv/app';

test('the prefix is the file name without its extension, or NAME= when given', (t) => {
  t.deepEqual(parseProvideSpec('services/users.mjs', cwd), { file: '/srv/app/services/users.mjs', prefix: 'users' });
  t.deepEqual(parseProvideSpec('db.service.ts', cwd), { file: '/srv/app/db.service.ts', prefix: 'db.service' });
  t.deepEqual(parseProvideSpec('people=services/users.mjs', cwd), {
    file: '/srv/app/services/users.mjs',
    prefix: 'people',
  });
  t.deepEqual(parseProvideSpec('api.v2=users.mjs', cwd), { file: '/srv/app/users.mjs', prefix: 'api.v2' });
  // An '=' that does not follow a name belongs to the path.
  t.deepEqual(parseProvideSpec('a b=users.mjs', cwd), { file: '/srv/app/a b=users.mjs', prefix: 'a b=users' });
});

test('MODULE:EXPORT is refused: every exported function is provided', (t) => {
  const error = t.throws(() => parseProvideSpec('users.mjs:get', cwd));
  t.is((error as { code?: string }).code, 'ERR_ALBANY_USAGE');
  t.regex(error!.message, /\[NAME=\]MODULE/);
});

test('startProvided registers NAME.export for each exported function (not the hooks), and stop() withdraws them', async (t) => {
  const file = fileURLToPath(new URL('fixtures/cli/users.mjs', import.meta.url));
  const provided = await startProvided([{ file, prefix: 'members' }], consoleLogger('silent'));
  t.deepEqual(provided.names, ['members.get']);
  t.false(registry.has('members.startup'));
  const get = registry.get('members.get')!;
  t.deepEqual(
    await get.call({ signal: new AbortController().signal } as never, 2),
    { id: 2, name: 'grace', by: process.pid },
    'startup() ran first',
  );
  await provided.stop();
  t.false(registry.has('members.get'));
});

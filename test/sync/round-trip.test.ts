import test from 'ava';
import { AlbanyError } from '../../src/errors.js';
import { runInReactor, runSync, syncify, withTransfer } from '../../src/sync/index.js';

const fns = new URL('../fixtures/sync/async-fns.js', import.meta.url);
const typed = new URL('../fixtures/sync/typed-fns.ts', import.meta.url);

test('syncify returns the async export’s value, structured-cloned', (t) => {
  const echo = syncify(fns, 'echo');
  const value = { a: [1, 2, { b: new Map([['k', 1n]]) }], when: new Date(0), bytes: new Uint8Array([1, 2, 3]) };
  t.deepEqual(echo(value), value);
  t.is(runSync<number>({ module: fns, export: 'add' }, 2, 3), 5);
});

test('modules are loaded once and cached in the reactor', (t) => {
  const count = syncify(fns, 'countLoads');
  const first = count() as number;
  t.is(count(), first + 1);
  t.is(runSync({ module: fns.href, export: 'countLoads' }), first + 2);
});

test('a remote error comes back with its class name, code, message, props and both stacks', (t) => {
  const fail = syncify(fns, 'fail');
  const err = t.throws(() => fail('email')) as Error & { code: string; field: string; cause: Error };
  t.is(err.name, 'ValidationError');
  t.is(err.constructor.name, 'ValidationError');
  t.true(err instanceof Error);
  t.is(err.code, 'E_VALIDATION');
  t.is(err.message, 'field email is wrong');
  t.is(err.field, 'email');
  t.regex(err.stack!, /round-trip\.test\.ts/, 'caller frames');
  t.regex(err.stack!, /--- in the reactor thread ---[\s\S]*async-fns\.js/, 'remote frames');
  t.is(err.cause.name, 'ValidationError');
  t.regex(err.cause.stack!, /async-fns\.js/);
  t.notRegex(err.cause.stack!, /round-trip\.test\.ts/);
});

test('an AlbanyError thrown remotely is rebuilt as an AlbanyError with its details', (t) => {
  const err = t.throws(() => runSync({ module: typed, export: 'albanyFailure' })) as AlbanyError;
  t.true(AlbanyError.is(err));
  t.true(err instanceof AlbanyError);
  t.is(err.code, 'ERR_ALBANY_HANDLER');
  t.deepEqual(err.details, { step: 3 });
});

test('an argument that cannot be cloned fails with ERR_ALBANY_DATA_CLONE naming its path', (t) => {
  const echo = syncify(fns, 'echo');
  const err = t.throws(() => echo({ ok: 1, list: [0, { cb: () => 1 }] })) as AlbanyError;
  t.is(err.code, 'ERR_ALBANY_DATA_CLONE');
  t.regex(err.message, /args\[0\]\.list\[1\]\.cb/);
  t.is(err.details?.['path'], 'args[0].list[1].cb');
});

test('a result that cannot be cloned fails with ERR_ALBANY_DATA_CLONE naming its path', (t) => {
  const err = t.throws(() => syncify(fns, 'returnsFunction')()) as AlbanyError;
  t.is(err.code, 'ERR_ALBANY_DATA_CLONE');
  t.regex(err.message, /result\.cb/);
});

test('transferList moves argument buffers instead of copying them', (t) => {
  const echo = syncify<(b: Uint8Array) => Promise<Uint8Array>>(fns, 'echo', {
    transferList: (b) => [b.buffer as ArrayBuffer],
  });
  const bytes = new Uint8Array([7, 8, 9]);
  t.deepEqual([...echo(bytes)], [7, 8, 9]);
  t.is(bytes.byteLength, 0, 'the caller’s buffer was detached by the transfer');
});

test('withTransfer wraps a result; the caller receives the plain value', (t) => {
  t.is(typeof withTransfer, 'function');
  const r = runSync<Uint8Array>(
    { module: new URL('../fixtures/sync/transfer-fns.js', import.meta.url), export: 'bytes' },
    4,
  );
  t.deepEqual([...r], [0, 1, 2, 3]);
});

test('an unknown export and a relative module path are refused with a clear message', (t) => {
  const missing = t.throws(() => runSync({ module: fns, export: 'nope' })) as AlbanyError;
  t.is(missing.code, 'ERR_ALBANY_UNKNOWN_SERVICE');
  t.regex(missing.message, /no function export named "nope"/);
  const relative = t.throws(() => syncify('./x.js', 'f')) as AlbanyError;
  t.is(relative.code, 'ERR_ALBANY_UNKNOWN_SERVICE');
  const missingModule = t.throws(() =>
    runSync({ module: new URL('../fixtures/sync/absent.js', import.meta.url), export: 'f' }),
  ) as AlbanyError;
  t.is(missingModule.code, 'ERR_ALBANY_APP_LOAD');
});

test('a TypeScript module runs as a target', (t) => {
  t.is(syncify(typed, 'greet')({ name: 'Ada' }), 'hello Ada');
});

test('runInReactor can be waited on and awaited; originalError holds a failure', async (t) => {
  const r = runInReactor<number>(fns, 'add', [20, 22]);
  t.is(r.wait(10_000), 42);
  t.is(await r, 42);
  t.is(r.originalError, undefined);
  const bad = runInReactor(fns, 'fail', ['name']);
  const err = await t.throwsAsync(Promise.resolve(bad));
  t.is(err?.name, 'ValidationError');
  t.is(bad.originalError, err);
  t.regex(err!.stack!, /round-trip\.test\.ts/, 'caller frames captured when the call started');
});

// Proves the package's entry points publish the documented API and none of the plumbing.
import test from 'ava';
import * as albany from '../src/index.js';
import * as legacyEntry from '../legacy-adapter/index.js';
import * as poolEntry from '../src/pool/index.js';
import * as syncEntry from '../src/sync/index.js';

const PLUMBING = [
  'setServiceBridge',
  'handleServiceCall',
  'isServiceMessage',
  'callService',
  'toPiscinaOptions',
  'TaskTracker',
  'resolvePoolConfig',
  'parsePoolFlags',
  'poolFlagSpecs',
  'completeConfig',
  'effectiveMaxQueue',
  'formatConfig',
  'HttpCycle',
  'buildHttpScope',
  'buildWebSocketScope',
  'resolveServerOptions',
  'checkHeaders',
  'isValidHost',
  'albanyError',
  'buildEnviron',
  'buildLegacyRequest',
  'headersObject',
  'parseFastCGIAddress',
];

test('albany exports what the README uses', (t) => {
  for (const name of [
    'serve',
    'mount',
    'fromNodeHandler',
    'fromFetch',
    'createPool',
    'offload',
    'provide',
    'runSync',
    'syncify',
    'runInReactor',
    'AlbanyError',
    'ErrorCodes',
    'hasCode',
  ]) {
    t.not((albany as Record<string, unknown>)[name], undefined, name);
  }
  t.is(typeof legacyEntry.legacy, 'function');
});

test('no entry point publishes plumbing', (t) => {
  for (const [entry, names] of [
    ['albany', albany],
    ['albany/legacy', legacyEntry],
    ['albany/pool', poolEntry],
    ['albany/sync', syncEntry],
  ] as const) {
    for (const name of PLUMBING) t.false(name in names, `${entry} exports ${name}`);
  }
});

test('albany re-exports every value of albany/pool and albany/sync', (t) => {
  for (const name of [...Object.keys(poolEntry), ...Object.keys(syncEntry)]) t.true(name in albany, name);
});

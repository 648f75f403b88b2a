import test from 'ava';
import { AlbanyError, ErrorCodes, hasCode } from '../src/errors.js';

test('AlbanyError carries its code and is recognised by the brand check', (t) => {
  const err = new AlbanyError(ErrorCodes.ERR_ALBANY_TIMEOUT, 'took too long', { details: { ms: 5 } });
  t.true(err instanceof Error);
  t.is(err.code, 'ERR_ALBANY_TIMEOUT');
  t.is(err.name, 'AlbanyError');
  t.deepEqual(err.details, { ms: 5 });
  t.true(AlbanyError.is(err));
  t.false(AlbanyError.is(new Error('plain')));
  t.true(hasCode(err, 'ERR_ALBANY_TIMEOUT'));
  t.false(hasCode(err, 'ERR_ALBANY_DEADLOCK'));
});

test('every code maps to itself so codes can be compared as strings', (t) => {
  for (const [key, value] of Object.entries(ErrorCodes)) t.is(key, value);
});

import test from 'ava';
import { resolveServerOptions, SERVER_DEFAULTS } from '../../src/server/options.js';
import { createServer } from '../../src/server/http.js';

test('defaults fill every option', (t) => {
  const r = resolveServerOptions({});
  t.like(r, { ...SERVER_DEFAULTS, forwardedAllowIps: SERVER_DEFAULTS.forwardedAllowIps });
  t.is(r.uds, undefined);
  t.is(typeof r.logger.error, 'function');
});

test('every bad option is named in one ERR_ALBANY_INVALID_CONFIG', (t) => {
  const err = t.throws(
    () => resolveServerOptions({ port: -1, maxBodySize: 1.5, lifespan: 'sometimes' as never, rootPath: 'api/' }),
    { code: 'ERR_ALBANY_INVALID_CONFIG' },
  );
  for (const name of ['options.port', 'options.maxBodySize', 'options.lifespan', 'options.rootPath'])
    t.true(err!.message.includes(name), name);
});

test('a short requestTimeoutMs alone shortens the default head timeout, so node:http accepts it', (t) => {
  const r = resolveServerOptions({ requestTimeoutMs: 1000 });
  t.is(r.headersTimeoutMs, 1000);
  t.notThrows(() => createServer(async () => {}, { requestTimeoutMs: 1000 }).server.close());
});

test('an explicit headersTimeoutMs above requestTimeoutMs is refused by name', (t) => {
  const err = t.throws(() => resolveServerOptions({ headersTimeoutMs: 5000, requestTimeoutMs: 1000 }), {
    code: 'ERR_ALBANY_INVALID_CONFIG',
  });
  t.regex(err!.message, /options\.headersTimeoutMs \(5000\) must not exceed options\.requestTimeoutMs \(1000\)/);
});

test('requestTimeoutMs 0 (no limit) leaves the head timeout alone', (t) => {
  t.is(resolveServerOptions({ requestTimeoutMs: 0 }).headersTimeoutMs, SERVER_DEFAULTS.headersTimeoutMs);
});

// `albany serve --ssl-keyfile --ssl-certfile`: the real CLI serving HTTPS, HTTP/2 by ALPN (curl
// --http2) and HTTP/1.1 (https.get) on one port, and the flags' usage errors.
import test from 'ava';
import { execFile } from 'node:child_process';
import https from 'node:https';
import { albany, fixture, lines, listening } from './helpers.js';
import { testCert } from '../helpers/tls.js';

const cert = testCert();

const curl = (args: string[]) =>
  new Promise<string>((resolve, reject) =>
    execFile('curl', args, (error, stdout) => (error ? reject(error) : resolve(stdout))),
  );

test('--ssl-keyfile/--ssl-certfile serve HTTPS: HTTP/2 to curl --http2, HTTP/1.1 to https.get, graceful stop', async (t) => {
  const run = albany([
    'serve',
    fixture('hello.ts'),
    '--port',
    '0',
    '--ssl-keyfile',
    cert.keyfile,
    '--ssl-certfile',
    cert.certfile,
    '--ssl-ca',
    cert.certfile,
  ]);
  t.teardown(() => run.child.kill('SIGKILL'));
  const url = await listening(run);
  t.regex(url, /^https:\/\/127\.0\.0\.1:\d+$/);
  t.is(await curl(['-sk', '--http2', '-w', ' %{http_version}', `${url}/h2`]), 'hello from /h2 2');
  const h1 = await new Promise<string>((resolve, reject) => {
    https
      .get(`${url}/h1`, { ca: cert.cert }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(`${res.httpVersion} ${body}`));
      })
      .on('error', reject);
  });
  t.is(h1, '1.1 hello from /h1');
  run.child.kill('SIGTERM');
  t.is((await run.exit).code, 0);
});

test('TLS flag mistakes exit 2 with one line naming the flag', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['--ssl-keyfile', cert.keyfile], /give both --ssl-keyfile and --ssl-certfile/],
    [['--ssl-ca', cert.certfile], /--ssl-ca needs --ssl-keyfile and --ssl-certfile/],
    [
      ['--ssl-keyfile', '/nonexistent/key.pem', '--ssl-certfile', cert.certfile],
      /--ssl-keyfile \/nonexistent\/key\.pem: cannot read it \(ENOENT\)/,
    ],
    [['--ssl-keyfile', cert.certfile, '--ssl-certfile', cert.certfile], /TLS key or certificate refused/],
    [
      ['--ssl-keyfile', cert.keyfile, '--ssl-certfile', cert.certfile, '--fastcgi', '127.0.0.1:0'],
      /--ssl-keyfile does not apply to --fastcgi/,
    ],
  ];
  for (const [flags, message] of cases) {
    const run = albany(['serve', fixture('hello.ts'), '--port', '0', ...flags]);
    const { code } = await run.exit;
    t.is(code, 2, flags.join(' '));
    const err = lines(run.stderr());
    t.is(err.length, 1, run.stderr());
    t.regex(err[0]!, message);
  }
});

test('--workers 2 with TLS: both workers serve HTTP/2 on the shared port', async (t) => {
  const run = albany(
    [
      'serve',
      fixture('whoami.mjs'),
      '--port',
      '0',
      '--workers',
      '2',
      '--ssl-keyfile',
      cert.keyfile,
      '--ssl-certfile',
      cert.certfile,
    ],
    { timeoutMs: 90_000 },
  );
  t.teardown(() => run.child.kill('SIGKILL'));
  const url = await listening(run, 2);
  const workers = new Set([...run.stdout().matchAll(/\(worker (\d+)\)/g)].map((m) => m[1]!));
  t.is(workers.size, 2);
  const seen = new Set<string>();
  for (let i = 0; i < 4; i++) {
    // Each curl is a new connection; the primary hands them round-robin to the workers.
    const out = await curl(['-sk', '--http2', '-w', ' %{http_version}', `${url}/`]);
    const [pid, , scheme, , version] = out.split(' ');
    t.true(workers.has(pid!), out);
    seen.add(pid!);
    t.is(scheme, 'https');
    t.is(version, '2');
  }
  t.is(seen.size, 2, 'round-robin reached both workers');
  run.child.kill('SIGTERM');
  t.is((await run.exit).code, 0);
});

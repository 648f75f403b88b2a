// `albany serve --reload`: the real CLI, the app file edited on disk, the next request answered by
// the new code on the same port; a broken edit keeps the old process serving.
import test from 'ava';
import http from 'node:http';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { albany, fixture, lines, listening } from './helpers.js';
import { delay } from '../helpers/server.js';

const appSource = (body: string) => `export default async (scope, receive, send) => {
  if (scope.type !== 'http') return;
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
  await send({ type: 'http.response.body', body: Buffer.from(${JSON.stringify(body)} + ' ' + process.pid) });
};
`;

/** One request on a new connection (so round-robin would show every worker). */
function fresh(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

/** Polls `url` until the body starts with `prefix`; returns the body (or the last one seen at the deadline). */
async function until(url: string, prefix: string, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    last = await fetch(url).then(
      (r) => r.text(),
      (e: Error) => `error ${e.message}`,
    );
    if (last.startsWith(prefix)) return last;
    await delay(100);
  }
  return last;
}

test('--reload: an edit to the app file is served by a new process on the same port; node_modules is ignored; a broken edit keeps the old one', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'albany-reload-'));
  const file = join(dir, 'app.mjs');
  writeFileSync(file, appSource('v1'));
  mkdirSync(join(dir, 'node_modules'));
  const run = albany(['serve', file, '--port', '0', '--reload', '--graceful-timeout', '2000'], { timeoutMs: 90_000 });
  t.teardown(() => run.child.kill('SIGKILL'));
  const url = await listening(run);
  const first = await until(url, 'v1');
  t.regex(first, /^v1 \d+$/);

  // A change under node_modules is not a reason to restart.
  writeFileSync(join(dir, 'node_modules', 'dep.js'), 'export const x = 1;\n');
  await delay(800);
  t.false(run.stderr().includes('reload: '.concat(join(dir, 'node_modules'))), run.stderr());
  t.is(await fetch(url).then((r) => r.text()), first, 'still the first process');

  writeFileSync(file, appSource('v2'));
  const second = await until(url, 'v2');
  t.regex(second, /^v2 \d+$/, run.stderr());
  t.not(second.split(' ')[1], first.split(' ')[1], 'a new process answers');
  t.regex(run.stderr(), /reload: .*app\.mjs changed, restarting/);

  // A syntax error: the new process cannot start, the old one keeps answering.
  writeFileSync(file, 'export default async (scope, receive, send) => {{{\n');
  for (let i = 0; i < 200 && !run.stderr().includes('reload stopped'); i++) await delay(100);
  t.regex(run.stderr(), /reload stopped: a new worker failed to start/);
  t.is(await fetch(url).then((r) => r.text()), second);

  writeFileSync(file, appSource('v3'));
  t.regex(await until(url, 'v3'), /^v3 \d+$/, run.stderr());
  // One process serves after all that: the worker that failed to start was not respawned beside it.
  await delay(3000);
  const pids = new Set<string>();
  for (let i = 0; i < 8; i++) pids.add(await fresh(url));
  t.is(pids.size, 1, [...pids].join(', '));

  run.child.kill('SIGTERM');
  t.is((await run.exit).code, 0);
});

test('--reload refuses --workers, and --reload-dir needs --reload and an existing folder', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['--reload', '--workers', '2'], /--reload cannot be combined with --workers/],
    [['--reload-dir', 'test'], /--reload-dir needs --reload/],
    [['--reload', '--reload-dir', 'no/such/dir'], /--reload-dir no\/such\/dir: not a folder/],
  ];
  for (const [flags, message] of cases) {
    const run = albany(['serve', fixture('hello.ts'), '--port', '0', ...flags]);
    t.is((await run.exit).code, 2, flags.join(' '));
    const err = lines(run.stderr());
    t.is(err.length, 1, run.stderr());
    t.regex(err[0]!, message);
  }
});

// The `albany` command, spawned for real through bin/albany.js (compiled dist/ or sources via tsx).
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { FLAGS } from '../src/cli-flags.js';

const root = fileURLToPath(new URL('..', import.meta.url));
// ALBANY_TEST_BIN lets a run point at another build's shim, e.g. to check a fresh dist/ beside the sources.
const bin = process.env.ALBANY_TEST_BIN ?? fileURLToPath(new URL('../bin/albany.js', import.meta.url));
const fixture = (name: string) => `test/fixtures/cli/${name}`;

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function albany(args: string[], timeoutMs = 15_000): Run {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: root,
    env: { ...process.env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  // A hung CLI must not hang the suite.
  const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal });
    });
  });
  return { child, stdout: () => out, stderr: () => err, exit };
}

/** Waits for the "listening on URL" line; fails with whatever the CLI said if it exits first. */
async function listening(run: Run): Promise<string> {
  for (;;) {
    const match = /albany: listening on (http:\/\/\S+)/.exec(run.stdout());
    if (match) return match[1]!;
    const exited = await Promise.race([
      run.exit.then(() => true),
      new Promise<false>((r) => setTimeout(() => r(false), 25)),
    ]);
    if (exited) throw new Error(`albany exited before listening:\n${run.stderr()}`);
  }
}

const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');

test.serial('--help lists every flag in the flag table and exits 0', async (t) => {
  const run = albany(['--help']);
  const { code } = await run.exit;
  t.is(code, 0);
  for (const flag of FLAGS) t.true(run.stdout().includes(`--${flag.name}`), `--help does not mention --${flag.name}`);
  t.regex(run.stdout(), /albany serve MODULE\[:EXPORT\]/);
  t.is(run.stderr(), '');
});

test.serial('an unknown flag exits 2 with one line on stderr naming it', async (t) => {
  const run = albany(['serve', fixture('hello.ts'), '--nope']);
  const { code } = await run.exit;
  t.is(code, 2);
  t.is(lines(run.stderr()).length, 1, run.stderr());
  t.regex(run.stderr(), /^albany: .*--nope/);
  t.is(run.stdout(), '');
});

test.serial('a bad flag value exits 2 with one line naming the flag', async (t) => {
  const run = albany(['serve', fixture('hello.ts'), '--port', 'eighty']);
  t.is((await run.exit).code, 2);
  t.is(lines(run.stderr()).length, 1, run.stderr());
  t.regex(run.stderr(), /--port must be a whole number/);
});

test.serial('a missing module exits 2 with one line naming it', async (t) => {
  const run = albany(['serve', fixture('no-such-app.js'), '--port', '0']);
  t.is((await run.exit).code, 2);
  t.is(lines(run.stderr()).length, 1, run.stderr());
  t.regex(run.stderr(), /module not found: .*no-such-app\.js/);
});

test.serial('a missing export exits 2 with one line naming it and what the module does export', async (t) => {
  const run = albany(['serve', `${fixture('http-only.js')}:nothere`, '--port', '0']);
  t.is((await run.exit).code, 2);
  t.is(lines(run.stderr()).length, 1, run.stderr());
  t.regex(run.stderr(), /no export "nothere" \(it exports: default, named\)/);
});

test.serial(
  'serve a TypeScript module on --port 0: prints its URL, answers a fetch, and exits 0 on SIGTERM',
  async (t) => {
    const run = albany(['serve', fixture('hello.ts'), '--host', '127.0.0.1', '--port', '0', '--lifespan', 'on']);
    t.teardown(() => run.child.kill('SIGKILL'));
    const url = await listening(run);
    t.regex(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${url}/there`);
    t.is(await res.text(), 'hello from /there');
    run.child.kill('SIGTERM');
    const { code } = await run.exit;
    t.is(code, 0, run.stderr());
  },
);

test.serial(
  '--workers 2 serves from two processes on one port, and SIGTERM to the primary stops them all with exit 0',
  async (t) => {
    const run = albany(
      ['serve', fixture('pid.js'), '--host', '127.0.0.1', '--port', '0', '--workers', '2', '--lifespan', 'off'],
      30_000,
    );
    t.teardown(() => run.child.kill('SIGKILL'));
    const url = await listening(run);
    // Each worker prints its own line; both listen on the one port the primary holds.
    for (;;) {
      if ((run.stdout().match(/albany: listening on /g) ?? []).length >= 2) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    t.deepEqual(new Set([...run.stdout().matchAll(/listening on (\S+)/g)].map((m) => m[1])), new Set([url]));
    const pids = new Set<string>();
    // A fresh connection per request (no keep-alive), so the primary hands each to the next worker.
    const getPid = () =>
      new Promise<string>((resolve, reject) => {
        http
          .get(url, { agent: false }, (res) => {
            let body = '';
            res
              .setEncoding('utf8')
              .on('data', (c: string) => (body += c))
              .on('end', () => resolve(body));
          })
          .on('error', reject);
      });
    for (let i = 0; i < 12; i++) pids.add(await getPid());
    t.is(pids.size, 2, run.stderr());
    t.false(pids.has(String(run.child.pid)));
    run.child.kill('SIGTERM');
    const { code } = await run.exit;
    t.is(code, 0, run.stderr());
    for (const pid of pids) t.throws(() => process.kill(Number(pid), 0), undefined, `worker ${pid} still running`);
  },
);

test.serial('serve a JavaScript module without lifespan support under --lifespan auto', async (t) => {
  const run = albany(['serve', fixture('http-only.js'), '--port', '0', '--lifespan', 'auto', '--log-level', 'error']);
  t.teardown(() => run.child.kill('SIGKILL'));
  const url = await listening(run);
  t.is(await (await fetch(url)).text(), 'js app');
  run.child.kill('SIGTERM');
  t.is((await run.exit).code, 0, run.stderr());
  t.is(run.stderr(), '', '--log-level error should keep info lines quiet');
});

test.serial("lifespan startup failure exits non-zero with the app's message", async (t) => {
  const run = albany(['serve', fixture('lifespan-fail.js'), '--port', '0']);
  const { code } = await run.exit;
  t.not(code, 0);
  t.regex(run.stderr(), /cannot reach the database at db:5432/);
  t.false(run.stdout().includes('listening'));
});

test.serial('--lifespan on with an app that does not support lifespan exits non-zero', async (t) => {
  const run = albany(['serve', fixture('http-only.js'), '--port', '0', '--lifespan', 'on']);
  const { code } = await run.exit;
  t.not(code, 0);
  t.regex(run.stderr(), /lifespan startup failed: http-only app got a lifespan scope/);
});

test.serial('serve a named export', async (t) => {
  const run = albany(['serve', `${fixture('http-only.js')}:named`, '--port', '0', '--lifespan', 'off']);
  t.teardown(() => run.child.kill('SIGKILL'));
  const url = await listening(run);
  t.is(await (await fetch(url)).text(), 'named export');
  run.child.kill('SIGTERM');
  t.is((await run.exit).code, 0, run.stderr());
});

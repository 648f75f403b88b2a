// `albany serve --provide MODULE`: a main-thread module's exported functions become runSync services
// for blocking handlers, with startup()/shutdown() around the server's life.
import test from 'ava';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import { albany, fixture, lines, listening } from './helpers.js';

function logFile(): string {
  return join(mkdtempSync(join(tmpdir(), 'albany-provide-')), 'users.log');
}

const readLog = (file: string) => (existsSync(file) ? lines(readFileSync(file, 'utf8')) : []);

test.serial(
  "--legacy + --provide: the handler's runSync('users.get', 1) gets the provided answer over HTTP; startup and shutdown run around it",
  async (t) => {
    const log = logFile();
    const run = albany(
      [
        'serve',
        '--legacy',
        fixture('legacy-users.ts'),
        '--provide',
        fixture('users.mjs'),
        '--host',
        '127.0.0.1',
        '--port',
        '0',
      ],
      { env: { USERS_LOG: log } },
    );
    t.teardown(() => run.child.kill('SIGKILL'));
    const url = await listening(run);
    t.deepEqual(readLog(log), [`startup ${run.child.pid}`], 'startup() ran before the server listened');
    const res = await fetch(`${url}/1`);
    t.is(res.status, 200, run.stderr());
    // `by` is the pid the service ran in: the CLI's own main thread, not a separate process.
    t.deepEqual(await res.json(), { user: { id: 1, name: 'ada', by: run.child.pid }, handlerThread: 'worker' });
    t.deepEqual(await (await fetch(`${url}/2`)).json(), {
      user: { id: 2, name: 'grace', by: run.child.pid },
      handlerThread: 'worker',
    });
    run.child.kill('SIGTERM');
    t.is((await run.exit).code, 0, run.stderr());
    t.deepEqual(readLog(log), [`startup ${run.child.pid}`, `shutdown ${run.child.pid}`]);
  },
);

test.serial(
  "--provide NAME=MODULE renames the services: the handler's users.get is then unknown, with the names there are",
  async (t) => {
    const run = albany([
      'serve',
      '--legacy',
      fixture('legacy-users.ts'),
      '--provide',
      `people=${fixture('users.mjs')}`,
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--log-level',
      'silent',
    ]);
    t.teardown(() => run.child.kill('SIGKILL'));
    const url = await listening(run);
    const res = await fetch(`${url}/1`);
    t.is(res.status, 500);
    run.child.kill('SIGTERM');
    await run.exit;
    t.regex(run.stderr(), /users\.get.*people\.get/s);
  },
);

test.serial(
  '--provide with a gateway app target and --workers 2: each worker process provides its own and runs its own startup/shutdown',
  async (t) => {
    const log = logFile();
    const run = albany(
      [
        'serve',
        fixture('legacy-mount-users.mjs'),
        '--provide',
        fixture('users.mjs'),
        '--host',
        '127.0.0.1',
        '--port',
        '0',
        '--workers',
        '2',
        '--lifespan',
        'off',
      ],
      { env: { USERS_LOG: log } },
    );
    t.teardown(() => run.child.kill('SIGKILL'));
    const url = await listening(run, 2);
    const servedBy = new Set<number>();
    const get = () =>
      new Promise<string>((resolve, reject) => {
        http
          .get(`${url}/1`, { agent: false }, (res) => {
            let body = '';
            res
              .setEncoding('utf8')
              .on('data', (c: string) => (body += c))
              .on('end', () => resolve(body));
          })
          .on('error', reject);
      });
    for (let i = 0; i < 12 && servedBy.size < 2; i++) {
      const body = JSON.parse(await get()) as { user: { name: string; by: number } };
      t.is(body.user.name, 'ada');
      servedBy.add(body.user.by);
    }
    t.is(servedBy.size, 2, 'both worker processes answered from their own service');
    t.false(servedBy.has(run.child.pid!), 'the primary provides nothing');
    run.child.kill('SIGTERM');
    t.is((await run.exit).code, 0, run.stderr());
    const entries = readLog(log);
    const pids = (kind: string) =>
      entries
        .filter((l) => l.startsWith(kind))
        .map((l) => Number(l.split(' ')[1]))
        .sort();
    t.deepEqual(pids('startup'), [...servedBy].sort());
    t.deepEqual(pids('shutdown'), [...servedBy].sort());
  },
);

const failing: Array<[string, string[], number, RegExp]> = [
  [
    'a missing --provide module',
    ['--provide', fixture('no-such-services.mjs')],
    2,
    /^albany: --provide module not found: \S+no-such-services\.mjs$/,
  ],
  [
    'a --provide module with a syntax error',
    ['--provide', fixture('legacy-syntax.mjs')],
    2,
    /^albany: --provide module \S+legacy-syntax\.mjs:4 has a syntax error/,
  ],
  [
    'a --provide module that provides nothing',
    ['--provide', fixture('pid.js')],
    2,
    /^albany: --provide \S+pid\.js exports no functions to provide/,
  ],
  [
    'the same service name twice',
    ['--provide', fixture('users.mjs'), '--provide', `users=${fixture('users.mjs')}`],
    2,
    /the service "users\.get" is already provided by \S+users\.mjs; give this module another name with --provide NAME=MODULE/,
  ],
  [
    'a startup() that throws',
    ['--provide', fixture('failing-startup.mjs')],
    1,
    /^albany: --provide \S+failing-startup\.mjs: startup\(\) failed: the users database is down$/,
  ],
];

for (const [name, flags, exitCode, expected] of failing) {
  test.serial(`${name}: exit ${exitCode}, one line, nothing listens`, async (t) => {
    const run = albany(['serve', '--legacy', fixture('legacy-plain.mjs'), ...flags, '--port', '0']);
    t.is((await run.exit).code, exitCode, run.stderr());
    t.is(lines(run.stderr()).length, 1, run.stderr());
    t.regex(lines(run.stderr())[0]!, expected);
    t.false(run.stdout().includes('listening'));
  });
}

test.serial(
  'under --workers a missing --provide module stops the primary with one line (exit 2), no worker is forked',
  async (t) => {
    const run = albany([
      'serve',
      fixture('pid.js'),
      '--provide',
      fixture('no-such-services.mjs'),
      '--workers',
      '2',
      '--port',
      '0',
    ]);
    t.is((await run.exit).code, 2, run.stderr());
    t.is(lines(run.stderr()).length, 1, run.stderr());
    t.regex(lines(run.stderr())[0]!, /^albany: --provide module not found: \S+no-such-services\.mjs$/);
    t.false(run.stdout().includes('listening'));
  },
);

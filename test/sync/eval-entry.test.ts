// syncify and the legacy pool from a process whose main script is string input: `node -e`,
// `node --input-type=module -e` and the REPL. Their worker threads must not inherit `-e`/`-i`/
// `--input-type`, or the reactor's bootstrap parses as the wrong kind of input and every call times out.
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const syncIndex = new URL('../../src/sync/index.ts', import.meta.url).href;
const fns = new URL('../fixtures/sync/async-fns.js', import.meta.url).href;

interface Child {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
}

function node(args: string[], stdin: 'pipe' | 'ignore' = 'ignore'): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: root,
    env: { ...process.env, NODE_OPTIONS: '' },
    stdio: [stdin, 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const exit = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(killer);
      resolve(code);
    }),
  );
  return { child, output: () => out, exit };
}

async function waitFor(run: Child, pattern: RegExp): Promise<void> {
  while (!pattern.test(run.output())) {
    if (run.child.exitCode !== null) throw new Error(`exited before ${pattern}:\n${run.output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// A short timeout: without the fix the call hangs until it expires, so the test fails in seconds.
const call = `syncify(new URL(${JSON.stringify(fns)}), 'add', { timeoutMs: 8000 })(40, 2)`;

test('syncify from `node -e` (CommonJS string input)', async (t) => {
  const run = node([
    '-e',
    `import(${JSON.stringify(syncIndex)}).then(({ syncify }) => console.log('RESULT', ${call}))`,
  ]);
  t.is(await run.exit, 0, run.output());
  t.regex(run.output(), /RESULT 42/);
});

test('syncify from `node --input-type=module -e`', async (t) => {
  const run = node([
    '--input-type=module',
    '-e',
    `import { syncify } from ${JSON.stringify(syncIndex)}; console.log('RESULT', ${call});`,
  ]);
  t.is(await run.exit, 0, run.output());
  t.regex(run.output(), /RESULT 42/);
});

test('syncify from `node -p`', async (t) => {
  const run = node([
    '-p',
    `import(${JSON.stringify(syncIndex)}).then(({ syncify }) => console.log('RESULT', ${call})), 'printed'`,
  ]);
  t.is(await run.exit, 0, run.output());
  t.regex(run.output(), /^printed\nRESULT 42$/m);
});

test('syncify from the REPL (`node -i` fed on stdin)', async (t) => {
  const run = node(['-i'], 'pipe');
  t.teardown(() => run.child.kill('SIGKILL'));
  run.child.stdin!.write(
    `import(${JSON.stringify(syncIndex)}).then((m) => { globalThis.syncify = m.syncify; console.log('LOADED') })\n`,
  );
  await waitFor(run, /LOADED/);
  run.child.stdin!.write(`console.log('RESULT', ${call})\n`);
  await waitFor(run, /RESULT \d+|ERR_ALBANY\w*/);
  t.regex(run.output(), /RESULT 42/);
  run.child.stdin!.end('.exit\n');
  t.is(await run.exit, 0, run.output());
});

test('a legacy pool serves from `node --input-type=module -e` (piscina threads get a clean execArgv too)', async (t) => {
  const legacyIndex = new URL('../../legacy-adapter/index.ts', import.meta.url).href;
  const serverHttp = new URL('../../src/server/http.ts', import.meta.url).href;
  const handler = new URL('../fixtures/legacy/plain.ts', import.meta.url).href;
  const run = node([
    '--input-type=module',
    '-e',
    `
    import { legacy } from ${JSON.stringify(legacyIndex)};
    import { serve } from ${JSON.stringify(serverHttp)};
    const app = legacy(new URL(${JSON.stringify(handler)}));
    const server = await serve(app, { host: '127.0.0.1', port: 0, logLevel: 'error' });
    const res = await fetch(server.url + '/x?y=1', { method: 'POST', body: 'hi' });
    console.log('RESULT', res.status, await res.text());
    await server.close();
    await app.close();
  `,
  ]);
  t.is(await run.exit, 0, run.output());
  t.regex(run.output(), /RESULT 201 POST \/x\?y=1 hi/);
});

// The Express docs' hello-world app under the real CLI (a child `node --import tsx src/cli.ts
// serve`): in process (`serve app.mjs`) and in the legacy pool (`serve --legacy app.mjs`); with
// `export default app`, and unchanged (app.listen(3000), as .mjs and .cjs), where albany serves
// the app's own listen handler and nothing binds port 3000.
import test from 'ava';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const app = 'test/fixtures/interop/express-hello.mjs';

async function serveWith(
  args: string[],
  fn: (url: string) => Promise<void>,
): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli.ts', 'serve', ...args, '--host', '127.0.0.1', '--port', '0'],
    {
      cwd: root,
      env: { ...process.env, NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    let url: string | undefined;
    while (url === undefined) {
      url = /albany: listening on (http:\/\/\S+)/.exec(out)?.[1];
      if (url === undefined && child.exitCode !== null) throw new Error(`albany exited before listening:\n${err}`);
      if (url === undefined) await new Promise((r) => setTimeout(r, 25));
    }
    await fn(url);
  } finally {
    child.kill('SIGTERM');
  }
  const code = await exit;
  clearTimeout(killer);
  return { code, stderr: err, stdout: out };
}

async function checkHello(t: import('ava').ExecutionContext, url: string): Promise<void> {
  const res = await fetch(`${url}/`);
  t.is(res.status, 200);
  t.is(res.headers.get('x-powered-by'), 'Express');
  t.regex(res.headers.get('content-type')!, /^text\/html/);
  t.is(res.headers.get('content-length'), '12');
  t.is(await res.text(), 'Hello World!');
  const missing = await fetch(`${url}/nope`);
  t.is(missing.status, 404);
  t.regex(await missing.text(), /Cannot GET \/nope/);
}

test.serial('albany serve app.mjs runs the Express docs hello world', async (t) => {
  const { code, stderr } = await serveWith([app], (url) => checkHello(t, url));
  t.is(code, 0, stderr);
  t.notRegex(stderr, /error|failed/i);
});

test.serial('albany serve --legacy app.mjs runs the Express docs hello world in the pool', async (t) => {
  const { code, stderr } = await serveWith(['--legacy', app], (url) => checkHello(t, url));
  t.is(code, 0, stderr);
  t.notRegex(stderr, /error|failed/i);
});

/** Whether something accepts connections on 127.0.0.1:port (false on ECONNREFUSED). */
function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', (error: NodeJS.ErrnoException) =>
      error.code === 'ECONNREFUSED' ? resolve(false) : reject(error),
    );
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
  });
}

for (const fixture of [
  'test/fixtures/interop/express-docs-hello.mjs',
  'test/fixtures/interop/express-docs-hello.cjs',
]) {
  for (const legacy of [false, true]) {
    const title = `albany serve ${legacy ? '--legacy ' : ''}${fixture.slice(fixture.lastIndexOf('/') + 1)} serves the unchanged docs app's own app.listen(3000), binding nothing on 3000`;
    test.serial(title, async (t) => {
      // Another program on 3000 would make the check meaningless (and is none of albany's doing).
      const busyBefore = await portAnswers(3000);
      const { code, stderr, stdout } = await serveWith(legacy ? ['--legacy', fixture] : [fixture], async (url) => {
        await checkHello(t, url);
        if (busyBefore) t.log('port 3000 was in use before the test: its ECONNREFUSED check is skipped');
        else t.false(await portAnswers(3000), 'nothing may listen on 127.0.0.1:3000');
      });
      t.is(code, 0, stderr);
      t.notRegex(stderr, /error|failed|warning/i);
      t.regex(
        stderr,
        /info: serving the app's own app\.listen\(3000\) handler through albany on http:\/\/127\.0\.0\.1:\d+/,
      );
      // The app's listen callback ran (once in process; in each loading thread in the pool).
      t.regex(stdout, /Example app listening on port 3000/);
    });
  }
}

// Starts a real nginx for a test: temp prefix, loopback ports, killed in teardown. Missing nginx
// skips loudly on a developer machine and fails in CI, where .ci/run installs it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import type { App, HttpScope } from '../../src/gateway/types.js';
import { readBody } from '../../src/gateway/helpers.js';
import { serveFastCGI, type FastCGIServer } from '../../src/server/fastcgi.js';

const CANDIDATES = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx'];

/** The nginx binary, or undefined when none is installed. */
export function findNginx(): string | undefined {
  for (const c of CANDIDATES) if (existsSync(c)) return c;
  const which = spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' });
  return which.status === 0 && which.stdout.trim() ? which.stdout.trim() : undefined;
}

/**
 * True when nginx can be used. Without it: in CI (CI set) the test fails; elsewhere it logs a loud
 * skip message and passes, so a laptop without nginx can still run the rest.
 */
export function requireNginx(t: ExecutionContext): boolean {
  if (findNginx()) return true;
  if (process.env.CI) {
    t.fail('nginx is not installed but CI is set: .ci/run must `apt-get install -y nginx`');
    return false;
  }
  t.log('!!!!!!!! SKIPPED: nginx binary not found; install it (apt-get install -y nginx) to run this test !!!!!!!!');
  t.pass();
  return false;
}

/** A free loopback TCP port, found by binding a probe socket (nginx cannot listen on port 0). */
export async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Waits until something accepts TCP connections on `port`. */
export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A running nginx. */
export interface Nginx {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  port: number;
  /** The temp prefix (holds the config, temp dirs; a good place for Unix sockets). */
  dir: string;
  process: ChildProcess;
  /** What nginx wrote to stderr (its error log). */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts nginx with `http` block contents built by `httpBlock(port, dir)`; the server block must
 * `listen 127.0.0.1:<port>`. Stopped in `t.teardown` when a context is given.
 */
export async function startNginx(
  httpBlock: (port: number, dir: string) => string,
  t?: ExecutionContext,
): Promise<Nginx> {
  const bin = findNginx();
  if (!bin) throw new Error('nginx not installed');
  const dir = mkdtempSync(join(tmpdir(), 'albany-nginx-'));
  for (const sub of ['logs', 'tmp']) mkdirSync(join(dir, sub));
  const port = await freePort();
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const conf = `
${root ? 'user root;' : ''}
worker_processes 1;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  ${httpBlock(port, dir)}
}
`;
  const confPath = join(dir, 'nginx.conf');
  writeFileSync(confPath, conf);
  const run = await runFrontServer(
    {
      name: 'nginx',
      command: bin,
      args: [
        '-e',
        'stderr',
        '-p',
        dir,
        '-c',
        confPath,
        '-g',
        `daemon off; pid ${dir}/nginx.pid; error_log stderr warn;`,
      ],
      port,
      dir,
      describe: (stderr) => `${stderr}\n--- config ---\n${conf}`,
    },
    t,
  );
  return { url: `http://127.0.0.1:${port}`, port, dir, process: run.child, log: run.stderr, stop: run.stop };
}

/** A front server process (nginx, apache) started for a test: its stderr so far, and a stop that also removes its folder. */
export interface FrontServerRun {
  child: ChildProcess;
  stderr: () => string;
  stop: () => Promise<void>;
}

/**
 * Spawns a front server in the foreground, waits until it accepts on `port`, and stops it (SIGTERM,
 * SIGKILL after 3 s) and removes `dir` at the test's teardown. A server that exits at start fails
 * with `describe(stderr)` (its log and config), so a bad config says why.
 */
export async function runFrontServer(
  spec: {
    name: string;
    command: string;
    args: string[];
    env?: NodeJS.ProcessEnv;
    port: number;
    dir: string;
    describe: (stderr: string) => string;
  },
  t?: ExecutionContext,
): Promise<FrontServerRun> {
  let stderr = '';
  const child = spawn(spec.command, spec.args, { stdio: ['ignore', 'ignore', 'pipe'], env: spec.env ?? process.env });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      // SIGTERM stops at once (httpd's graceful stop is SIGWINCH, nginx's SIGQUIT): a teardown wants now.
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(spec.dir, { recursive: true, force: true });
  };
  t?.teardown(stop);
  try {
    await Promise.race([
      waitForPort(spec.port),
      exited.then(() => {
        throw new Error(`${spec.name} exited at start:\n${spec.describe(stderr)}`);
      }),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { child, stderr: () => stderr, stop };
}

const fastcgiExample = readFileSync(new URL('../../examples/nginx/fastcgi.conf', import.meta.url), 'utf8');
const quietLogger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * A real nginx with examples/nginx/fastcgi.conf (its port and socket folder moved into a temp dir)
 * in front of `app` on albany's FastCGI host; `connections()` counts the FastCGI connections nginx opened.
 */
export async function startExampleFastCGI(
  t: ExecutionContext,
  app: App,
): Promise<{ nginx: Nginx; fcgi: FastCGIServer; connections: () => number }> {
  const nginx = await startNginx(
    (port, dir) =>
      fastcgiExample.replace('listen 80;', `listen 127.0.0.1:${port};`).replaceAll('/run/albany/', `${dir}/`),
    t,
  );
  const fcgi = await serveFastCGI(app, {
    path: join(nginx.dir, 'app.sock'),
    lifespan: 'off',
    logger: quietLogger,
    gracefulTimeoutMs: 1000,
  });
  let connections = 0;
  fcgi.server.on('connection', () => connections++);
  t.teardown(() => fcgi.close());
  return { nginx, fcgi, connections: () => connections };
}

/**
 * The app both front-server suites (nginx, Apache) put behind the proxy: it answers with the request
 * as the app saw it (method, path, rootPath, query, client, scheme, x-test, body length) as JSON.
 */
export const echo: App = async (scope, receive, send) => {
  const s = scope as HttpScope;
  const body = await readBody(receive);
  if (body === null) return;
  const info = {
    method: s.method,
    path: s.path,
    rootPath: s.rootPath,
    query: s.queryString,
    client: s.client?.[0],
    scheme: s.scheme,
    test: s.headers.find(([n]) => n === 'x-test')?.[1],
    length: body.length,
  };
  await send({
    type: 'http.response.start',
    status: 200,
    headers: [
      ['content-type', 'application/json'],
      ['x-served-by', 'albany'],
    ],
  });
  await send({ type: 'http.response.body', body: Buffer.from(JSON.stringify(info)) });
};

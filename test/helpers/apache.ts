// Starts a real Apache httpd (Debian's apache2) for a test: temp folder, loopback port, its own
// minimal config with the example's lines in it, stopped in teardown. Missing apache2 skips loudly
// on a developer machine and fails in CI, where .ci/run installs it (as for nginx).
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { freePort, runFrontServer } from './nginx.js';

const CANDIDATES = ['/usr/sbin/apache2', '/usr/sbin/httpd', '/usr/local/apache2/bin/httpd'];
const MODULE_DIRS = ['/usr/lib/apache2/modules', '/usr/lib64/httpd/modules', '/usr/local/apache2/modules'];

/** The httpd binary, or undefined when none is installed. */
export function findApache(): string | undefined {
  for (const c of CANDIDATES) if (existsSync(c)) return c;
  const which = spawnSync('sh', ['-c', 'command -v apache2 || command -v httpd'], { encoding: 'utf8' });
  return which.status === 0 && which.stdout.trim() ? which.stdout.trim().split('\n')[0] : undefined;
}

/** True when Apache can be used; otherwise fails in CI (CI set) and skips with a loud log elsewhere. */
export function requireApache(t: ExecutionContext): boolean {
  if (findApache()) return true;
  if (process.env.CI) {
    t.fail('apache2 is not installed but CI is set: .ci/run must `apt-get install -y apache2`');
    return false;
  }
  t.log(
    '!!!!!!!! SKIPPED: apache2 binary not found; install it (apt-get install -y apache2) to run this test !!!!!!!!',
  );
  t.pass();
  return false;
}

/** A running Apache. */
export interface Apache {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  port: number;
  /** The temp folder (config, pid file, error log). */
  dir: string;
  /** What Apache wrote to its error log. */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts Apache in the foreground with the modules albany's examples use and `site(port)` as the
 * site config (it must `Listen`/serve on 127.0.0.1:port).
 */
export async function startApache(site: (port: number) => string, t?: ExecutionContext): Promise<Apache> {
  const bin = findApache();
  if (!bin) throw new Error('apache2 not installed');
  const modules = MODULE_DIRS.find((d) => existsSync(join(d, 'mod_proxy.so')));
  if (!modules) throw new Error('apache2 found but not its modules (mod_proxy.so)');
  const dir = mkdtempSync(join(tmpdir(), 'albany-apache-'));
  // As root Apache drops to `User`, which must be able to write its error log here.
  chmodSync(dir, 0o777);
  const port = await freePort();
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const load = (name: string, file: string) =>
    existsSync(join(modules, file)) ? `LoadModule ${name} ${join(modules, file)}` : '';
  const conf = `
ServerRoot ${dir}
ServerName 127.0.0.1
PidFile ${dir}/httpd.pid
Mutex file:${dir} default
ErrorLog ${dir}/error.log
LogLevel warn
${load('mpm_event_module', 'mod_mpm_event.so')}
${load('unixd_module', 'mod_unixd.so')}
${load('authz_core_module', 'mod_authz_core.so')}
${load('proxy_module', 'mod_proxy.so')}
${load('proxy_http_module', 'mod_proxy_http.so')}
${load('proxy_fcgi_module', 'mod_proxy_fcgi.so')}
${load('headers_module', 'mod_headers.so')}
${load('env_module', 'mod_env.so')}
${root ? 'User www-data\nGroup www-data' : ''}
StartServers 1
ServerLimit 1
ThreadsPerChild 8
MaxRequestWorkers 8
${site(port)}
`;
  const confPath = join(dir, 'httpd.conf');
  writeFileSync(confPath, conf);
  const logPath = join(dir, 'error.log');
  const readLog = () => {
    try {
      return spawnSync('cat', [logPath], { encoding: 'utf8' }).stdout;
    } catch {
      return '';
    }
  };
  const run = await runFrontServer(
    {
      name: 'apache',
      command: bin,
      args: ['-f', confPath, '-D', 'FOREGROUND'],
      env: {
        ...process.env,
        APACHE_RUN_DIR: dir,
        APACHE_LOCK_DIR: dir,
        APACHE_PID_FILE: `${dir}/httpd.pid`,
        APACHE_LOG_DIR: dir,
      },
      port,
      dir,
      describe: (stderr) => `${stderr}${readLog()}\n--- config ---\n${conf}`,
    },
    t,
  );
  return { url: `http://127.0.0.1:${port}`, port, dir, log: () => run.stderr() + readLog(), stop: run.stop };
}

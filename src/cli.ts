// `albany` command line: turns flags into one config object and hands it to run.ts; nothing else.
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { AlbanyError, ErrorCodes } from './errors.js';
import { FLAGS, helpText } from './cli-flags.js';
import { splitModuleSpec } from './load-app.js';
import type { CliConfig } from './cli-config.js';
import type { ServerOptions, LifespanMode, LogLevel } from './server/options.js';
import type { TlsFiles } from './server/tls.js';

function usage(message: string): never {
  throw new AlbanyError(ErrorCodes.ERR_ALBANY_USAGE, message);
}

function intFlag(values: Record<string, unknown>, name: string, min = 0): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isInteger(n) || n < min) {
    usage(`--${name} must be a whole number${min > 0 ? ` of at least ${min}` : ''}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

function oneOf<T extends string>(values: Record<string, unknown>, name: string, allowed: readonly T[]): T | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  if (!allowed.includes(raw as T)) usage(`--${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(raw)}`);
  return raw as T;
}

/**
 * Parses argv (without node and script) into a {@link CliConfig}.
 * @throws AlbanyError `ERR_ALBANY_USAGE` with a one-line message for any bad flag.
 */
export function parseCli(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): CliConfig {
  const options = Object.fromEntries(
    FLAGS.map((f) => [
      f.name,
      { type: f.type, ...(f.short ? { short: f.short } : {}), ...(f.multiple ? { multiple: true } : {}) },
    ]),
  );
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options: options as never, allowPositionals: true, strict: true });
  } catch (error) {
    const message = (error as Error).message.split('\n')[0]!.replace(/^Unknown option '(.+?)'.*$/, 'unknown flag $1');
    return usage(`${message} (see albany --help)`);
  }
  const values = parsed.values as Record<string, unknown>;
  const [command, ...rest] = parsed.positionals;

  const base = {
    factory: false,
    appDir: cwd,
    envFile: undefined,
    target: undefined,
    legacy: undefined,
    legacyStyle: undefined,
    provide: [] as string[],
    interface: 'auto' as const,
    server: {},
    poolFlags: {},
    configPath: undefined,
    workers: 1,
    metricsPort: undefined,
    maxRequests: undefined,
    maxRequestsJitter: 0,
    fastcgi: undefined,
    tls: undefined,
    reloadDirs: undefined,
    print: false,
    suggest: undefined,
    suggestWindowS: 0,
    adviceIntervalS: 60,
    cwd,
    env,
  };
  if (values.help) return { ...base, command: 'help' };
  if (values.version) return { ...base, command: 'version' };
  if (command === undefined) usage('missing command: use "albany serve MODULE[:EXPORT]" (see albany --help)');
  if (command !== 'serve' && command !== 'config')
    usage(`unknown command ${JSON.stringify(command)}: expected serve or config (see albany --help)`);
  if (rest.length > 1) usage(`too many arguments: ${rest.join(' ')}`);

  const poolFlags = Object.fromEntries(Object.entries(values).filter(([k]) => k.startsWith('pool-')));
  const envPort = env.PORT !== undefined && env.PORT !== '' ? intFlag({ PORT: env.PORT }, 'PORT') : undefined;
  if (values['access-log'] === true && values['no-access-log'] === true)
    usage('give either --access-log or --no-access-log, not both');
  const logLevel = oneOf<LogLevel>(values, 'log-level', ['debug', 'info', 'warn', 'error', 'silent']);
  // On by default, like uvicorn's, and quiet at the levels that ask for warnings only.
  const accessLog =
    values['access-log'] === true ||
    (values['no-access-log'] !== true && (logLevel === undefined || logLevel === 'debug' || logLevel === 'info'));
  const server: ServerOptions = {
    host: values.host as string | undefined,
    port: intFlag(values, 'port') ?? envPort,
    uds: values.uds as string | undefined,
    rootPath: values['root-path'] as string | undefined,
    proxyHeaders: values['proxy-headers'] === true ? true : undefined,
    forwardedAllowIps:
      typeof values['forwarded-allow-ips'] === 'string'
        ? (values['forwarded-allow-ips'] as string)
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : undefined,
    lifespan: oneOf<LifespanMode>(values, 'lifespan', ['auto', 'on', 'off']),
    logLevel,
    accessLog,
    logFormat: oneOf(values, 'log-format', ['text', 'json']),
    limitConcurrency: intFlag(values, 'limit-concurrency', 1),
    maxBodySize: intFlag(values, 'max-body-size'),
    maxHeaderSize: intFlag(values, 'max-header-size', 1),
    headersTimeoutMs: intFlag(values, 'headers-timeout'),
    requestTimeoutMs: intFlag(values, 'request-timeout'),
    keepAliveTimeoutMs: intFlag(values, 'keep-alive-timeout'),
    gracefulTimeoutMs: intFlag(values, 'graceful-timeout'),
    blockThresholdMs: intFlag(values, 'block-threshold'),
  };
  if (server.port !== undefined && server.port > 65535) usage(`--port must be at most 65535, got ${server.port}`);
  if (values.suggest !== undefined && command !== 'config') {
    usage('--suggest belongs to albany config: albany config --suggest PORT|URL');
  }
  if (values['suggest-window'] !== undefined && values.suggest === undefined) usage('--suggest-window needs --suggest');
  const adviceEnv = env.ALBANY_ADVICE_INTERVAL;
  const envAdvice =
    adviceEnv !== undefined && adviceEnv !== ''
      ? intFlag({ ALBANY_ADVICE_INTERVAL: adviceEnv }, 'ALBANY_ADVICE_INTERVAL')
      : undefined;
  const config: CliConfig = {
    ...base,
    command,
    target: rest[0],
    legacy: values.legacy as string | undefined,
    legacyStyle: oneOf(values, 'legacy-style', ['wsgi', 'plain', 'node']),
    provide: (values.provide as string[] | undefined) ?? [],
    interface: oneOf(values, 'interface', ['auto', 'gateway', 'node', 'fetch']) ?? 'auto',
    server,
    poolFlags,
    configPath: values.config as string | undefined,
    workers: intFlag(values, 'workers', 1) ?? 1,
    metricsPort: intFlag(values, 'metrics'),
    maxRequests: intFlag(values, 'max-requests', 1),
    maxRequestsJitter: intFlag(values, 'max-requests-jitter') ?? 0,
    fastcgi: values.fastcgi as string | undefined,
    print: values.print === true,
    suggest: values.suggest as string | undefined,
    suggestWindowS: intFlag(values, 'suggest-window') ?? 0,
    adviceIntervalS: intFlag(values, 'advice-interval') ?? envAdvice ?? 60,
    factory: values.factory === true,
    appDir: typeof values['app-dir'] === 'string' ? resolve(cwd, values['app-dir'] as string) : cwd,
    envFile: typeof values['env-file'] === 'string' ? resolve(cwd, values['env-file'] as string) : undefined,
  };
  config.tls = tlsFlags(values);
  config.reloadDirs = reloadFlags(values, config, cwd);
  if (config.tls !== undefined && config.fastcgi !== undefined)
    usage('--ssl-keyfile does not apply to --fastcgi: the web server in front terminates TLS');
  if (config.appDir !== cwd && !statSync(config.appDir, { throwIfNoEntry: false })?.isDirectory())
    usage(`--app-dir ${JSON.stringify(values['app-dir'])} is not a directory`);
  if (config.factory && config.legacy !== undefined)
    usage('--factory applies to a serve target, not to --legacy handlers');
  if (config.maxRequests !== undefined && values.workers === undefined) {
    // Recycling means a fresh process takes over the socket; one process alone would drop requests.
    usage(
      '--max-requests needs --workers N (also --workers 1): a worker is replaced by a fresh one while the ' +
        'others, or its successor, keep serving',
    );
  }
  if (config.fastcgi !== undefined) {
    // The FastCGI front has its own request books; these act on the HTTP host only (nginx in front
    // of FastCGI keeps the access log and its own limits).
    const httpOnly = ['limit-concurrency', 'max-requests', 'log-format', 'access-log'].filter(
      (name) => values[name] !== undefined,
    );
    if (httpOnly.length > 0)
      usage(
        `${httpOnly.map((n) => `--${n}`).join(', ')} ${httpOnly.length === 1 ? 'acts' : 'act'} on the HTTP ` +
          `server only, not with --fastcgi (nginx in front keeps the access log and limits)`,
      );
    server.accessLog = false;
  }
  if (values['max-requests-jitter'] !== undefined && config.maxRequests === undefined)
    usage('--max-requests-jitter needs --max-requests N');
  if (config.fastcgi !== undefined && server.uds !== undefined)
    usage('give either --fastcgi or --uds, not both (--fastcgi unix:/PATH serves FastCGI on a Unix socket)');
  if (command === 'serve' && config.target === undefined && config.legacy === undefined) {
    usage('serve needs a target: albany serve MODULE[:EXPORT], or --legacy MODULE[:EXPORT]');
  }
  if (command === 'serve' && config.target !== undefined && config.legacy !== undefined) {
    usage('give either a target MODULE or --legacy MODULE, not both (mount legacy handlers in your app to mix them)');
  }
  return config;
}

/** The TLS files from the flags: both of key and certificate, or neither (and then no --ssl-ca). */
function tlsFlags(values: Record<string, unknown>): TlsFiles | undefined {
  const keyfile = values['ssl-keyfile'] as string | undefined;
  const certfile = values['ssl-certfile'] as string | undefined;
  const cafile = values['ssl-ca'] as string | undefined;
  if (keyfile === undefined && certfile === undefined) {
    if (cafile !== undefined) usage('--ssl-ca needs --ssl-keyfile and --ssl-certfile');
    return undefined;
  }
  if (keyfile === undefined || certfile === undefined)
    usage('give both --ssl-keyfile and --ssl-certfile to serve HTTPS');
  return cafile === undefined ? { keyfile, certfile } : { keyfile, certfile, cafile };
}

/**
 * The folders `--reload` watches: every `--reload-dir` (must exist), else the folder of the app
 * (or `--legacy`) module. Refused with `--workers`: a reload replaces the one process.
 */
function reloadFlags(values: Record<string, unknown>, config: CliConfig, cwd: string): string[] | undefined {
  const dirs = (values['reload-dir'] as string[] | undefined) ?? [];
  if (values.reload !== true) {
    if (dirs.length > 0) usage('--reload-dir needs --reload');
    return undefined;
  }
  if (config.workers > 1)
    usage(
      '--reload cannot be combined with --workers: it restarts one development process (use SIGHUP for a ' +
        'rolling restart of workers)',
    );
  if (dirs.length > 0) {
    return dirs.map((dir) => {
      const full = resolve(cwd, dir);
      if (!existsSync(full) || !statSync(full).isDirectory()) usage(`--reload-dir ${dir}: not a folder`);
      return full;
    });
  }
  const spec = config.target ?? config.legacy;
  if (spec === undefined) return [cwd];
  return [dirname(splitModuleSpec(spec, cwd).file)];
}

/**
 * `--env-file`: node's own parser and rule (variables already in the environment win), so the file
 * means what `node --env-file` would make of it. Cluster workers inherit the result.
 */
function loadEnvFile(path: string): void {
  // node 20 ends the process (exit 9) instead of throwing for a file it cannot read.
  if (!statSync(path, { throwIfNoEntry: false })?.isFile()) usage(`--env-file ${path}: no such file`);
  try {
    process.loadEnvFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    usage(`--env-file ${path}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
}

function version(): string {
  // dist/src/cli.js sits one folder deeper than src/cli.ts.
  const pkgUrl = new URL(
    import.meta.url.includes('/dist/') ? '../../package.json' : '../package.json',
    import.meta.url,
  );
  return (JSON.parse(readFileSync(pkgUrl, 'utf8')) as { version: string }).version;
}

/** Entry point: parse, run, and map errors to one line and an exit code (2 for usage and load errors). */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  let config: CliConfig;
  try {
    config = parseCli(argv, process.env, process.cwd());
    if (config.envFile !== undefined) {
      loadEnvFile(config.envFile);
      // Parsed again: PORT and ALBANY_POOL_* from the file count like any other environment.
      config = parseCli(argv, process.env, process.cwd());
    }
  } catch (error) {
    process.stderr.write(`albany: ${(error as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  if (config.command === 'help') {
    process.stdout.write(helpText());
    return;
  }
  if (config.command === 'version') {
    process.stdout.write(`albany ${version()}\n`);
    return;
  }
  if (config.command === 'config' && config.suggest !== undefined) {
    await suggest(config.suggest, config.suggestWindowS);
    return;
  }
  try {
    const { run } = await import('./run.js');
    await run(config);
  } catch (error) {
    const code = AlbanyError.is(error) ? error.code : undefined;
    const usageLike =
      code === ErrorCodes.ERR_ALBANY_APP_LOAD ||
      code === ErrorCodes.ERR_ALBANY_USAGE ||
      code === ErrorCodes.ERR_ALBANY_INVALID_CONFIG ||
      code === ErrorCodes.ERR_ALBANY_INTERFACE;
    process.stderr.write(`albany: ${(error as Error).message}\n`);
    process.exitCode = usageLike ? 2 : 1;
  }
}

/** `albany config --suggest URL`: one advice line per pool on stdout; a failure is one line on stderr, exit 2. */
async function suggest(target: string, windowS: number): Promise<void> {
  try {
    const { suggestFromMetrics } = await import('./pool/advice-suggest.js');
    const window = windowS > 0 ? ` [last ${windowS} s]` : '';
    for (const advice of await suggestFromMetrics(target, { windowS }))
      process.stdout.write(`${advice.line}${window}\n`);
  } catch (error) {
    process.stderr.write(`albany: ${(error as Error).message}\n`);
    process.exitCode = 2;
  }
}

// Run when this file is the process entry (`node --import tsx src/cli.ts`); bin/albany.js calls main() itself.
if (process.argv[1] !== undefined && pathToFileURL(realpathSync(process.argv[1])).href === import.meta.url) void main();

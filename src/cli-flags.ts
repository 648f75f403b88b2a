// The CLI's flags in one table: parsing, validation and --help all read it, so they cannot drift.
import { poolFlagSpecs } from './pool/config.js';
import { SERVER_DEFAULTS } from './server/options.js';

/** One command-line flag. */
export interface FlagSpec {
  /** Name without dashes, e.g. `port`. */
  name: string;
  /** Strings take a value; booleans do not. */
  type: 'string' | 'boolean';
  /** Placeholder in help, e.g. `N`. */
  value?: string;
  /** One line of help. */
  help: string;
  /** Section of the help text. */
  group: 'server' | 'app' | 'limits' | 'scale' | 'pool' | 'general';
  /** Allows the flag more than once (collected into an array). */
  multiple?: boolean;
  /** One-letter alias. */
  short?: string;
}

/** Every flag `albany serve` and `albany config` accept. */
export const FLAGS: readonly FlagSpec[] = [
  { name: 'host', type: 'string', value: 'HOST', help: `interface to bind (default ${SERVER_DEFAULTS.host})`, group: 'server' },
  { name: 'port', type: 'string', value: 'N', help: `port to bind, 0 for any free one (default ${SERVER_DEFAULTS.port}; PORT env overrides the default)`, group: 'server' },
  { name: 'uds', type: 'string', value: 'PATH', help: 'listen for HTTP on a Unix socket instead (for nginx proxy_pass)', group: 'server' },
  { name: 'fastcgi', type: 'string', value: 'ADDR', help: 'serve FastCGI for nginx fastcgi_pass on HOST:PORT or unix:/PATH instead of HTTP', group: 'server' },
  { name: 'root-path', type: 'string', value: 'PATH', help: 'mount point reported to the app as scope.rootPath', group: 'server' },
  { name: 'proxy-headers', type: 'boolean', help: 'trust X-Forwarded-For/-Proto and Forwarded from --forwarded-allow-ips', group: 'server' },
  { name: 'forwarded-allow-ips', type: 'string', value: 'LIST', help: 'comma-separated peers trusted for proxy headers, * for all (default loopback)', group: 'server' },
  { name: 'interface', type: 'string', value: 'KIND', help: 'what the target is: auto | gateway | node | fetch (default auto)', group: 'app' },
  { name: 'legacy', type: 'string', value: 'MODULE[:EXPORT]', help: 'serve a blocking (WSGI, plain or node-style) handler through the worker pool; loaded once at start, exit 2 if it cannot be', group: 'app' },
  { name: 'provide', type: 'string', value: '[NAME=]MODULE', multiple: true, help: 'main-thread module whose exported functions are runSync services NAME.export (NAME: file name); startup()/shutdown() run with the server; repeatable', group: 'app' },
  { name: 'legacy-style', type: 'string', value: 'STYLE', help: 'handler style for --legacy: wsgi | plain | node (default: detected)', group: 'app' },
  { name: 'lifespan', type: 'string', value: 'MODE', help: 'lifespan protocol: auto | on | off (default auto)', group: 'app' },
  { name: 'max-body-size', type: 'string', value: 'BYTES', help: `largest request body, larger gets 413 (default ${SERVER_DEFAULTS.maxBodySize}; 0 = no limit)`, group: 'limits' },
  { name: 'max-header-size', type: 'string', value: 'BYTES', help: `largest request head, larger gets 431 (default ${SERVER_DEFAULTS.maxHeaderSize})`, group: 'limits' },
  { name: 'headers-timeout', type: 'string', value: 'MS', help: `time allowed for the request head (default ${SERVER_DEFAULTS.headersTimeoutMs})`, group: 'limits' },
  { name: 'request-timeout', type: 'string', value: 'MS', help: `time allowed for the whole request (default ${SERVER_DEFAULTS.requestTimeoutMs})`, group: 'limits' },
  { name: 'keep-alive-timeout', type: 'string', value: 'MS', help: `idle keep-alive connection lifetime (default ${SERVER_DEFAULTS.keepAliveTimeoutMs})`, group: 'limits' },
  { name: 'graceful-timeout', type: 'string', value: 'MS', help: `how long shutdown waits for in-flight requests (default ${SERVER_DEFAULTS.gracefulTimeoutMs})`, group: 'limits' },
  { name: 'workers', type: 'string', value: 'N', help: 'run N processes sharing the socket (node:cluster), each with its own pool', group: 'scale' },
  { name: 'metrics', type: 'string', value: 'PORT', help: 'serve pool metrics as Prometheus text at /metrics on this port', group: 'scale' },
  { name: 'config', type: 'string', value: 'FILE', help: 'config file (default: albany.config.json/.mjs/.js in the current directory)', group: 'pool' },
  ...poolFlagSpecs.map((s): FlagSpec => ({ name: s.name, type: 'string', value: s.valueName, help: `${s.description} (env ${s.env})`, group: 'pool' })),
  { name: 'print', type: 'boolean', help: 'with `albany config`: print the merged pool config and where each value came from', group: 'general' },
  { name: 'block-threshold', type: 'string', value: 'MS', help: `log the request and stack that keep the event loop from turning for MS ms (default ${SERVER_DEFAULTS.blockThresholdMs}; 0 = off)`, group: 'general' },
  { name: 'log-level', type: 'string', value: 'LEVEL', help: 'debug | info | warn | error | silent (default info)', group: 'general' },
  { name: 'help', type: 'boolean', short: 'h', help: 'show this help', group: 'general' },
  { name: 'version', type: 'boolean', short: 'v', help: 'print the version', group: 'general' },
];

const GROUP_TITLES: Record<FlagSpec['group'], string> = {
  server: 'Server',
  app: 'Application',
  limits: 'Limits and timeouts',
  scale: 'Scale-out and metrics',
  pool: 'Legacy pool tuning (also from albany.config.json and ALBANY_POOL_* env)',
  general: 'General',
};

/** The full `--help` text. */
export function helpText(): string {
  const lines = [
    'Usage:',
    '  albany serve MODULE[:EXPORT] [flags]    serve a gateway, node (req,res) or fetch app',
    '  albany serve --legacy MODULE[:EXPORT] [flags]\n                                          serve a blocking handler through the worker pool',
    '  albany config --print [flags]           show the merged pool config and its sources',
    '',
    'MODULE is a .js/.mjs/.ts file; EXPORT defaults to "default" (for --legacy: "handle", else "default").',
  ];
  for (const group of Object.keys(GROUP_TITLES) as Array<FlagSpec['group']>) {
    lines.push('', `${GROUP_TITLES[group]}:`);
    for (const f of FLAGS.filter((x) => x.group === group)) {
      const left = `  ${f.short ? `-${f.short}, ` : ''}--${f.name}${f.value ? ` ${f.value}` : ''}`;
      lines.push(`${left.padEnd(40)} ${f.help}`);
    }
  }
  return lines.join('\n') + '\n';
}

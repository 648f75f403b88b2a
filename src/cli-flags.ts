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
  {
    name: 'host',
    type: 'string',
    value: 'HOST',
    help: `interface to bind (default ${SERVER_DEFAULTS.host})`,
    group: 'server',
  },
  {
    name: 'port',
    type: 'string',
    value: 'N',
    help: `port to bind, 0 for any free one (default ${SERVER_DEFAULTS.port}; PORT env overrides the default)`,
    group: 'server',
  },
  {
    name: 'uds',
    type: 'string',
    value: 'PATH',
    help: 'listen for HTTP on a Unix socket instead (for nginx proxy_pass)',
    group: 'server',
  },
  {
    name: 'fastcgi',
    type: 'string',
    value: 'ADDR',
    help: 'serve FastCGI for nginx fastcgi_pass on HOST:PORT or unix:/PATH instead of HTTP',
    group: 'server',
  },
  {
    name: 'ssl-keyfile',
    type: 'string',
    value: 'FILE',
    help: 'serve HTTPS with this private key (PEM); HTTP/2 by ALPN beside HTTP/1.1; needs --ssl-certfile',
    group: 'server',
  },
  {
    name: 'ssl-certfile',
    type: 'string',
    value: 'FILE',
    help: 'the certificate chain (PEM) for --ssl-keyfile',
    group: 'server',
  },
  {
    name: 'ssl-ca',
    type: 'string',
    value: 'FILE',
    help: 'CA certificates (PEM), passed to node:tls as ca (used to complete the chain sent to clients)',
    group: 'server',
  },
  {
    name: 'root-path',
    type: 'string',
    value: 'PATH',
    help: 'mount point reported to the app as scope.rootPath',
    group: 'server',
  },
  {
    name: 'proxy-headers',
    type: 'boolean',
    help: 'trust X-Forwarded-For/-Proto and Forwarded from --forwarded-allow-ips',
    group: 'server',
  },
  {
    name: 'forwarded-allow-ips',
    type: 'string',
    value: 'LIST',
    help: 'comma-separated peers trusted for proxy headers, * for all (default loopback)',
    group: 'server',
  },
  {
    name: 'interface',
    type: 'string',
    value: 'KIND',
    help: 'what the target is: auto | gateway | node | fetch (default auto)',
    group: 'app',
  },
  {
    name: 'legacy',
    type: 'string',
    value: 'MODULE[:EXPORT]',
    help:
      'serve a blocking (WSGI, plain or node-style) handler through the worker pool; loaded once at start, ' +
      'exit 2 if it cannot be',
    group: 'app',
  },
  {
    name: 'provide',
    type: 'string',
    value: '[NAME=]MODULE',
    multiple: true,
    help:
      'main-thread module whose exported functions are runSync services NAME.export (NAME: file name); ' +
      'startup()/shutdown() run with the server; repeatable',
    group: 'app',
  },
  {
    name: 'legacy-style',
    type: 'string',
    value: 'STYLE',
    help: 'handler style for --legacy: wsgi | plain | node (default: detected)',
    group: 'app',
  },
  {
    name: 'factory',
    type: 'boolean',
    help: 'the export is a factory: called once (may be async) to build the app',
    group: 'app',
  },
  {
    name: 'app-dir',
    type: 'string',
    value: 'DIR',
    help: 'resolve MODULE (and --legacy MODULE) in DIR instead of the current directory',
    group: 'app',
  },
  {
    name: 'env-file',
    type: 'string',
    value: 'PATH',
    help:
      'load KEY=VALUE lines into the environment before the app (variables already set win, as with node ' +
      '--env-file)',
    group: 'app',
  },
  {
    name: 'lifespan',
    type: 'string',
    value: 'MODE',
    help: 'lifespan protocol: auto | on | off (default auto)',
    group: 'app',
  },
  {
    name: 'max-body-size',
    type: 'string',
    value: 'BYTES',
    help: `largest request body, larger gets 413 (default ${SERVER_DEFAULTS.maxBodySize}; 0 = no limit)`,
    group: 'limits',
  },
  {
    name: 'max-header-size',
    type: 'string',
    value: 'BYTES',
    help: `largest request head, larger gets 431 (default ${SERVER_DEFAULTS.maxHeaderSize})`,
    group: 'limits',
  },
  {
    name: 'headers-timeout',
    type: 'string',
    value: 'MS',
    help: `time allowed for the request head (default ${SERVER_DEFAULTS.headersTimeoutMs})`,
    group: 'limits',
  },
  {
    name: 'request-timeout',
    type: 'string',
    value: 'MS',
    help:
      `time allowed for the whole exchange, the app's response included: 504, or the connection closed if the ` +
      `response started (default ${SERVER_DEFAULTS.requestTimeoutMs}; 0 = none)`,
    group: 'limits',
  },
  {
    name: 'keep-alive-timeout',
    type: 'string',
    value: 'MS',
    help: `idle keep-alive connection lifetime (default ${SERVER_DEFAULTS.keepAliveTimeoutMs})`,
    group: 'limits',
  },
  {
    name: 'limit-concurrency',
    type: 'string',
    value: 'N',
    help: 'requests in flight per process beyond N get 503 before the app runs (default: no limit)',
    group: 'limits',
  },
  {
    name: 'max-requests',
    type: 'string',
    value: 'N',
    help: 'with --workers: replace a worker gracefully after it has taken N requests (guards against leaks)',
    group: 'limits',
  },
  {
    name: 'max-requests-jitter',
    type: 'string',
    value: 'J',
    help: 'add a random 0..J to --max-requests per worker so they do not all restart at once',
    group: 'limits',
  },
  {
    name: 'graceful-timeout',
    type: 'string',
    value: 'MS',
    help: `how long shutdown waits for in-flight requests (default ${SERVER_DEFAULTS.gracefulTimeoutMs})`,
    group: 'limits',
  },
  {
    name: 'reload',
    type: 'boolean',
    help:
      "development: restart gracefully when a file under the app's folder changes (node_modules and " +
      'dot-folders ignored); not with --workers',
    group: 'app',
  },
  {
    name: 'reload-dir',
    type: 'string',
    value: 'DIR',
    multiple: true,
    help: "with --reload: watch DIR instead of the app's folder; repeatable",
    group: 'app',
  },
  {
    name: 'workers',
    type: 'string',
    value: 'N',
    help: 'run N processes sharing the socket (node:cluster), each with its own pool',
    group: 'scale',
  },
  {
    name: 'metrics',
    type: 'string',
    value: 'PORT',
    help:
      'serve Prometheus text at /metrics on this port: HTTP requests by method/status, in flight, durations, ' +
      'event-loop lag and utilization, pool figures; with --workers or --reload the primary serves the sum ' +
      'over every worker',
    group: 'scale',
  },
  {
    name: 'config',
    type: 'string',
    value: 'FILE',
    help: 'config file (default: albany.config.json/.mjs/.js in the current directory)',
    group: 'pool',
  },
  ...poolFlagSpecs.map(
    (s): FlagSpec => ({
      name: s.name,
      type: 'string',
      value: s.valueName,
      help: `${s.description} (env ${s.env})`,
      group: 'pool',
    }),
  ),
  {
    name: 'print',
    type: 'boolean',
    help: 'with `albany config`: print the merged pool config and where each value came from',
    group: 'general',
  },
  {
    name: 'suggest',
    type: 'string',
    value: 'URL',
    help:
      "with `albany config`: read a running server's --metrics (PORT, HOST:PORT or URL) and print " +
      'maxThreads/maxQueue advice per pool, with the figures and the rule',
    group: 'general',
  },
  {
    name: 'suggest-window',
    type: 'string',
    value: 'S',
    help:
      "with --suggest: advise from the figures of the next S seconds (two scrapes) instead of the pools' whole " +
      'life (default 0)',
    group: 'general',
  },
  {
    name: 'advice-interval',
    type: 'string',
    value: 'S',
    help:
      `log that advice every S seconds for each pool that was busy (default 60; 0 = off; env ` +
      `ALBANY_ADVICE_INTERVAL)`,
    group: 'general',
  },
  {
    name: 'block-threshold',
    type: 'string',
    value: 'MS',
    help:
      `log the request and stack that keep the event loop from turning for MS ms (default ` +
      `${SERVER_DEFAULTS.blockThresholdMs}; 0 = off)`,
    group: 'general',
  },
  {
    name: 'log-level',
    type: 'string',
    value: 'LEVEL',
    help: 'debug | info | warn | error | silent (default info)',
    group: 'general',
  },
  {
    name: 'access-log',
    type: 'boolean',
    help:
      'one line per request on stdout: client, request line, status, bytes, duration, request id (default on, ' +
      'off at --log-level warn and above)',
    group: 'general',
  },
  { name: 'no-access-log', type: 'boolean', help: 'no access log', group: 'general' },
  {
    name: 'log-format',
    type: 'string',
    value: 'FORMAT',
    help: 'access log lines: text | json (JSON lines for log shippers; default text)',
    group: 'general',
  },
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
    '  albany serve --legacy MODULE[:EXPORT] [flags]\n                                          serve a ' +
      'blocking handler through the worker pool',
    '  albany config --print [flags]           show the merged pool config and its sources',
    "  albany config --suggest PORT|URL        advise maxThreads/maxQueue from a running server's --metrics",
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
  return `${lines.join('\n')}\n`;
}

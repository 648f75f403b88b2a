// The one config object the command line builds (cli.ts) and everything below it reads (run.ts,
// legacy-mount.ts); in its own file so that those do not import the CLI that imports them.
import type { ServerOptions } from './server/options.js';
import type { TlsFiles } from './server/tls.js';

/** Everything `albany serve` / `albany config` needs, built from argv and env only here. */
export interface CliConfig {
  command: 'serve' | 'config' | 'help' | 'version';
  /** `module[:export]` for serve. */
  target: string | undefined;
  /** `--factory`: the export builds the app when called. */
  factory: boolean;
  /** Where MODULE and `--legacy MODULE` are resolved (`--app-dir`, default the current directory). */
  appDir: string;
  /** `--env-file PATH`, resolved; loaded by main() before anything else reads the environment. */
  envFile: string | undefined;
  /** Handler module for `--legacy`, `MODULE[:EXPORT]`. */
  legacy: string | undefined;
  legacyStyle: string | undefined;
  /** `--provide [NAME=]MODULE` values, in order: main-thread service modules. */
  provide: string[];
  interface: 'auto' | 'gateway' | 'node' | 'fetch';
  server: ServerOptions;
  /** The raw `--pool-*` values, validated by the pool config loader. */
  poolFlags: Record<string, unknown>;
  configPath: string | undefined;
  workers: number;
  metricsPort: number | undefined;
  /** `--max-requests`: a worker is replaced after this many requests (needs --workers). */
  maxRequests: number | undefined;
  /** `--max-requests-jitter`: up to this many more, drawn per worker. */
  maxRequestsJitter: number;
  fastcgi: string | undefined;
  /** `--ssl-keyfile`, `--ssl-certfile`, `--ssl-ca`: read when the server starts. */
  tls: TlsFiles | undefined;
  /** `--reload`: the folders to watch (absolute), or undefined when off. */
  reloadDirs: string[] | undefined;
  print: boolean;
  /** `albany config --suggest URL`: the metrics endpoint to read for sizing advice. */
  suggest: string | undefined;
  /** `--suggest-window S`: advise from S seconds of figures (two scrapes); 0 = the pools' whole life. */
  suggestWindowS: number;
  /** `--advice-interval S` (env `ALBANY_ADVICE_INTERVAL`): seconds between sizing lines, 0 = off. */
  adviceIntervalS: number;
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
}

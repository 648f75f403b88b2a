// Merges defaults < config file < env < CLI flags < code into one validated PoolConfig per pool.
import type { Piscina } from 'piscina';
import { albanyError, type AlbanyError } from '../errors.js';
import type { PoolConfig, PoolConfigInput } from './config-types.js';
import {
  defaultPoolConfig,
  poolKeySpecs,
  setKey,
  showValue,
  type ConfigProblem,
  type PoolConfigKey,
  type ValueOrigin,
} from './config-schema.js';
import {
  envLayer,
  fileLayers,
  flagLayer,
  loadConfigFile,
  loadConfigFileSync,
  namedEnvLayer,
  objectLayer,
  poolSectionNames,
  type Layer,
  type LoadedConfigFile,
} from './config-sources.js';

/** What {@link resolvePoolConfig} reads. Every source is passed in; nothing is read from `process`. */
export interface ResolvePoolConfigOptions {
  /**
   * Directory to look for `albany.config.json` / `.mjs` / `.js` in. Without it (and without `configPath`) no file is
   * read.
   */
  cwd?: string;
  /** `--config path`: this file instead of looking in `cwd` (relative paths resolve against `cwd`). */
  configPath?: string;
  /** Environment variables, e.g. `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Parsed CLI flags, e.g. `parseArgs(...).values`; only `pool-*` names are read. */
  flags?: Readonly<Record<string, unknown>>;
  /** Settings given in code; they win over every other source. */
  code?: PoolConfigInput;
  /** The pool's name: its `pools[name]` section of the config file applies on top of `pool`. */
  name?: string;
  /** Thread count `maxThreads` defaults to; `os.availableParallelism()` when omitted. */
  cores?: number;
}

/** One pool's merged config and where each value came from. */
export interface ResolvedPoolConfig {
  /** The pool's name, if it has one. */
  name: string | undefined;
  /** The validated config. */
  config: PoolConfig;
  /** For every key (resource limits as `resourceLimits.<name>`), the source that set it. */
  sources: Record<PoolConfigKey, ValueOrigin>;
  /** Absolute path of the config file read, if any. */
  file: string | undefined;
}

/** A `--pool-*` flag as the CLI needs it to parse arguments and print help. */
export interface PoolFlagSpec {
  /** The flag as typed, e.g. `--pool-max-threads`. */
  flag: string;
  /** The name without dashes, as `node:util` `parseArgs` keys it, e.g. `pool-max-threads`. */
  name: string;
  /** The config key it sets. */
  key: PoolConfigKey;
  /** The environment variable for the same key. */
  env: string;
  /** Placeholder for the value in help text. */
  valueName: string;
  /** One line for `--help`. */
  description: string;
  /** What values are allowed. */
  allowed: string;
}

/** Every `--pool-*` flag, in help order. */
export const poolFlagSpecs: readonly PoolFlagSpec[] = poolKeySpecs.map((s) => ({
  flag: `--${s.flag}`,
  name: s.flag,
  key: s.key,
  env: s.env,
  valueName: s.valueName,
  description: s.description,
  allowed: s.allowed,
}));

/** The `--pool-*` flags as `node:util` `parseArgs` options, to spread into the CLI's own. */
export const poolParseArgsOptions: Readonly<Record<string, { type: 'string' }>> = Object.fromEntries(
  poolKeySpecs.map((s) => [s.flag, { type: 'string' as const }]),
);

function configError(problems: ConfigProblem[], name: string | undefined): AlbanyError {
  const which = name === undefined ? 'pool config' : `config of pool "${name}"`;
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  const lines = problems.map((p) => `  - ${p.message}`);
  return albanyError('ERR_ALBANY_INVALID_CONFIG', `Invalid ${which} (${count}):\n${lines.join('\n')}`, {
    details: { problems, ...(name === undefined ? {} : { pool: name }) },
  });
}

function toInput(layer: Layer): PoolConfigInput {
  const config = { resourceLimits: {} } as unknown as PoolConfig;
  for (const entry of layer.entries) setKey(config, entry.key, entry.value);
  const input: PoolConfigInput = config;
  if (Object.keys(config.resourceLimits).length === 0) delete input.resourceLimits;
  return input;
}

/**
 * Reads the `--pool-*` flags out of an argv-like record (kebab-case or camelCase names; other
 * flags ignored) into typed settings.
 *
 * @throws AlbanyError `ERR_ALBANY_INVALID_CONFIG` naming every bad or unknown `--pool-*` flag.
 */
export function parsePoolFlags(flags: Readonly<Record<string, unknown>>): PoolConfigInput {
  const layer = flagLayer(flags);
  if (layer.problems.length > 0) throw configError(layer.problems, undefined);
  return toInput(layer);
}

/**
 * Merges defaults < config file (`pool`, then `pools[name]`) < env < flags < code into one
 * {@link PoolConfig}. Every source is checked in full, even values a later source overrides: a
 * bad value hidden today would surface the day the override is removed.
 *
 * `minThreads` above a *default* `maxThreads` raises `maxThreads` (so `minThreads: 8` works on a
 * small machine, as in piscina); above an explicit one it is an error.
 *
 * @throws AlbanyError `ERR_ALBANY_INVALID_CONFIG` once, naming every wrong key with its source, the
 *   value given and what is allowed; `details.problems` holds them as {@link ConfigProblem}s.
 */
export async function resolvePoolConfig(options: ResolvePoolConfigOptions = {}): Promise<ResolvedPoolConfig> {
  return resolveWithFile(await loadConfigFile(options), options);
}

/**
 * {@link resolvePoolConfig} without awaiting (a `.mjs`/`.js` config file is loaded with `require()`),
 * for pools built synchronously in code.
 */
export function resolvePoolConfigSync(options: ResolvePoolConfigOptions = {}): ResolvedPoolConfig {
  return resolveWithFile(loadConfigFileSync(options), options);
}

/**
 * The merge itself, with the config file already read (or absent). Layers, later winning:
 * file `pool`, file `pools[name]`, env `ALBANY_POOL_*`, env `ALBANY_POOLS_<NAME>_*`, flags, code.
 */
export function resolveWithFile(
  file: LoadedConfigFile | undefined,
  options: Omit<ResolvePoolConfigOptions, 'cwd' | 'configPath'>,
): ResolvedPoolConfig {
  const env = options.env ?? {};
  const layers: Layer[] = [
    ...(file === undefined ? [] : fileLayers(file, options.name)),
    envLayer(env),
    ...(options.name === undefined ? [] : [namedEnvLayer(env, options.name)]),
    flagLayer(options.flags ?? {}),
    codeLayer(options.code),
  ];
  const { config, sources, problems } = mergeLayers(layers, options.cores);
  if (problems.length > 0) throw configError(problems, options.name);
  return { name: options.name, config, sources, file: file?.path };
}

/**
 * Resolves the unnamed pool and every pool the config file names under `pools`, so that a section
 * no pool uses yet is checked too (`albany config --print`, and `albany serve` before it loads the
 * app). Problems of every pool are reported in one `ERR_ALBANY_INVALID_CONFIG`, each once.
 */
export function resolveConfiguredPools(
  file: LoadedConfigFile | undefined,
  options: Omit<ResolvePoolConfigOptions, 'cwd' | 'configPath' | 'name'>,
): ResolvedPoolConfig[] {
  const names = [undefined, ...(file === undefined ? [] : poolSectionNames(file))];
  const resolved: ResolvedPoolConfig[] = [];
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  for (const name of names) {
    try {
      resolved.push(resolveWithFile(file, { ...options, name }));
    } catch (err) {
      const found = (err as AlbanyError).details?.['problems'] as ConfigProblem[] | undefined;
      if (found === undefined) throw err;
      // A bad `pool` value fails every named pool too: name it once.
      for (const p of found) {
        if (seen.has(p.message)) continue;
        seen.add(p.message);
        problems.push(p);
      }
    }
  }
  if (problems.length > 0) throw configError(problems, undefined);
  return resolved;
}

/** Fills a partial config from the defaults and validates it. */
// resolvePoolConfig with code as the only source: the same rules and the same error, but synchronous.
export function completeConfig(input: PoolConfigInput): PoolConfig {
  const { config, problems } = mergeLayers([codeLayer(input)], undefined);
  if (problems.length > 0) throw configError(problems, undefined);
  return config;
}

function codeLayer(code: PoolConfigInput | undefined): Layer {
  return objectLayer(code, 'code', (path) => (path ? `code ${path}` : 'code'));
}

// Later layers win; every layer's problems are kept, so one error can name them all.
function mergeLayers(
  layers: Layer[],
  cores: number | undefined,
): { config: PoolConfig; sources: Record<PoolConfigKey, ValueOrigin>; problems: ConfigProblem[] } {
  const config = defaultPoolConfig(cores);
  const sources = Object.fromEntries(
    poolKeySpecs.map((s) => [
      s.key,
      { source: 'default', origin: s.key === 'maxThreads' ? 'default (available cores)' : 'default' },
    ]),
  ) as Record<PoolConfigKey, ValueOrigin>;
  const problems: ConfigProblem[] = [];
  for (const layer of layers) {
    problems.push(...layer.problems);
    for (const entry of layer.entries) {
      setKey(config, entry.key, entry.value);
      sources[entry.key] = { source: entry.source, origin: entry.origin };
    }
  }
  if (config.minThreads > config.maxThreads) {
    if (sources.maxThreads.source === 'default') {
      config.maxThreads = config.minThreads;
      sources.maxThreads = { source: 'default', origin: 'default (raised to minThreads)' };
    } else {
      const min = sources.minThreads;
      problems.push({
        key: 'minThreads',
        source: min.source,
        origin: min.origin,
        value: config.minThreads,
        allowed: `an integer ≤ maxThreads (${config.maxThreads})`,
        message:
          `${min.origin} = ${showValue(config.minThreads)}: minThreads must be ≤ maxThreads, which is ` +
          `${config.maxThreads} from ${sources.maxThreads.origin}`,
      });
    }
  }
  return { config, sources, problems };
}

/** The options piscina takes, limited to the ones a pool config sets. */
export type PiscinaPoolOptions = Pick<
  NonNullable<ConstructorParameters<typeof Piscina>[0]>,
  'minThreads' | 'maxThreads' | 'maxQueue' | 'idleTimeout' | 'concurrentTasksPerWorker' | 'resourceLimits'
>;

/**
 * Maps a config onto piscina's constructor options. `taskTimeoutMs` and `onDisconnect` have no
 * piscina equivalent: the pool wrapper enforces them.
 */
export function toPiscinaOptions(config: PoolConfig): PiscinaPoolOptions {
  const limits = Object.fromEntries(Object.entries(config.resourceLimits).filter(([, v]) => v !== undefined));
  return {
    minThreads: config.minThreads,
    maxThreads: config.maxThreads,
    maxQueue: config.maxQueue,
    idleTimeout: config.idleTimeoutMs,
    concurrentTasksPerWorker: config.concurrentTasksPerWorker,
    ...(Object.keys(limits).length === 0 ? {} : { resourceLimits: limits }),
  };
}

/** Queue slots `maxQueue: 'auto'` gives per thread (see {@link effectiveMaxQueue}). */
export const AUTO_QUEUE_PER_THREAD = 128;

/** The least `maxQueue: 'auto'` gives, whatever the thread count. */
export const AUTO_QUEUE_MIN = 256;

/**
 * The queue bound a config amounts to. `'auto'` is 128 per thread, at least 256 (256 on 1–2 threads,
 * 1024 on 8, 2048 on 16).
 *
 * Why: the queue is where a burst waits. A blocking Python server's burst absorber is its listen
 * backlog, 2048 connections by default in gunicorn and uvicorn; albany's event loop accepts every
 * connection at once, so this queue plays that part. piscina's rule (maxThreads²: 4 on 2 cores)
 * refused 4 of 10 concurrent requests, which is no burst at all. The bound still matters: it keeps
 * memory bounded (a queued request holds its scope and first body chunk) and turns a sustained
 * overload into fast 503s; 128 waiting per thread is ~4 s of wait at 30 ms a request. Scaling with
 * threads keeps that wait alike on small and large machines.
 */
export function effectiveMaxQueue(config: PoolConfig): number {
  return config.maxQueue === 'auto'
    ? Math.max(AUTO_QUEUE_MIN, AUTO_QUEUE_PER_THREAD * config.maxThreads)
    : config.maxQueue;
}

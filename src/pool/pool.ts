// The legacy pool's entry: createPool builds a LegacyPool from its config layers (file, env, flags)
// and the settings given in code. The names the rest of the repo takes from this module are
// re-exported here, each from the file that holds it.
import { albanyError } from '../errors.js';
import type { PoolConfig, PoolConfigInput } from './config-types.js';
import { completeConfig } from './config.js';
import { declarePoolName, resolveProcessPoolConfig } from './config-process.js';
import { LegacyPool } from './legacy-pool.js';
import type { PoolOptions } from './pool-types.js';

export { completeConfig } from './config.js';
export { LegacyPool } from './legacy-pool.js';
export { Ticket, type TicketListener } from './ticket.js';
export type { PoolOptions, DispatchOptions, LegacyPoolStats } from './pool-types.js';

/** A pool's settings as given in code, with the pool's name (it picks `pools.<name>` and `ALBANY_POOLS_<NAME>_*`). */
export type NamedPoolConfigInput = PoolConfigInput & { name?: string };

/**
 * Builds a {@link LegacyPool}. Its config merges, later winning: defaults < the config file's
 * `pool` < its `pools.<name>` < `ALBANY_POOL_*` < `ALBANY_POOLS_<NAME>_*` < the CLI's `--pool-*`
 * flags < `config` (the settings given here). The file, env and flags come from the process-wide
 * source (see `setPoolConfigSource`): what the CLI recorded, or in a program the CLI did not start
 * the config file in `process.cwd()` and `process.env`. `options.configSources: false` uses
 * `config` and the defaults alone. Every key is checked; all problems come in one
 * `ERR_ALBANY_INVALID_CONFIG` naming each key, its source and what is allowed.
 *
 * ```ts
 * const reports = createPool({ name: 'reports', taskTimeoutMs: 60_000 });
 * ```
 */
export function createPool(config: PoolConfig | NamedPoolConfigInput = {}, options: PoolOptions = {}): LegacyPool {
  const { name: configName, ...input } = config as NamedPoolConfigInput;
  if (configName !== undefined && (typeof configName !== 'string' || configName === '')) {
    throw albanyError(
      'ERR_ALBANY_INVALID_CONFIG',
      `pool name must be a non-empty string, got ${JSON.stringify(configName)}`,
    );
  }
  const name = options.name ?? configName;
  if (name !== undefined) declarePoolName(name);
  const resolved =
    options.configSources === false ? completeConfig(input) : resolveProcessPoolConfig(name, input).config;
  return new LegacyPool(resolved, { ...options, name });
}

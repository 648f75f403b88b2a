// The legacy pool's entry: createPool builds a LegacyPool from a full or partial config. The names
// the rest of the repo takes from this module are re-exported here, each from the file that holds it.
import type { PoolConfig, PoolConfigInput } from './config-types.js';
import { completeConfig } from './config.js';
import { LegacyPool } from './legacy-pool.js';
import type { PoolOptions } from './pool-types.js';

export { completeConfig } from './config.js';
export { LegacyPool } from './legacy-pool.js';
export { Ticket, type TicketListener } from './ticket.js';
export type { PoolOptions, DispatchOptions, LegacyPoolStats } from './pool-types.js';

/**
 * Builds a {@link LegacyPool} from a full config or a partial one (the rest from the defaults; every
 * key checked, all problems reported in one `ERR_ALBANY_INVALID_CONFIG`). For file/env/flag sources,
 * resolve them first with `resolvePoolConfig` and pass the result.
 */
export function createPool(config: PoolConfig | PoolConfigInput = {}, options: PoolOptions = {}): LegacyPool {
  return new LegacyPool(completeConfig(config), options);
}

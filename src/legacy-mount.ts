// `albany serve --legacy MODULE`: one blocking handler module behind its own pool, as the whole app.
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import type { CliConfig } from './cli.js';
import type { App } from './gateway/types.js';
import type { PoolConfig } from './pool/config-types.js';

/** Builds the gateway App for `--legacy`, with a pool made from the merged config. */
export async function legacyFromCli(config: CliConfig, pool: PoolConfig): Promise<{ app: App; close: () => Promise<void> }> {
  const { legacy } = await import('../legacy-adapter/index.js');
  const url = pathToFileURL(resolve(config.cwd, config.legacy!));
  const app = legacy(url, { pool, ...(config.legacyStyle ? { style: config.legacyStyle as 'wsgi' | 'plain' | 'node' } : {}) });
  return { app, close: () => app.close() };
}

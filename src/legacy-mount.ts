// `albany serve --legacy MODULE[:EXPORT]`: one blocking handler module behind its own pool, as the whole app.
import { pathToFileURL } from 'node:url';
import type { CliConfig } from './cli-config.js';
import type { App } from './gateway/types.js';
import type { LegacySpec } from './legacy-check.js';
import { splitModuleSpec } from './load-app.js';
import type { PoolConfig } from './pool/config-types.js';
import type { HandlerStyle } from './pool/protocol.js';

/** The module, export and style `--legacy` and `--legacy-style` name. */
export function legacySpec(config: CliConfig): LegacySpec {
  const { file, exportName } = splitModuleSpec(config.legacy!, config.appDir);
  return { file, exportName, style: config.legacyStyle as HandlerStyle | undefined };
}

/** Builds the gateway App for `--legacy`, with a pool made from the merged config. */
export async function legacyFromCli(
  config: CliConfig,
  pool: PoolConfig,
): Promise<{ app: App; close: () => Promise<void> }> {
  const { legacy } = await import('../legacy-adapter/index.js');
  const spec = legacySpec(config);
  const app = legacy(pathToFileURL(spec.file), {
    pool,
    ...(spec.exportName !== undefined ? { export: spec.exportName } : {}),
    ...(spec.style !== undefined ? { style: spec.style } : {}),
  });
  return { app, close: () => app.close() };
}

// Renders merged pool configs as the text `albany config --print` shows: each value and where it came from.
import { getKey, poolKeySpecs } from './config-schema.js';
import { effectiveMaxQueue, type ResolvedPoolConfig } from './config.js';

function showSetting(resolved: ResolvedPoolConfig, key: (typeof poolKeySpecs)[number]['key']): string {
  const value = getKey(resolved.config, key);
  if (value === undefined) return "(node's default)";
  if (key === 'maxQueue' && value === 'auto') return `auto (${effectiveMaxQueue(resolved.config)})`;
  return String(value);
}

/**
 * Formats one or more resolved pool configs, one aligned line per key:
 *
 * ```text
 * pool "reports" (file /srv/app/albany.config.json)
 *   maxThreads    8     env ALBANY_POOL_MAX_THREADS
 * ```
 */
export function formatConfig(resolved: ResolvedPoolConfig | readonly ResolvedPoolConfig[]): string {
  const all: readonly ResolvedPoolConfig[] = Array.isArray(resolved) ? resolved : [resolved as ResolvedPoolConfig];
  const blocks = all.map((r) => {
    const title = r.name === undefined ? 'pool' : `pool ${JSON.stringify(r.name)}`;
    const rows = poolKeySpecs.map((s) => [s.key, showSetting(r, s.key), r.sources[s.key].origin] as const);
    const keyWidth = Math.max(...rows.map((row) => row[0].length));
    const valueWidth = Math.max(...rows.map((row) => row[1].length));
    const lines = rows.map(([k, v, o]) => `  ${k.padEnd(keyWidth)}  ${v.padEnd(valueWidth)}  ${o}`);
    return [`${title} (${r.file === undefined ? 'no config file' : `file ${r.file}`})`, ...lines].join('\n');
  });
  return `${blocks.join('\n\n')}\n`;
}

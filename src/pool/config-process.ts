// The process-wide source of pool config: where every pool (the CLI's, and those built in code with
// createPool, legacy() or offload()) reads its file, env and flag layers. The CLI records what it
// parsed here before it loads the app, so `--pool-*` flags and `--config` reach pools the app builds
// itself. In a program the CLI did not start, the source is ambient: albany.config.json (or
// .mjs/.js) in `process.cwd()` and `process.env`, no flags. This module is the one place below the
// CLI that reads `process`, because a pool built in code has no other way to find its operator's
// settings.
import {
  loadConfigFile,
  loadConfigFileSync,
  namedEnvVariables,
  poolEnvName,
  poolSectionNames,
  type LoadedConfigFile,
} from './config-sources.js';
import { resolveConfiguredPools, resolveWithFile, type ResolvedPoolConfig } from './config.js';
import type { PoolConfigInput } from './config-types.js';

/** Where pools read their non-code settings. */
export interface PoolConfigSource {
  /** Directory of the config file (`albany.config.json`/`.mjs`/`.js`); none read without it and `configPath`. */
  cwd?: string;
  /** `--config`: this file instead (relative to `cwd`). */
  configPath?: string;
  /** Environment variables (`ALBANY_POOL_*`, `ALBANY_POOLS_<NAME>_*`). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Parsed `--pool-*` flags (kebab-case or camelCase names). */
  flags?: Readonly<Record<string, unknown>>;
}

interface Recorded {
  source: PoolConfigSource;
  /** The config file, once read (`null`: there is none). */
  file: LoadedConfigFile | null | undefined;
}

let recorded: Recorded | undefined;
const declared = new Set<string>();

/**
 * Records the source every pool made from now on reads, and reads its config file now (`.mjs`
 * files are imported, with top-level await if they like). The CLI calls it with its parsed flags;
 * a program may call it too, e.g. to pass its own argv's `--pool-*` flags.
 *
 * @throws AlbanyError `ERR_ALBANY_INVALID_CONFIG` when the file cannot be read.
 */
export async function setPoolConfigSource(source: PoolConfigSource): Promise<void> {
  const file = await loadConfigFile(source);
  recorded = { source, file: file ?? null };
}

/** Forgets the recorded source (and the file read): the next pool reads the ambient one again. */
export function resetPoolConfigSource(): void {
  recorded = undefined;
}

/** The source in force: the recorded one, or the ambient one (cwd and env of this process, no flags). */
export function poolConfigSource(): PoolConfigSource {
  return current().source;
}

function current(): Recorded {
  return (recorded ??= { source: { cwd: process.cwd(), env: process.env, flags: {} }, file: undefined });
}

function fileOf(): LoadedConfigFile | undefined {
  const r = current();
  // Read once per source: pools made later see the same file (a change needs a restart, as for the CLI's).
  if (r.file === undefined) r.file = loadConfigFileSync(r.source) ?? null;
  return r.file ?? undefined;
}

/**
 * One pool's config from the process source: defaults < file `pool` < file `pools[name]` <
 * `ALBANY_POOL_*` < `ALBANY_POOLS_<NAME>_*` < `--pool-*` flags < `code`.
 *
 * @throws AlbanyError `ERR_ALBANY_INVALID_CONFIG` naming every wrong key with its source.
 */
export function resolveProcessPoolConfig(
  name: string | undefined,
  code: PoolConfigInput | undefined,
): ResolvedPoolConfig {
  const source = poolConfigSource();
  return resolveWithFile(fileOf(), { env: source.env, flags: source.flags, code, name });
}

/** The unnamed pool and every `pools.<name>` of the config file, checked (see resolveConfiguredPools). */
export function resolveProcessPools(): ResolvedPoolConfig[] {
  const source = poolConfigSource();
  return resolveConfiguredPools(fileOf(), { env: source.env, flags: source.flags });
}

/** Notes that a pool of this name exists or will (legacy() makes its pool on first request). */
export function declarePoolName(name: string): void {
  declared.add(name);
}

/**
 * Settings for pools nobody declared: `pools.<name>` sections of the config file and
 * `ALBANY_POOLS_<NAME>_*` variables. Each is one line for a start-up warning (a typo in a pool
 * name would otherwise leave that pool on its defaults without a word).
 */
export function unusedPoolSettings(): string[] {
  const file = fileOf();
  const lines: string[] = [];
  const names = [...declared];
  if (file !== undefined) {
    for (const name of poolSectionNames(file)) {
      if (!declared.has(name))
        lines.push(
          `file ${file.display} pools.${name}: no pool named ${JSON.stringify(name)} was created${hint(names)}`,
        );
    }
  }
  const prefixes = names.map((n) => `ALBANY_POOLS_${poolEnvName(n)}_`);
  for (const variable of namedEnvVariables(poolConfigSource().env ?? {})) {
    if (!prefixes.some((p) => variable.startsWith(p)))
      lines.push(`env ${variable}: no pool created by this program has a name that variable is for${hint(names)}`);
  }
  return lines;
}

function hint(names: string[]): string {
  return names.length === 0 ? '' : ` (pools: ${names.map((n) => JSON.stringify(n)).join(', ')})`;
}

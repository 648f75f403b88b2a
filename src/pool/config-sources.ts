// Turns each config source (file, environment, flags, code) into a flat list of checked values and problems.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { albanyError } from '../errors.js';
import type { ConfigSource } from './config-types.js';
import { poolKeySpecs, showValue, type ConfigProblem, type PoolConfigKey, type PoolKeySpec } from './config-schema.js';

/** One value a source sets, already checked against its key's rule. */
export interface LayerEntry {
  key: PoolConfigKey;
  value: unknown;
  source: ConfigSource;
  origin: string;
}

/** What one source contributes: the values it sets and what was wrong in it. */
export interface Layer {
  entries: LayerEntry[];
  problems: ConfigProblem[];
}

/** Config file names looked for in the working directory, in this order. */
export const configFileNames = ['albany.config.json', 'albany.config.mjs', 'albany.config.js'] as const;

/** A config file that was found and read. */
export interface LoadedConfigFile {
  /** Absolute path. */
  path: string;
  /** The path as messages show it: relative to cwd when inside it. */
  display: string;
  /** The parsed JSON, or the module's default export. */
  data: unknown;
}

function invalid(message: string, cause?: unknown): Error {
  return albanyError('ERR_ALBANY_INVALID_CONFIG', message, cause === undefined ? undefined : { cause });
}

/**
 * Finds the config file: `configPath` (relative to `cwd`) when given, else the one of
 * {@link configFileNames} present in `cwd`. Without either, none, which keeps the loader free of
 * ambient state like `process.cwd()`.
 */
function findConfigFile(options: { cwd?: string; configPath?: string }): { path: string; display: string } | undefined {
  const cwd = options.cwd ?? '';
  let path: string;
  if (options.configPath !== undefined) {
    path = resolve(cwd, options.configPath);
    if (!existsSync(path)) throw invalid(`Config file ${path} (from --config) does not exist`);
  } else if (options.cwd !== undefined) {
    const found = configFileNames.map((n) => resolve(cwd, n)).filter((p) => existsSync(p));
    // Two files would make it a guess which one the operator is editing; refuse rather than pick one.
    if (found.length > 1) {
      throw invalid(`Found several config files in ${cwd}: ${found.join(', ')}; keep one or pass --config`);
    }
    if (found.length === 0) return undefined;
    path = found[0]!;
  } else {
    return undefined;
  }
  const rel = relative(cwd || resolve(), path);
  const display = rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
  return { path, display };
}

/** Finds ({@link findConfigFile}) and reads the config file; `.mjs`/`.js` files are imported. */
export async function loadConfigFile(options: {
  cwd?: string;
  configPath?: string;
}): Promise<LoadedConfigFile | undefined> {
  const found = findConfigFile(options);
  if (found === undefined) return undefined;
  return { ...found, data: await readConfigData(found.path, found.display) };
}

/**
 * {@link loadConfigFile} without awaiting, for pools built synchronously in code: JSON is read
 * with readFileSync, `.mjs`/`.js` with `require()` (Node ≥ 20.19 loads ES modules that way, as
 * long as they have no top-level await).
 */
export function loadConfigFileSync(options: { cwd?: string; configPath?: string }): LoadedConfigFile | undefined {
  const found = findConfigFile(options);
  if (found === undefined) return undefined;
  const { path, display } = found;
  if (path.endsWith('.json')) return { ...found, data: parseJson(readFileSync(path, 'utf8'), display) };
  let mod: { default?: unknown };
  try {
    mod = createRequire(import.meta.url)(path) as { default?: unknown };
  } catch (err) {
    throw invalid(
      `Config file ${display} could not be loaded synchronously (a pool built in code reads it with ` +
        `require(); use albany.config.json, or drop top-level await): ${(err as Error).message}`,
      err,
    );
  }
  if (mod.default === undefined)
    throw invalid(`Config file ${display} has no default export; export the config object as default`);
  return { ...found, data: mod.default };
}

function parseJson(text: string, display: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw invalid(`Config file ${display} is not valid JSON: ${(err as Error).message}`, err);
  }
}

async function readConfigData(path: string, display: string): Promise<unknown> {
  if (path.endsWith('.json')) return parseJson(await readFile(path, 'utf8'), display);
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(path).href)) as { default?: unknown };
  } catch (err) {
    throw invalid(`Config file ${display} could not be imported: ${(err as Error).message}`, err);
  }
  if (mod.default === undefined)
    throw invalid(`Config file ${display} has no default export; export the config object as default`);
  return mod.default;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// Edit distance, only to suggest the key an unknown one was probably meant to be.
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const next = Math.min(
        row[j]! + 1,
        row[j - 1]! + 1,
        prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1),
      );
      prev = row[j]!;
      row[j] = next;
    }
  }
  return row[b.length]!;
}

function unknownProblem(
  name: string,
  known: readonly string[],
  source: ConfigSource,
  origin: string,
  value: unknown,
): ConfigProblem {
  const best = known.map((k) => ({ k, d: distance(name, k) })).sort((x, y) => x.d - y.d)[0];
  const hint = best !== undefined && best.d <= 3 ? ` (did you mean ${best.k}?)` : '';
  const allowed = `one of ${known.join(', ')}`;
  return { key: name, source, origin, value, allowed, message: `${origin}: unknown key${hint}; allowed: ${allowed}` };
}

function valueProblem(spec: PoolKeySpec, source: ConfigSource, origin: string, value: unknown): ConfigProblem {
  return {
    key: spec.key,
    source,
    origin,
    value,
    allowed: spec.allowed,
    message: `${origin} = ${showValue(value)}: ${spec.key} must be ${spec.allowed}`,
  };
}

/**
 * Reads a config object as written in a file's `pool` section or passed in code: typed values,
 * unknown keys reported. `where(path)` names the place of a key for messages.
 */
export function objectLayer(input: unknown, source: 'file' | 'code', where: (path: string) => string): Layer {
  const layer: Layer = { entries: [], problems: [] };
  if (input === undefined) return layer;
  if (!isPlainObject(input)) {
    layer.problems.push({
      key: '',
      source,
      origin: where(''),
      value: input,
      allowed: 'an object',
      message: `${where('')} = ${showValue(input)}: must be an object`,
    });
    return layer;
  }
  const topKeys = [...new Set(poolKeySpecs.map((s) => s.key.split('.')[0]!))];
  for (const [name, value] of Object.entries(input)) {
    // Code often spreads optional settings; an undefined value means "not set here".
    if (value === undefined) continue;
    if (name === 'resourceLimits') {
      readNested(value, source, where, layer);
      continue;
    }
    const spec = poolKeySpecs.find((s) => s.key === name);
    if (spec === undefined) layer.problems.push(unknownProblem(name, topKeys, source, where(name), value));
    else addChecked(layer, spec, source, where(name), spec.check(value), value);
  }
  return layer;
}

function readNested(value: unknown, source: 'file' | 'code', where: (path: string) => string, layer: Layer): void {
  const origin = where('resourceLimits');
  if (!isPlainObject(value)) {
    layer.problems.push({
      key: 'resourceLimits',
      source,
      origin,
      value,
      allowed: 'an object',
      message: `${origin} = ${showValue(value)}: resourceLimits must be an object`,
    });
    return;
  }
  const subKeys = poolKeySpecs
    .filter((s) => s.key.startsWith('resourceLimits.'))
    .map((s) => s.key.slice('resourceLimits.'.length));
  for (const [sub, subValue] of Object.entries(value)) {
    if (subValue === undefined) continue;
    const path = `resourceLimits.${sub}`;
    const spec = poolKeySpecs.find((s) => s.key === path);
    if (spec === undefined)
      layer.problems.push(
        unknownProblem(
          path,
          subKeys.map((k) => `resourceLimits.${k}`),
          source,
          where(path),
          subValue,
        ),
      );
    else addChecked(layer, spec, source, where(path), spec.check(subValue), subValue);
  }
}

function addChecked(
  layer: Layer,
  spec: PoolKeySpec,
  source: ConfigSource,
  origin: string,
  result: ReturnType<PoolKeySpec['check']>,
  raw: unknown,
): void {
  if (result.ok) layer.entries.push({ key: spec.key, value: result.value, source, origin });
  else layer.problems.push(valueProblem(spec, source, origin, raw));
}

/**
 * Splits a config file into the layers for one pool: its `pool` section, then `pools[name]` on
 * top. Other top-level keys belong to other parts of albany and are left alone.
 */
export function fileLayers(file: LoadedConfigFile, name: string | undefined): Layer[] {
  const at = (prefix: string) => (path: string) => `file ${file.display} ${path ? `${prefix}.${path}` : prefix}`;
  if (!isPlainObject(file.data)) {
    const origin = `file ${file.display}`;
    return [
      {
        entries: [],
        problems: [
          {
            key: '',
            source: 'file',
            origin,
            value: file.data,
            allowed: 'an object',
            message: `${origin}: the config must be an object`,
          },
        ],
      },
    ];
  }
  const layers = [objectLayer(file.data['pool'], 'file', at('pool'))];
  const pools = file.data['pools'];
  if (pools !== undefined && !isPlainObject(pools)) {
    const origin = `file ${file.display} pools`;
    layers.push({
      entries: [],
      problems: [
        {
          key: 'pools',
          source: 'file',
          origin,
          value: pools,
          allowed: 'an object of named pool configs',
          message: `${origin} = ${showValue(pools)}: must be an object of named pool configs`,
        },
      ],
    });
  } else if (pools !== undefined && name !== undefined && Object.hasOwn(pools, name)) {
    layers.push(objectLayer(pools[name], 'file', at(`pools.${name}`)));
  }
  return layers;
}

/**
 * Reads the `ALBANY_POOL_*` variables from an env record (pass `process.env`). Empty values count
 * as unset, the way shells use `VAR=` to clear one; other `ALBANY_POOL_*` names are reported so a
 * typo does not go unnoticed.
 */
export function envLayer(env: Readonly<Record<string, string | undefined>>): Layer {
  const layer: Layer = { entries: [], problems: [] };
  for (const spec of poolKeySpecs) {
    const text = env[spec.env];
    if (text === undefined || text === '') continue;
    addChecked(layer, spec, 'env', `env ${spec.env}`, spec.parse(text), text);
  }
  const names = poolKeySpecs.map((s) => s.env);
  for (const [name, text] of Object.entries(env)) {
    if (name.startsWith('ALBANY_POOL_') && !names.includes(name) && text !== undefined && text !== '') {
      layer.problems.push(unknownProblem(name, names, 'env', `env ${name}`, text));
    }
  }
  return layer;
}

/** A pool name as it appears in env names: `reports-eu` → `REPORTS_EU`. */
export function poolEnvName(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9]+/g, '_');
}

/** `ALBANY_POOL_MAX_THREADS` → `MAX_THREADS`. */
const envSuffixes = poolKeySpecs.map((s) => s.env.slice('ALBANY_POOL_'.length));

/**
 * Reads the `ALBANY_POOLS_<NAME>_*` variables of one named pool (e.g. `ALBANY_POOLS_REPORTS_MAX_THREADS`
 * for pool "reports"); they apply on top of `ALBANY_POOL_*`. A variable under the pool's prefix that
 * names no key is reported, unless it ends in a key (it may then belong to a pool whose name
 * extends this one, like `reports_eu`).
 */
export function namedEnvLayer(env: Readonly<Record<string, string | undefined>>, name: string): Layer {
  const layer: Layer = { entries: [], problems: [] };
  const prefix = `ALBANY_POOLS_${poolEnvName(name)}_`;
  for (const spec of poolKeySpecs) {
    const variable = prefix + spec.env.slice('ALBANY_POOL_'.length);
    const text = env[variable];
    if (text === undefined || text === '') continue;
    addChecked(layer, spec, 'env', `env ${variable}`, spec.parse(text), text);
  }
  for (const [variable, text] of Object.entries(env)) {
    if (!variable.startsWith(prefix) || text === undefined || text === '') continue;
    const rest = variable.slice(prefix.length);
    if (envSuffixes.includes(rest) || envSuffixes.some((k) => rest.endsWith(`_${k}`))) continue;
    layer.problems.push(
      unknownProblem(
        variable,
        envSuffixes.map((k) => prefix + k),
        'env',
        `env ${variable}`,
        text,
      ),
    );
  }
  return layer;
}

/** The set (non-empty) `ALBANY_POOLS_*` variables of an env record. */
export function namedEnvVariables(env: Readonly<Record<string, string | undefined>>): string[] {
  return Object.keys(env).filter((k) => k.startsWith('ALBANY_POOLS_') && env[k] !== undefined && env[k] !== '');
}

/** The pool names a config file has sections for under `pools` (none when it has no such object). */
export function poolSectionNames(file: LoadedConfigFile): string[] {
  const data = file.data;
  if (!isPlainObject(data) || !isPlainObject(data['pools'])) return [];
  return Object.keys(data['pools']);
}

/** `poolMaxThreads` or `--pool-max-threads` → `pool-max-threads`; other names → undefined. */
function flagName(name: string): string | undefined {
  const kebab = name.replace(/^--/, '').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  return kebab.startsWith('pool-') ? kebab : undefined;
}

/**
 * Reads the `--pool-*` flags from an argv-like record (e.g. `parseArgs().values`); names may be
 * kebab-case or camelCase, other flags are ignored. A flag given twice arrives as an array: the
 * last one wins, as on most command lines.
 */
export function flagLayer(flags: Readonly<Record<string, unknown>>): Layer {
  const layer: Layer = { entries: [], problems: [] };
  const known = poolKeySpecs.map((s) => `--${s.flag}`);
  for (const [name, given] of Object.entries(flags)) {
    const flag = flagName(name);
    if (flag === undefined || given === undefined) continue;
    const origin = `flag --${flag}`;
    const spec = poolKeySpecs.find((s) => s.flag === flag);
    if (spec === undefined) {
      layer.problems.push(unknownProblem(`--${flag}`, known, 'flag', origin, given));
      continue;
    }
    const value = Array.isArray(given) ? given.at(-1) : given;
    const result =
      typeof value === 'string'
        ? spec.parse(value)
        : typeof value === 'number'
          ? spec.check(value)
          : ({ ok: false } as const);
    addChecked(layer, spec, 'flag', origin, result, value);
  }
  return layer;
}

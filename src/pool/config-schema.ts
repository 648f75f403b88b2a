// The one list of pool config keys: each key's env name, flag, default, parser and rule live together so no source can
// drift.
import { availableParallelism } from 'node:os';
import type { ConfigSource, PoolConfig, ResourceLimits } from './config-types.js';

/** A leaf key of {@link PoolConfig}; resource limits are addressed as `resourceLimits.<name>`. */
export type PoolConfigKey =
  | Exclude<keyof PoolConfig, 'resourceLimits'>
  | `resourceLimits.${keyof ResourceLimits & string}`;

/** The result of checking one value against a key's rule. */
export type CheckResult = { ok: true; value: unknown } | { ok: false };

/** Everything albany knows about one pool config key. */
export interface PoolKeySpec {
  /** Path in {@link PoolConfig}. */
  readonly key: PoolConfigKey;
  /** Environment variable that sets it. */
  readonly env: string;
  /** CLI flag that sets it, without the leading `--`. */
  readonly flag: string;
  /** One line for `--help`. */
  readonly description: string;
  /** What is allowed, in words, for error messages and help. */
  readonly allowed: string;
  /** Placeholder for the flag's value in help text. */
  readonly valueName: string;
  /** Checks a typed value (config file, code). */
  check(value: unknown): CheckResult;
  /** Checks a text value (environment, CLI flag). */
  parse(text: string): CheckResult;
}

// setTimeout silently turns delays above 2^31-1 ms into 1 ms, so a "very long" timeout would fire at once.
const MAX_TIMER_MS = 2_147_483_647;
const bad: CheckResult = { ok: false };

function integer(min: number, max = Number.MAX_SAFE_INTEGER): Pick<PoolKeySpec, 'check' | 'parse'> {
  const check = (v: unknown): CheckResult =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? { ok: true, value: v } : bad;
  // Number('') is 0 and Number('0x10') is 16: only plain decimal digits count as an integer here.
  return { check, parse: (t) => (/^\d+$/.test(t.trim()) ? check(Number(t.trim())) : bad) };
}

function positiveNumber(): Pick<PoolKeySpec, 'check' | 'parse'> {
  const check = (v: unknown): CheckResult =>
    typeof v === 'number' && Number.isFinite(v) && v > 0 ? { ok: true, value: v } : bad;
  return { check, parse: (t) => (/^\d+(\.\d+)?$/.test(t.trim()) ? check(Number(t.trim())) : bad) };
}

function integerOrAuto(min: number): Pick<PoolKeySpec, 'check' | 'parse'> {
  const int = integer(min);
  return {
    check: (v) => (v === 'auto' ? { ok: true, value: v } : int.check(v)),
    parse: (t) => (t.trim() === 'auto' ? { ok: true, value: 'auto' } : int.parse(t)),
  };
}

function oneOf(values: readonly string[]): Pick<PoolKeySpec, 'check' | 'parse'> {
  const check = (v: unknown): CheckResult =>
    typeof v === 'string' && values.includes(v) ? { ok: true, value: v } : bad;
  return { check, parse: (t) => check(t.trim()) };
}

function spec(
  key: PoolConfigKey,
  description: string,
  allowed: string,
  valueName: string,
  rule: Pick<PoolKeySpec, 'check' | 'parse'>,
): PoolKeySpec {
  const snake = key
    .replace(/^resourceLimits\./, '')
    .replace(/[A-Z]/g, (c) => `_${c}`)
    .toUpperCase();
  return {
    key,
    env: `ALBANY_POOL_${snake}`,
    flag: `pool-${snake.toLowerCase().replaceAll('_', '-')}`,
    description,
    allowed,
    valueName,
    ...rule,
  };
}

/** Every pool config key, in the order help text and `albany config --print` show them. */
export const poolKeySpecs: readonly PoolKeySpec[] = [
  spec('minThreads', 'Worker threads kept alive even when idle', 'an integer ≥ 0', 'n', integer(0)),
  spec('maxThreads', 'Most worker threads the pool starts', 'an integer ≥ 1', 'n', integer(1)),
  spec(
    'maxQueue',
    'Tasks that may wait for a thread before requests get 503',
    'an integer ≥ 0 or "auto" (128 per thread, at least 256)',
    'n|auto',
    integerOrAuto(0),
  ),
  spec(
    'idleTimeoutMs',
    'An idle thread above minThreads exits after this many ms',
    `an integer from 0 to ${MAX_TIMER_MS}`,
    'ms',
    integer(0, MAX_TIMER_MS),
  ),
  spec(
    'taskTimeoutMs',
    'A task running longer gets 504 and its worker is replaced (0 = no limit)',
    `an integer from 0 to ${MAX_TIMER_MS}`,
    'ms',
    integer(0, MAX_TIMER_MS),
  ),
  spec('concurrentTasksPerWorker', 'Tasks one worker runs at once', 'an integer ≥ 1', 'n', integer(1)),
  spec(
    'onDisconnect',
    'What happens to a running task whose client went away',
    '"finish" or "abort"',
    'finish|abort',
    oneOf(['finish', 'abort']),
  ),
  spec(
    'maxBatch',
    'Most queued tasks one hand-off to a thread carries (1 turns batching off)',
    'an integer from 1 to 1024',
    'n',
    integer(1, 1024),
  ),
  spec(
    'niceIncrement',
    'How much lower than the event loop worker threads run (Linux nice)',
    'an integer from 0 to 19',
    'n',
    integer(0, 19),
  ),
  spec(
    'resourceLimits.maxOldGenerationSizeMb',
    "Each worker's main heap limit in MB",
    'a number > 0',
    'mb',
    positiveNumber(),
  ),
  spec(
    'resourceLimits.maxYoungGenerationSizeMb',
    "Each worker's young-generation heap limit in MB",
    'a number > 0',
    'mb',
    positiveNumber(),
  ),
  spec(
    'resourceLimits.codeRangeSizeMb',
    "Each worker's pre-allocated code range in MB",
    'a number > 0',
    'mb',
    positiveNumber(),
  ),
  spec('resourceLimits.stackSizeMb', "Each worker's stack size in MB", 'a number > 0', 'mb', positiveNumber()),
];

/** Looks up a key's spec. */
export function specFor(key: PoolConfigKey): PoolKeySpec {
  return poolKeySpecs.find((s) => s.key === key)!;
}

/**
 * The defaults, chosen for blocking handlers rather than copied from piscina:
 *
 * - `minThreads: 1` — one warm worker so the first request does not pay for loading the handler
 *   module, without holding memory for threads an idle service does not use.
 * - `maxThreads: cores` — a blocked thread holds a core while it computes; more threads than cores
 *   only adds contention for CPU-bound handlers. Raise it for handlers that mostly wait on a
 *   synchronous driver.
 * - `maxQueue: 'auto'` (128 per thread, at least 256; see `effectiveMaxQueue`) — deep enough to
 *   absorb a burst as a listen backlog would, bounded so memory stays bounded and a sustained
 *   overload turns into fast 503s instead of ever-growing latency.
 * - `idleTimeoutMs: 30000` — piscina's 0 would tear threads down between bursts and reload the
 *   handler module each time.
 * - `taskTimeoutMs: 30000` — the same bound runSync uses; a handler blocked longer is presumed hung.
 * - `concurrentTasksPerWorker: 1` — a blocking handler occupies its thread; a second task sent to
 *   it would wait inside the worker, invisible to the queue limit and the timeout.
 * - `onDisconnect: 'finish'` — synchronous code cannot be cancelled, only its thread killed, which
 *   loses the warm worker and may cut a transaction in half.
 * - `resourceLimits: {}` — Node's own limits until the operator knows the handler's needs.
 * - `maxBatch: 32` — trivial handlers gain most of batching's throughput by then; more only
 *   lengthens what one slow request can hold up.
 * - `niceIncrement: 5` — handler threads yield the CPU to the event loop, so async routes stay
 *   fast while blocking work saturates every core (measured: /health p99 4–5 ms → 2–3 ms).
 *
 * @param cores the thread count to default `maxThreads` to; `os.availableParallelism()` when omitted.
 */
export function defaultPoolConfig(cores: number = availableParallelism()): PoolConfig {
  return {
    minThreads: 1,
    maxThreads: Math.max(1, Math.floor(cores)),
    maxQueue: 'auto',
    idleTimeoutMs: 30_000,
    taskTimeoutMs: 30_000,
    concurrentTasksPerWorker: 1,
    resourceLimits: {},
    onDisconnect: 'finish',
    maxBatch: 32,
    niceIncrement: 5,
  };
}

/** Where one merged value came from: the kind of source and a human-readable place in it. */
export interface ValueOrigin {
  /** The kind of source. */
  source: ConfigSource;
  /** E.g. `env ALBANY_POOL_MAX_THREADS`, `flag --pool-max-queue`, `file albany.config.json pool.maxThreads`. */
  origin: string;
}

/** One thing wrong in the pool config, as listed in the error's `details.problems`. */
export interface ConfigProblem {
  /** The config key (or, for unknown keys, the name as written). */
  key: string;
  /** The kind of source that held it. */
  source: ConfigSource;
  /** Where exactly, e.g. `env ALBANY_POOL_MAX_THREADS`. */
  origin: string;
  /** The value given. */
  value: unknown;
  /** What is allowed instead. */
  allowed: string;
  /** The problem as one line. */
  message: string;
}

/** Reads a leaf key out of a config object. */
export function getKey(config: PoolConfig, key: PoolConfigKey): unknown {
  if (key.startsWith('resourceLimits.')) {
    return config.resourceLimits[key.slice('resourceLimits.'.length) as keyof ResourceLimits];
  }
  return config[key as Exclude<PoolConfigKey, `resourceLimits.${string}`>];
}

/** Writes a leaf key into a config object (the value is already checked). */
export function setKey(config: PoolConfig, key: PoolConfigKey, value: unknown): void {
  if (key.startsWith('resourceLimits.')) {
    (config.resourceLimits as Record<string, unknown>)[key.slice('resourceLimits.'.length)] = value;
  } else {
    (config as unknown as Record<string, unknown>)[key] = value;
  }
}

/** Shows a value the way it was written, short enough for a one-line message. */
export function showValue(value: unknown): string {
  let text: string;
  try {
    // JSON would print NaN and Infinity as null, hiding the actual mistake.
    text = typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

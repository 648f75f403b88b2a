// Proves the pool config merge order, per-pool sections, every validation rule and the --print text.
import test from 'ava';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AlbanyError } from '../../src/errors.js';
import {
  parsePoolFlags,
  poolFlagSpecs,
  poolParseArgsOptions,
  resolvePoolConfig,
  toPiscinaOptions,
  type ResolvePoolConfigOptions,
} from '../../src/pool/config.js';
import { formatConfig } from '../../src/pool/config-format.js';
import { resetPoolConfigSource, setPoolConfigSource, unusedPoolSettings } from '../../src/pool/config-process.js';
import { createPool } from '../../src/pool/pool.js';
import { offload } from '../../src/pool/offload.js';
import { legacy } from '../../legacy-adapter/index.js';
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { ConfigProblem } from '../../src/pool/config-schema.js';

const fixtures = fileURLToPath(new URL('../fixtures/config/', import.meta.url));

async function dirWith(files: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'albany-config-'));
  for (const [name, content] of Object.entries(files)) {
    await writeFile(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return dir;
}

async function problemsOf(options: ResolvePoolConfigOptions): Promise<{ message: string; problems: ConfigProblem[] }> {
  const err = await resolvePoolConfig({ cores: 4, ...options }).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!AlbanyError.is(err)) throw new Error(`expected an AlbanyError, got ${String(err)}`);
  if (err.code !== 'ERR_ALBANY_INVALID_CONFIG') throw new Error(`unexpected code ${err.code}`);
  return { message: err.message, problems: err.details!['problems'] as ConfigProblem[] };
}

test('with no sources the defaults apply and say so', async (t) => {
  const r = await resolvePoolConfig({ cores: 4 });
  t.deepEqual(r.config, {
    minThreads: 1,
    maxThreads: 4,
    maxQueue: 'auto',
    idleTimeoutMs: 30_000,
    taskTimeoutMs: 30_000,
    concurrentTasksPerWorker: 1,
    resourceLimits: {},
    onDisconnect: 'finish',
    maxBatch: 32,
    niceIncrement: 5,
  });
  t.is(r.file, undefined);
  t.true(Object.values(r.sources).every((s) => s.source === 'default'));
});

test('each source beats the one before: default < file < env < flag < code', async (t) => {
  const cwd = await dirWith({ 'albany.config.json': { pool: { maxThreads: 2, minThreads: 2 } } });
  const env = { ALBANY_POOL_MAX_THREADS: '3' };
  const flags = { 'pool-max-threads': '4' };
  const code = { maxThreads: 5 };
  const cases = [
    { options: {}, value: 4, origin: 'default (available cores)' },
    { options: { cwd }, value: 2, origin: 'file albany.config.json pool.maxThreads' },
    { options: { cwd, env }, value: 3, origin: 'env ALBANY_POOL_MAX_THREADS' },
    { options: { cwd, env, flags }, value: 4, origin: 'flag --pool-max-threads' },
    { options: { cwd, env, flags, code }, value: 5, origin: 'code maxThreads' },
  ];
  for (const c of cases) {
    const r = await resolvePoolConfig({ cores: 4, ...c.options });
    t.is(r.config.maxThreads, c.value, c.origin);
    t.is(r.sources.maxThreads.origin, c.origin);
  }
  const all = await resolvePoolConfig({ cwd, env, flags, code });
  t.is(all.config.minThreads, 2, 'keys not overridden keep the file value');
  t.is(all.sources.minThreads.source, 'file');
});

test('a .mjs config file in cwd is imported and its default export used', async (t) => {
  const r = await resolvePoolConfig({ cwd: join(fixtures, 'mjs'), cores: 8 });
  t.is(r.config.maxThreads, 3);
  t.deepEqual(r.config.resourceLimits, { maxOldGenerationSizeMb: 256 });
  t.is(
    r.sources['resourceLimits.maxOldGenerationSizeMb'].origin,
    'file albany.config.mjs pool.resourceLimits.maxOldGenerationSizeMb',
  );
  t.is(r.file, join(fixtures, 'mjs', 'albany.config.mjs'));
});

test('--config points at another file, relative to cwd, instead of the one in cwd', async (t) => {
  const cwd = await dirWith({
    'albany.config.json': { pool: { maxThreads: 2 } },
    'other.json': { pool: { maxThreads: 7 } },
  });
  const r = await resolvePoolConfig({ cwd, configPath: 'other.json' });
  t.is(r.config.maxThreads, 7);
  t.is(r.sources.maxThreads.origin, 'file other.json pool.maxThreads');
  const mjs = await resolvePoolConfig({ cwd, configPath: join(fixtures, 'mjs', 'albany.config.mjs') });
  t.is(mjs.config.maxThreads, 3);
});

test('a named pool takes pools[name] on top of pool; other pools keep pool alone', async (t) => {
  const cwd = await dirWith({
    'albany.config.json': {
      pool: { maxThreads: 4, taskTimeoutMs: 5000 },
      pools: { reports: { maxThreads: 1, resourceLimits: { stackSizeMb: 8 } }, api: { onDisconnect: 'abort' } },
    },
  });
  const reports = await resolvePoolConfig({ cwd, name: 'reports', env: { ALBANY_POOL_TASK_TIMEOUT_MS: '9000' } });
  t.is(reports.config.maxThreads, 1);
  t.is(reports.sources.maxThreads.origin, 'file albany.config.json pools.reports.maxThreads');
  t.is(reports.config.taskTimeoutMs, 9000, 'env still beats the per-pool file section');
  t.deepEqual(reports.config.resourceLimits, { stackSizeMb: 8 });
  const api = await resolvePoolConfig({ cwd, name: 'api' });
  t.is(api.config.maxThreads, 4);
  t.is(api.config.onDisconnect, 'abort');
  t.deepEqual(api.config.resourceLimits, {});
  const other = await resolvePoolConfig({ cwd, name: 'other' });
  t.is(other.config.taskTimeoutMs, 5000);
  t.is(other.sources.taskTimeoutMs.origin, 'file albany.config.json pool.taskTimeoutMs');
});

test('resource limits merge key by key across sources', async (t) => {
  const cwd = await dirWith({
    'albany.config.json': { pool: { resourceLimits: { maxOldGenerationSizeMb: 128, stackSizeMb: 4 } } },
  });
  const r = await resolvePoolConfig({
    cwd,
    env: { ALBANY_POOL_MAX_YOUNG_GENERATION_SIZE_MB: '16' },
    flags: { 'pool-max-old-generation-size-mb': '512' },
    code: { resourceLimits: { codeRangeSizeMb: 32 } },
  });
  t.deepEqual(r.config.resourceLimits, {
    maxOldGenerationSizeMb: 512,
    stackSizeMb: 4,
    maxYoungGenerationSizeMb: 16,
    codeRangeSizeMb: 32,
  });
  t.is(r.sources['resourceLimits.stackSizeMb'].source, 'file');
  t.is(r.sources['resourceLimits.maxOldGenerationSizeMb'].origin, 'flag --pool-max-old-generation-size-mb');
});

test('env and flag text is parsed per key; empty env values count as unset', async (t) => {
  const r = await resolvePoolConfig({
    cores: 2,
    env: {
      ALBANY_POOL_MIN_THREADS: '',
      ALBANY_POOL_MAX_QUEUE: '0',
      ALBANY_POOL_IDLE_TIMEOUT_MS: ' 1000 ',
      ALBANY_POOL_ON_DISCONNECT: 'abort',
      ALBANY_POOL_STACK_SIZE_MB: '2.5',
      PATH: '/usr/bin',
    },
    flags: { poolConcurrentTasksPerWorker: '2', '--pool-task-timeout-ms': ['10', '0'], port: '8000' },
  });
  t.is(r.config.minThreads, 1);
  t.is(r.sources.minThreads.source, 'default');
  t.is(r.config.maxQueue, 0);
  t.is(r.config.idleTimeoutMs, 1000);
  t.is(r.config.onDisconnect, 'abort');
  t.is(r.config.resourceLimits.stackSizeMb, 2.5);
  t.is(r.config.concurrentTasksPerWorker, 2);
  t.is(r.config.taskTimeoutMs, 0, 'a repeated flag: the last one wins');
});

test('minThreads above the default maxThreads raises it; above an explicit one it is an error', async (t) => {
  const raised = await resolvePoolConfig({ cores: 2, env: { ALBANY_POOL_MIN_THREADS: '6' } });
  t.is(raised.config.maxThreads, 6);
  t.is(raised.sources.maxThreads.origin, 'default (raised to minThreads)');
  const { problems, message } = await problemsOf({
    env: { ALBANY_POOL_MIN_THREADS: '6' },
    flags: { 'pool-max-threads': '2' },
  });
  t.is(problems.length, 1);
  t.is(problems[0]!.key, 'minThreads');
  t.is(problems[0]!.origin, 'env ALBANY_POOL_MIN_THREADS');
  t.regex(
    message,
    /env ALBANY_POOL_MIN_THREADS = 6: minThreads must be ≤ maxThreads, which is 2 from flag --pool-max-threads/,
  );
});

// One row per rule: where the bad value is, the key blamed, its origin and words the message must hold.
const invalidCases: Array<{
  title: string;
  options?: ResolvePoolConfigOptions;
  file?: unknown;
  key: string;
  origin: string;
  says: string[];
}> = [
  {
    title: 'maxThreads 0 in env',
    options: { env: { ALBANY_POOL_MAX_THREADS: '0' } },
    key: 'maxThreads',
    origin: 'env ALBANY_POOL_MAX_THREADS',
    says: ['"0"', 'an integer ≥ 1'],
  },
  {
    title: 'maxThreads not a number',
    options: { env: { ALBANY_POOL_MAX_THREADS: 'lots' } },
    key: 'maxThreads',
    origin: 'env ALBANY_POOL_MAX_THREADS',
    says: ['"lots"'],
  },
  {
    title: 'minThreads fractional',
    options: { env: { ALBANY_POOL_MIN_THREADS: '1.5' } },
    key: 'minThreads',
    origin: 'env ALBANY_POOL_MIN_THREADS',
    says: ['an integer ≥ 0'],
  },
  {
    title: 'maxQueue negative',
    options: { env: { ALBANY_POOL_MAX_QUEUE: '-1' } },
    key: 'maxQueue',
    origin: 'env ALBANY_POOL_MAX_QUEUE',
    says: ['"auto"'],
  },
  {
    title: 'maxQueue misspelt auto',
    options: { flags: { 'pool-max-queue': 'automatic' } },
    key: 'maxQueue',
    origin: 'flag --pool-max-queue',
    says: ['"automatic"'],
  },
  {
    title: 'maxQueue in hex',
    options: { flags: { 'pool-max-queue': '0x10' } },
    key: 'maxQueue',
    origin: 'flag --pool-max-queue',
    says: ['"0x10"'],
  },
  {
    title: 'idle timeout beyond the timer range',
    options: { flags: { 'pool-idle-timeout-ms': '2147483648' } },
    key: 'idleTimeoutMs',
    origin: 'flag --pool-idle-timeout-ms',
    says: ['0 to 2147483647'],
  },
  {
    title: 'task timeout flag without a value',
    options: { flags: { 'pool-task-timeout-ms': true } },
    key: 'taskTimeoutMs',
    origin: 'flag --pool-task-timeout-ms',
    says: ['= true'],
  },
  {
    title: 'concurrentTasksPerWorker 0',
    options: { flags: { 'pool-concurrent-tasks-per-worker': '0' } },
    key: 'concurrentTasksPerWorker',
    origin: 'flag --pool-concurrent-tasks-per-worker',
    says: ['an integer ≥ 1'],
  },
  {
    title: 'onDisconnect unknown word',
    options: { env: { ALBANY_POOL_ON_DISCONNECT: 'kill' } },
    key: 'onDisconnect',
    origin: 'env ALBANY_POOL_ON_DISCONNECT',
    says: ['"finish" or "abort"'],
  },
  {
    title: 'heap limit 0',
    options: { flags: { 'pool-max-old-generation-size-mb': '0' } },
    key: 'resourceLimits.maxOldGenerationSizeMb',
    origin: 'flag --pool-max-old-generation-size-mb',
    says: ['a number > 0'],
  },
  {
    title: 'maxThreads fractional in code',
    options: { code: { maxThreads: 2.5 } },
    key: 'maxThreads',
    origin: 'code maxThreads',
    says: ['2.5'],
  },
  {
    title: 'maxQueue NaN in code',
    options: { code: { maxQueue: Number.NaN } },
    key: 'maxQueue',
    origin: 'code maxQueue',
    says: ['NaN'],
  },
  {
    title: 'onDisconnect wrong case in code',
    options: { code: { onDisconnect: 'Finish' as 'finish' } },
    key: 'onDisconnect',
    origin: 'code onDisconnect',
    says: ['"Finish"'],
  },
  {
    title: 'stack size negative in code',
    options: { code: { resourceLimits: { stackSizeMb: -1 } } },
    key: 'resourceLimits.stackSizeMb',
    origin: 'code resourceLimits.stackSizeMb',
    says: ['-1'],
  },
  {
    title: 'unknown key in code',
    options: { code: { maxThread: 3 } as object },
    key: 'maxThread',
    origin: 'code maxThread',
    says: ['unknown key', 'did you mean maxThreads?'],
  },
  {
    title: 'unknown resource limit in code',
    options: { code: { resourceLimits: { heapMb: 3 } as object } },
    key: 'resourceLimits.heapMb',
    origin: 'code resourceLimits.heapMb',
    says: ['unknown key'],
  },
  {
    title: 'unknown ALBANY_POOL_ variable',
    options: { env: { ALBANY_POOL_MAX_THREAD: '2' } },
    key: 'ALBANY_POOL_MAX_THREAD',
    origin: 'env ALBANY_POOL_MAX_THREAD',
    says: ['did you mean ALBANY_POOL_MAX_THREADS?'],
  },
  {
    title: 'unknown --pool- flag',
    options: { flags: { 'pool-max-thread': '2' } },
    key: '--pool-max-thread',
    origin: 'flag --pool-max-thread',
    says: ['did you mean --pool-max-threads?'],
  },
  {
    title: 'number as a string in the file',
    file: { pool: { maxThreads: '4' } },
    key: 'maxThreads',
    origin: 'file albany.config.json pool.maxThreads',
    says: ['"4"', 'an integer ≥ 1'],
  },
  {
    title: 'unknown key in the file',
    file: { pool: { maxThred: 4 } },
    key: 'maxThred',
    origin: 'file albany.config.json pool.maxThred',
    says: ['did you mean maxThreads?'],
  },
  {
    title: 'null in the file',
    file: { pool: { idleTimeoutMs: null } },
    key: 'idleTimeoutMs',
    origin: 'file albany.config.json pool.idleTimeoutMs',
    says: ['null'],
  },
  {
    title: 'pool section not an object',
    file: { pool: [1] },
    key: '',
    origin: 'file albany.config.json pool',
    says: ['must be an object'],
  },
  {
    title: 'pools not an object',
    file: { pools: 3 },
    key: 'pools',
    origin: 'file albany.config.json pools',
    says: ['named pool configs'],
  },
  {
    title: 'resourceLimits not an object in a named pool',
    file: { pools: { reports: { resourceLimits: 5 } } },
    key: 'resourceLimits',
    origin: 'file albany.config.json pools.reports.resourceLimits',
    says: ['must be an object'],
  },
  {
    title: 'the whole file not an object',
    file: [],
    key: '',
    origin: 'file albany.config.json',
    says: ['must be an object'],
  },
];

for (const c of invalidCases) {
  test(`invalid: ${c.title}`, async (t) => {
    const cwd = c.file === undefined ? undefined : await dirWith({ 'albany.config.json': c.file });
    const { problems, message } = await problemsOf({
      ...c.options,
      ...(cwd === undefined ? {} : { cwd }),
      name: 'reports',
    });
    t.is(problems.length, 1, message);
    t.is(problems[0]!.key, c.key);
    t.is(problems[0]!.origin, c.origin);
    t.true(problems[0]!.allowed.length > 0);
    t.true(message.includes(c.origin), message);
    t.true(message.startsWith('Invalid config of pool "reports" (1 problem):'), message);
    for (const words of c.says) t.true(message.includes(words), `${message}\nlacks ${words}`);
  });
}

test('one error names every bad key with its source, even values a later source overrides', async (t) => {
  const cwd = await dirWith({ 'albany.config.json': { pool: { maxThreads: -2, onDisconnect: 'stop' } } });
  const { problems, message } = await problemsOf({
    cwd,
    env: { ALBANY_POOL_MAX_QUEUE: 'big' },
    flags: { 'pool-max-threads': '2', 'pool-idle-timeout-ms': 'soon' },
    code: { taskTimeoutMs: -5 },
  });
  t.deepEqual(
    problems.map((p) => [p.key, p.source, p.origin, p.value]),
    [
      ['maxThreads', 'file', 'file albany.config.json pool.maxThreads', -2],
      ['onDisconnect', 'file', 'file albany.config.json pool.onDisconnect', 'stop'],
      ['maxQueue', 'env', 'env ALBANY_POOL_MAX_QUEUE', 'big'],
      ['idleTimeoutMs', 'flag', 'flag --pool-idle-timeout-ms', 'soon'],
      ['taskTimeoutMs', 'code', 'code taskTimeoutMs', -5],
    ],
  );
  t.true(message.startsWith('Invalid pool config (5 problems):\n'));
  t.is(message.split('\n').length, 6);
});

test('a config file that cannot be read fails with the file named', async (t) => {
  const broken = await dirWith({ 'albany.config.json': '{ "pool": ' });
  const twice = await dirWith({ 'albany.config.json': '{}', 'albany.config.js': 'export default {}' });
  const cases: Array<[ResolvePoolConfigOptions, RegExp]> = [
    [{ cwd: broken }, /albany\.config\.json is not valid JSON/],
    [{ cwd: twice }, /several config files.*albany\.config\.json.*albany\.config\.js/],
    [{ cwd: broken, configPath: 'missing.json' }, /missing\.json \(from --config\) does not exist/],
    [{ cwd: join(fixtures, 'no-default') }, /albany\.config\.mjs has no default export/],
  ];
  for (const [options, pattern] of cases) {
    const err = await t.throwsAsync(resolvePoolConfig(options));
    t.is((err as AlbanyError).code, 'ERR_ALBANY_INVALID_CONFIG');
    t.regex(err!.message, pattern);
  }
});

test('formatConfig shows every merged value and where it came from', async (t) => {
  const cwd = await dirWith({
    'albany.config.json': { pool: { taskTimeoutMs: 5000 }, pools: { reports: { maxThreads: 2 } } },
  });
  const base = await resolvePoolConfig({ cwd, cores: 4, env: { ALBANY_POOL_MAX_QUEUE: '10' } });
  const reports = await resolvePoolConfig({ cwd, cores: 4, name: 'reports', flags: { 'pool-on-disconnect': 'abort' } });
  const text = formatConfig([base, reports]);
  const lines = text.split('\n');
  t.is(lines[0], `pool (file ${join(cwd, 'albany.config.json')})`);
  t.regex(text, /^ {2}maxQueue +10 +env ALBANY_POOL_MAX_QUEUE$/m);
  t.regex(text, /^ {2}taskTimeoutMs +5000 +file albany\.config\.json pool\.taskTimeoutMs$/m);
  t.regex(text, /^ {2}maxThreads +4 +default \(available cores\)$/m);
  t.regex(text, /^pool "reports" \(file .*\)$/m);
  t.regex(text, /^ {2}maxThreads +2 +file albany\.config\.json pools\.reports\.maxThreads$/m);
  t.regex(text, /^ {2}maxQueue +auto \(256\) +default$/m);
  t.regex(text, /^ {2}onDisconnect +abort +flag --pool-on-disconnect$/m);
  t.regex(text, /^ {2}resourceLimits\.stackSizeMb +\(node's default\) +default$/m);
  t.true(text.endsWith('\n'));
});

test('parsePoolFlags reads --pool-* flags from a parseArgs result and rejects bad ones', (t) => {
  const { values } = parseArgs({
    args: ['--pool-max-threads', '6', '--pool-max-queue', 'auto', '--port', '80', '--pool-stack-size-mb', '1'],
    options: { ...poolParseArgsOptions, port: { type: 'string' } },
  });
  t.deepEqual(parsePoolFlags(values), { maxThreads: 6, maxQueue: 'auto', resourceLimits: { stackSizeMb: 1 } });
  const err = t.throws(() => parsePoolFlags({ 'pool-max-threads': 'x', 'pool-bogus': '1' }));
  t.is((err as AlbanyError).code, 'ERR_ALBANY_INVALID_CONFIG');
  t.regex(err!.message, /flag --pool-max-threads = "x"/);
  t.regex(err!.message, /flag --pool-bogus: unknown key/);
});

test('poolFlagSpecs lists one flag and one env variable per key, with help text', (t) => {
  t.is(new Set(poolFlagSpecs.map((s) => s.flag)).size, poolFlagSpecs.length);
  t.is(new Set(poolFlagSpecs.map((s) => s.env)).size, poolFlagSpecs.length);
  const max = poolFlagSpecs.find((s) => s.key === 'maxThreads')!;
  t.like(max, { flag: '--pool-max-threads', name: 'pool-max-threads', env: 'ALBANY_POOL_MAX_THREADS' });
  const heap = poolFlagSpecs.find((s) => s.key === 'resourceLimits.maxOldGenerationSizeMb')!;
  t.like(heap, { flag: '--pool-max-old-generation-size-mb', env: 'ALBANY_POOL_MAX_OLD_GENERATION_SIZE_MB' });
  for (const s of poolFlagSpecs) t.true(s.description.length > 0 && s.allowed.length > 0);
});

test('toPiscinaOptions maps names and leaves out unset resource limits', async (t) => {
  const { config } = await resolvePoolConfig({
    cores: 2,
    code: { idleTimeoutMs: 5, resourceLimits: { maxOldGenerationSizeMb: 64 } },
  });
  t.deepEqual(toPiscinaOptions(config), {
    minThreads: 1,
    maxThreads: 2,
    maxQueue: 'auto',
    idleTimeout: 5,
    concurrentTasksPerWorker: 1,
    resourceLimits: { maxOldGenerationSizeMb: 64 },
  });
  const plain = toPiscinaOptions((await resolvePoolConfig({ cores: 2 })).config);
  t.false('resourceLimits' in plain);
  t.false('taskTimeoutMs' in plain);
});

// --- every pool reads the layers: createPool, legacy(), offload(), and the CLI ---------------------

const repo = fileURLToPath(new URL('../../', import.meta.url));
const tsx = import.meta.resolve('tsx');

interface Child {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node --import tsx <args>` in `cwd` with exactly `env` (plus PATH), up to `ms`. */
function node(
  args: string[],
  cwd: string,
  env: Record<string, string>,
  ms = 30_000,
): Promise<Child> & { kill(): void; output(): string } {
  const child = spawn(process.execPath, ['--import', tsx, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), ms);
  const done = new Promise<Child>((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    }),
  );
  return Object.assign(done, { kill: () => child.kill('SIGTERM'), output: () => stdout + stderr });
}

const cli = join(repo, 'src/cli.ts');

test.serial(
  'createPool({ name }) merges defaults < file pool < file pools.name < env < named env < flags < code',
  async (t) => {
    t.teardown(resetPoolConfigSource);
    const cwd = await dirWith({
      'albany.config.json': {
        pool: { minThreads: 0, maxThreads: 2, idleTimeoutMs: 1000, taskTimeoutMs: 1000, maxQueue: 1, maxBatch: 4 },
        pools: { reports: { maxThreads: 3, idleTimeoutMs: 2000, taskTimeoutMs: 2000, maxQueue: 2, maxBatch: 8 } },
      },
    });
    await setPoolConfigSource({
      cwd,
      env: {
        ALBANY_POOL_TASK_TIMEOUT_MS: '3000',
        ALBANY_POOL_MAX_QUEUE: '3',
        ALBANY_POOLS_REPORTS_MAX_QUEUE: '4',
        ALBANY_POOLS_REPORTS_NICE_INCREMENT: '7',
      },
      flags: { 'pool-max-queue': '5', 'pool-max-batch': '16' },
    });
    const reports = createPool({ name: 'reports', maxBatch: 2 });
    t.teardown(() => reports.close());
    t.is(reports.name, 'reports');
    t.is(reports.config.minThreads, 0, 'file pool');
    t.is(reports.config.maxThreads, 3, 'file pools.reports over file pool');
    t.is(reports.config.idleTimeoutMs, 2000, 'file pools.reports');
    t.is(reports.config.taskTimeoutMs, 3000, 'env ALBANY_POOL_* over the file');
    t.is(reports.config.niceIncrement, 7, 'env ALBANY_POOLS_REPORTS_*');
    t.is(reports.config.maxQueue, 5, 'flag over both env variables');
    t.is(reports.config.maxBatch, 2, 'code over the flag');
    const other = createPool({ name: 'other' });
    t.teardown(() => other.close());
    t.is(other.config.maxThreads, 2, 'another name keeps the file pool section');
    t.is(other.config.niceIncrement, 5, 'and not the reports variables');
    const unnamed = createPool();
    t.teardown(() => unnamed.close());
    t.is(unnamed.config.maxQueue, 5, 'an unnamed pool reads the flags too');
    const bare = createPool({ maxThreads: 1 }, { configSources: false });
    t.teardown(() => bare.close());
    t.is(bare.config.maxQueue, 'auto', 'configSources: false ignores file, env and flags');
  },
);

test.serial(
  'legacy(url, { pool: { name } }) and offload(url, fn, { pool: name }) build their pools with the same layers',
  async (t) => {
    t.teardown(resetPoolConfigSource);
    const cwd = await dirWith({
      'albany.config.json': { pools: { mounted: { maxThreads: 3 }, calls: { maxThreads: 1, taskTimeoutMs: 4321 } } },
    });
    await setPoolConfigSource({ cwd, env: { ALBANY_POOLS_MOUNTED_MIN_THREADS: '0' }, flags: {} });
    const app = legacy(new URL('../fixtures/legacy/plain.ts', import.meta.url), {
      pool: { name: 'mounted', maxQueue: 9 },
    });
    t.teardown(() => app.close());
    t.is(app.pool.name, 'mounted');
    t.is(app.pool.config.maxThreads, 3);
    t.is(app.pool.config.minThreads, 0);
    t.is(app.pool.config.maxQueue, 9);
    const echo = offload(new URL('../fixtures/offload/functions.ts', import.meta.url), 'echo', { pool: 'calls' });
    t.teardown(() => echo.pool.close());
    t.is(echo.pool.name, 'calls');
    t.is(echo.pool.config.taskTimeoutMs, 4321);
    t.deepEqual(unusedPoolSettings(), [], 'both sections are in use');
  },
);

test.serial('a bad value in a pools.<name> section or a named env variable fails that pool, naming it', async (t) => {
  t.teardown(resetPoolConfigSource);
  const cwd = await dirWith({ 'albany.config.json': { pools: { x: { maxBatch: 0, niceIncrement: 20 } } } });
  await setPoolConfigSource({ cwd, env: { ALBANY_POOLS_X_MAX_THREADZ: '2' }, flags: {} });
  const err = t.throws(() => createPool({ name: 'x' }));
  t.true(AlbanyError.is(err));
  t.is((err as AlbanyError).code, 'ERR_ALBANY_INVALID_CONFIG');
  t.regex(err!.message, /config of pool "x" \(3 problems\)/);
  t.regex(err!.message, /file albany\.config\.json pools\.x\.maxBatch = 0: maxBatch must be an integer from 1 to 1024/);
  t.regex(
    err!.message,
    /file albany\.config\.json pools\.x\.niceIncrement = 20: niceIncrement must be an integer from 0 to 19/,
  );
  t.regex(err!.message, /env ALBANY_POOLS_X_MAX_THREADZ: unknown key \(did you mean ALBANY_POOLS_X_MAX_THREADS\?\)/);
  t.notThrows(() => createPool({ name: 'y' }, { configSources: false }).close());
});

test.serial('pools.<name> sections and ALBANY_POOLS_* variables no pool declared are listed as unused', async (t) => {
  t.teardown(resetPoolConfigSource);
  const cwd = await dirWith({
    'albany.config.json': { pools: { declared: { maxThreads: 1 }, typo: { maxThreads: 1 } } },
  });
  await setPoolConfigSource({
    cwd,
    env: { ALBANY_POOLS_DECLARED_MAX_THREADS: '1', ALBANY_POOLS_GHOST_MAX_THREADS: '1' },
    flags: {},
  });
  const p = createPool({ name: 'declared' });
  t.teardown(() => p.close());
  const unused = unusedPoolSettings();
  t.is(unused.length, 2, unused.join('\n'));
  t.regex(unused[0]!, /^file albany\.config\.json pools\.typo: no pool named "typo" was created/);
  t.regex(unused[1]!, /^env ALBANY_POOLS_GHOST_MAX_THREADS: no pool created by this program/);
});

test('a program not started by the CLI: pools built in code read albany.config.json from cwd and process.env', async (t) => {
  const cwd = await dirWith({
    'albany.config.json': { pool: { maxThreads: 2 }, pools: { reports: { maxThreads: 3 }, mounted: { maxQueue: 6 } } },
  });
  const run = await node([join(repo, 'test/fixtures/config/print-pool.ts')], cwd, {
    ALBANY_POOLS_REPORTS_TASK_TIMEOUT_MS: '1500',
    ALBANY_POOL_MAX_BATCH: '3',
  });
  t.is(run.code, 0, run.stderr);
  const out = JSON.parse(run.stdout) as Record<
    string,
    { maxThreads: number; taskTimeoutMs: number; maxBatch: number; maxQueue: number }
  >;
  t.is(out['reports']!.maxThreads, 3);
  t.is(out['reports']!.taskTimeoutMs, 1500);
  t.is(out['reports']!.maxBatch, 3);
  t.is(out['mounted']!.maxThreads, 2);
  t.is(out['mounted']!.maxQueue, 6);
  t.is(out['plain']!.maxThreads, 2);
  t.is(out['plain']!.taskTimeoutMs, 30_000);
});

test('albany config --print shows every pools.<name> with its sources', async (t) => {
  const cwd = await dirWith({
    'albany.config.json': { pool: { maxThreads: 2 }, pools: { reports: { maxThreads: 3, maxBatch: 1 } } },
  });
  const run = await node([cli, 'config', '--print', '--pool-max-queue', '9'], cwd, {
    ALBANY_POOLS_REPORTS_NICE_INCREMENT: '0',
  });
  t.is(run.code, 0, run.stderr);
  const [base, reports] = run.stdout.split('\n\n');
  t.regex(base!, /^pool \(file .*albany\.config\.json\)/);
  t.regex(base!, /maxThreads\s+2\s+file albany\.config\.json pool\.maxThreads/);
  t.regex(base!, /maxQueue\s+9\s+flag --pool-max-queue/);
  t.regex(reports!, /^pool "reports"/);
  t.regex(reports!, /maxThreads\s+3\s+file albany\.config\.json pools\.reports\.maxThreads/);
  t.regex(reports!, /maxBatch\s+1\s+file albany\.config\.json pools\.reports\.maxBatch/);
  t.regex(reports!, /niceIncrement\s+0\s+env ALBANY_POOLS_REPORTS_NICE_INCREMENT/);
  t.regex(reports!, /maxQueue\s+9\s+flag --pool-max-queue/);
});

test('albany config --print rejects a bad pools.<name> value, naming the key, its source and what is allowed', async (t) => {
  const cwd = await dirWith({
    'albany.config.json': { pool: { maxThreads: 4 }, pools: { x: { minThreads: 9 }, y: { maxBatch: 'lots' } } },
  });
  const run = await node([cli, 'config', '--print'], cwd, {});
  t.is(run.code, 2);
  t.is(run.stdout, '');
  t.regex(run.stderr, /Invalid pool config \(2 problems\)/);
  t.regex(
    run.stderr,
    /file albany\.config\.json pools\.x\.minThreads = 9: minThreads must be ≤ maxThreads, which is 4 from file albany\.config\.json pool\.maxThreads/,
  );
  t.regex(
    run.stderr,
    /file albany\.config\.json pools\.y\.maxBatch = "lots": maxBatch must be an integer from 1 to 1024/,
  );
});

test('albany serve: --pool-* flags, the file and env reach a pool the app builds in code; an unused pools.<name> is a warning', async (t) => {
  const cwd = await dirWith({ 'albany.config.json': { pools: { used: { maxThreads: 3 }, typo: { maxThreads: 2 } } } });
  const app = join(repo, 'test/fixtures/config/named-pool-app.ts');
  const run = node([cli, 'serve', app, '--port', '0', '--pool-max-queue', '7'], cwd, {
    ALBANY_POOLS_USED_TASK_TIMEOUT_MS: '1234',
  });
  t.teardown(() => run.kill());
  let url: string | undefined;
  for (let i = 0; i < 600 && url === undefined; i++) {
    url = /listening on (http:\/\/\S+)/.exec(run.output())?.[1];
    if (url === undefined) await new Promise((r) => setTimeout(r, 50));
  }
  t.truthy(url, run.output());
  const body = await new Promise<string>((resolve, reject) => {
    http
      .get(url!, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve(text));
      })
      .on('error', reject);
  });
  const config = JSON.parse(body) as {
    maxThreads: number;
    maxQueue: number;
    taskTimeoutMs: number;
    minThreads: number;
  };
  t.is(config.maxThreads, 3, 'file pools.used');
  t.is(config.taskTimeoutMs, 1234, 'env ALBANY_POOLS_USED_*');
  t.is(config.maxQueue, 7, 'flag --pool-max-queue');
  t.is(config.minThreads, 0, 'code');
  for (let i = 0; i < 100 && !/pools\.typo/.test(run.output()); i++) await new Promise((r) => setTimeout(r, 20));
  t.regex(
    run.output(),
    /pool config not used: file albany\.config\.json pools\.typo: no pool named "typo" was created \(pools: "used"\)/,
  );
  t.notRegex(run.output(), /pools\.used:/);
  run.kill();
  t.is((await run).code, 0);
});

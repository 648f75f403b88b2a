// What a worker thread may inherit of this process's node flags. A worker inherits execArgv as is,
// so under `node -e CODE`, `node --input-type=module -e CODE` or the REPL (`node -i`) it would be
// told to read its entry as string input of that type: the reactor's eval'd CommonJS bootstrap then
// fails to parse as a module, and piscina's file entry is refused (ERR_INPUT_TYPE_NOT_ALLOWED).

/** Flags about the main script's string input: never meaningful to a worker. Each takes a value when marked. */
const ENTRY_FLAGS: ReadonlyMap<string, boolean> = new Map([
  ['-e', true],
  ['--eval', true],
  ['-p', true],
  ['--print', true],
  ['-pe', true],
  ['-ep', true],
  ['--input-type', true],
  ['-i', false],
  ['--interactive', false],
]);

/**
 * Flags a worker may be given explicitly and that change how its code loads or reports. Node
 * rejects per-process and V8 flags in an explicit `execArgv` (ERR_WORKER_INVALID_EXEC_ARGV); those
 * apply to the whole process anyway, so dropping them loses nothing.
 */
const WORKER_FLAGS =
  /^(?:--import|--require|-r|--loader|--experimental-loader|--conditions|-C|--experimental-[\w-]+|--no-experimental-[\w-]+|--enable-source-maps|--no-warnings|--disable-warning|--trace-warnings|--trace-uncaught|--unhandled-rejections|--no-deprecation|--trace-deprecation|--throw-deprecation|--pending-deprecation|--preserve-symlinks|--frozen-intrinsics|--no-addons|--no-global-search-paths)$/;

/**
 * One flag with the values that follow it as separate tokens (execArgv holds no script path, so a token without a dash
 * is always a value).
 */
interface FlagGroup {
  name: string;
  tokens: string[];
}

function groups(argv: readonly string[]): FlagGroup[] {
  const out: FlagGroup[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    const name = token.startsWith('-') ? token.split('=', 1)[0]! : '';
    const group: FlagGroup = { name, tokens: [token] };
    // -e/-p take the next token even when it starts with a dash (`node -e "-1"`).
    if (ENTRY_FLAGS.get(name) === true && !token.includes('=') && i + 1 < argv.length) group.tokens.push(argv[++i]!);
    while (i + 1 < argv.length && !argv[i + 1]!.startsWith('-')) group.tokens.push(argv[++i]!);
    out.push(group);
  }
  return out;
}

/**
 * The `execArgv` to give a worker thread: `undefined` (inherit, as node does by default) when
 * nothing in `argv` concerns the main script's string input; otherwise the loader, condition,
 * experimental and warning flags only, without `-e`/`--eval`/`-p`/`--print`/`--input-type`/`-i`
 * and their values.
 */
export function workerExecArgv(argv: readonly string[] = process.execArgv): string[] | undefined {
  const parsed = groups(argv);
  if (!parsed.some((g) => ENTRY_FLAGS.has(g.name))) return undefined;
  return parsed.filter((g) => WORKER_FLAGS.test(g.name)).flatMap((g) => g.tokens);
}

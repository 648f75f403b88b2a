// Bench knobs from flags or environment (flags win): `--duration 2` or BENCH_DURATION=2.
/** Reads a positive number from `--<name> N` / `--<name>=N`, else env `BENCH_<NAME>`, else `fallback`. */
export function numberOption(name: string, fallback: number, argv: readonly string[] = process.argv.slice(2)): number {
  let raw: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === `--${name}`) raw = argv[i + 1];
    else if (arg.startsWith(`--${name}=`)) raw = arg.slice(name.length + 3);
  }
  raw ??= process.env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`--${name} must be a positive number, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return value;
}

/** True when `--<name>` is present or env `BENCH_<NAME>` is `1`/`true`. */
export function flagOption(name: string, argv: readonly string[] = process.argv.slice(2)): boolean {
  if (argv.includes(`--${name}`)) return true;
  const env = process.env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`];
  return env === '1' || env === 'true';
}

/** Reads `--<name> value` / `--<name>=value`, else env `BENCH_<NAME>`, else `fallback`. */
export function stringOption(name: string, fallback: string, argv: readonly string[] = process.argv.slice(2)): string {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === `--${name}` && argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--')) return argv[i + 1]!;
    if (arg.startsWith(`--${name}=`)) return arg.slice(name.length + 3);
  }
  return process.env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`] || fallback;
}

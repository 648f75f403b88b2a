// Bundles the bench server entries to plain JavaScript in bench/.out/build so every peer runs as
// compiled code, as it would in production. Running albany's TypeScript through tsx instead would
// tax only albany: tsx compiles with esbuild's keepNames, which wraps each per-request closure in
// a __name() call, and keeps a module-hooks thread in the process; the peers are already JS.
import { mkdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OUT_DIR } from './result.js';

/**
 * How every bench bundle is built: plain ESM for node 20; dependencies stay in node_modules, loaded exactly as the
 * peers load them.
 */
const BUNDLE = {
  bundle: true,
  packages: 'external',
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  keepNames: false,
  minify: false,
  logLevel: 'error',
} as const;

/** Builds each entry to bench/.out/build/<name>.mjs (with a .map); resolves with the output paths. */
export async function buildServers(entries: readonly string[]): Promise<string[]> {
  const { build } = await import('esbuild'); // comes with tsx
  const outdir = join(OUT_DIR, 'build');
  mkdirSync(outdir, { recursive: true });
  const outputs = entries.map((e) => join(outdir, basename(e).replace(/\.ts$/, '.mjs')));
  await build({
    entryPoints: entries.map((e, i) => ({ in: e, out: basename(outputs[i]!, '.mjs') })),
    outdir,
    outExtension: { '.js': '.mjs' },
    ...BUNDLE,
  });
  return outputs;
}

/**
 * Builds `workers/<name>.ts` to bench/.out/workers/<name>.js: where src/worker-path.ts looks for a
 * worker entry when the code calling it runs from a bundle in bench/.out/build/ (`../workers/`).
 */
export async function buildWorkers(names: readonly string[]): Promise<void> {
  const { build } = await import('esbuild');
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  await build({
    entryPoints: names.map((n) => ({ in: join(root, 'workers', `${n}.ts`), out: n })),
    outdir: join(OUT_DIR, 'workers'),
    ...BUNDLE,
  });
}

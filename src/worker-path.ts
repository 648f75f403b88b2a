// Finds the worker entry files by path, so the main side never imports them (they stand alone).

/**
 * URL of `workers/<name>` next to this package: the `.ts` source when albany runs from its
 * sources (through tsx), the compiled `.js` when it runs from `dist/`.
 */
export function workerFile(name: string): URL {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`../workers/${name}${ext}`, import.meta.url);
}

// `--reload` for development: watch the app's folders and replace the serving process when a file
// changes. The process is a one-worker cluster (server/cluster.ts), so a reload is the same rolling
// replacement as SIGHUP: the new process starts and is ready before the old one drains, the port
// stays the same, and an edit that breaks the app leaves the old process serving.
import { readdirSync, statSync, watch, type Dirent, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from './server/options.js';

/** Folders never watched: dependencies and version control (and any other dot-folder). */
const SKIPPED_DIRS = new Set(['node_modules']);
/** Editor droppings that are not source changes: dotfiles (swap, lock, `.#x`), backups `x~`, `x.swp`. */
function ignoredName(name: string): boolean {
  return name.startsWith('.') || name.endsWith('~') || name.endsWith('.swp') || name.endsWith('.swx');
}

/** A running watch; {@link ReloadWatch.close} stops it. */
export interface ReloadWatch {
  /** Folders currently watched (for the startup log line and tests). */
  readonly dirs: readonly string[];
  close(): void;
}

/**
 * Watches every folder under `roots` (node_modules and dot-folders skipped; folders made later are
 * picked up) and calls `onChange` with the changed path once per burst of changes (`debounceMs`
 * quiet). One fs.watch per folder rather than `{ recursive: true }`: on Linux node emulates
 * recursion by watching every entry, node_modules included, with no way to leave it out.
 */
export function watchForReload(
  roots: readonly string[],
  onChange: (path: string) => void,
  logger: Logger,
  debounceMs = 150,
): ReloadWatch {
  const watchers = new Map<string, FSWatcher>();
  let timer: NodeJS.Timeout | undefined;
  let first: string | undefined;
  const changed = (path: string) => {
    first ??= path;
    clearTimeout(timer);
    timer = setTimeout(() => {
      const path0 = first!;
      first = undefined;
      onChange(path0);
    }, debounceMs);
  };
  const add = (dir: string) => {
    if (watchers.has(dir)) return;
    let watcher: FSWatcher;
    try {
      watcher = watch(dir, (_event, name) => {
        if (name === null || ignoredName(name)) return;
        const path = join(dir, name);
        // A new folder is watched from now on (its files, made with it, count as this change).
        if (!SKIPPED_DIRS.has(name) && isDir(path)) walk(path);
        changed(path);
      });
    } catch (error) {
      logger.warn(`reload: cannot watch ${dir}: ${(error as Error).message}`);
      return;
    }
    watcher.on('error', () => {
      // A watched folder that is removed ends its watcher; the parent reports the removal.
      watcher.close();
      watchers.delete(dir);
    });
    watchers.set(dir, watcher);
  };
  const walk = (dir: string) => {
    add(dir);
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (entry.isDirectory() && !SKIPPED_DIRS.has(entry.name) && !entry.name.startsWith('.'))
        walk(join(dir, entry.name));
    }
  };
  for (const root of roots) walk(root);
  return {
    get dirs() {
      return [...watchers.keys()];
    },
    close() {
      clearTimeout(timer);
      for (const watcher of watchers.values()) watcher.close();
      watchers.clear();
    },
  };
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Runs `reload` for every change, one at a time: a change that arrives while a reload is running
 * starts another once it is done (it may have touched a file the new process already loaded
 * before the edit).
 */
export function serialReloads(reload: () => Promise<void>, logger: Logger): (path: string) => void {
  let running = false;
  let again: string | undefined;
  const go = (path: string) => {
    if (running) {
      again = path;
      return;
    }
    running = true;
    logger.info(`reload: ${path} changed, restarting`);
    void reload()
      .catch((error: unknown) => logger.error(`reload failed: ${(error as Error).message}`))
      .finally(() => {
        running = false;
        const next = again;
        again = undefined;
        if (next !== undefined) go(next);
      });
  };
  return go;
}

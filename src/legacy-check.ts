// `albany serve --legacy MODULE[:EXPORT]` loads the handler once before listening, in a worker thread
// with the pool's own loader, so a missing file, a missing export, a syntax error or a throw at
// import time stops the CLI with one line (exit 2) instead of a server that answers 500 forever.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { AlbanyError, ErrorCodes } from './errors.js';
import { workerExecArgv } from './exec-argv.js';
import type { LegacyCheckRequest, LegacyCheckResult } from './legacy-check-protocol.js';
import { describeLoadFailure, errorInfo, oneLine } from './load-failure.js';
import type { HandlerStyle } from './pool/protocol.js';
import { TSX_FLAG, isTypeScriptPath } from './typescript.js';
import { workerFile } from './worker-path.js';

/** The handler `--legacy` names. */
export interface LegacySpec {
  /** Absolute path of the module. */
  file: string;
  /** The export to call; the loader's default (`handle`, else `default`) when undefined. */
  exportName: string | undefined;
  style: HandlerStyle | undefined;
}

/**
 * Loads `spec` in a throwaway worker thread and resolves with the style it will run in, and the
 * module's own `listen(...)` call when the pool will serve that (the module exported nothing).
 * @throws AlbanyError `ERR_ALBANY_APP_LOAD` with a one-line message naming the file, the line
 * where the loader can tell it, and the problem.
 */
export async function checkLegacyModule(
  spec: LegacySpec,
): Promise<{ style: HandlerStyle; listen: string | undefined }> {
  if (!existsSync(spec.file)) throw loadError(`legacy module not found: ${spec.file}`);
  const moduleUrl = pathToFileURL(spec.file).href;
  const result = await runCheck({ moduleUrl, exportName: spec.exportName, style: spec.style });
  if (result.ok) return { style: result.style, listen: result.listen };
  const message = await describeLoadFailure('legacy module', spec.file, result.error);
  // The loader speaks to legacy() callers; on the command line the style is a flag.
  throw loadError(
    message.includes('legacy(url, { style') ? `${message} (here: --legacy-style wsgi|plain|node)` : message,
  );
}

function loadError(message: string): AlbanyError {
  return new AlbanyError(ErrorCodes.ERR_ALBANY_APP_LOAD, oneLine(message));
}

function runCheck(request: LegacyCheckRequest): Promise<LegacyCheckResult> {
  const entry = workerFile('legacy-check');
  // Node 20 does not carry the parent's tsx hooks into a worker: a `.ts` entry registers them first.
  const tsx = isTypeScriptPath(entry.pathname) ? import.meta.resolve('tsx/esm/api') : undefined;
  const source = `${
    tsx === undefined
      ? 'Promise.resolve()'
      : `import(${JSON.stringify(tsx)}).then((api) => { api.register(); ` +
        `globalThis[Symbol.for(${JSON.stringify(TSX_FLAG.description)})] = true; })`
  }
  .then(() => import(${JSON.stringify(entry.href)}));`;
  const worker = new Worker(source, { eval: true, workerData: request, execArgv: workerExecArgv() });
  return new Promise<LegacyCheckResult>((resolve, reject) => {
    let settled = false;
    const settle = (result: LegacyCheckResult): void => {
      settled = true;
      resolve(result);
      // A module may leave timers or sockets behind at import: the thread is not left to wind down.
      void worker.terminate();
    };
    worker.once('message', settle);
    worker.once('error', (err) => {
      if (!settled) settle({ ok: false, error: errorInfo(err) });
    });
    worker.once('exit', (code) => {
      if (!settled)
        reject(
          loadError(
            `legacy module ${fileURLToPath(request.moduleUrl)} did not finish loading (the check thread ` +
              `exited with code ${code}; a top-level await that never settles?)`,
          ),
        );
    });
  });
}

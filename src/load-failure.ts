// One line saying why a module could not be loaded: the file, the line when it can be found, and the
// problem. Used by every module albany serve loads at start (--legacy in a worker, --provide here).
import { execFile } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { ErrorCodes } from './errors.js';
import { isTypeScriptPath } from './typescript.js';

/** An error reduced to what crosses a thread boundary (see the check worker's protocol). */
export interface ErrorInfo {
  name: string;
  message: string;
  stack: string | undefined;
  code: string | undefined;
  cause: ErrorInfo | undefined;
}

/** {@link ErrorInfo} of any thrown value, following `cause` a few levels. */
export function errorInfo(err: unknown, depth = 0): ErrorInfo {
  if (!(err instanceof Error))
    return { name: 'Error', message: String(err), stack: undefined, code: undefined, cause: undefined };
  const code = (err as { code?: unknown }).code;
  return {
    name: err.name,
    message: err.message,
    stack: err.stack,
    code: typeof code === 'string' ? code : undefined,
    cause: err.cause === undefined || depth > 2 ? undefined : errorInfo(err.cause, depth + 1),
  };
}

/**
 * "LABEL FILE[:LINE] problem" for a failed load of `file`: a syntax error (with its line), a missing
 * dependency, a throw at import time (with the line of the module's frame), or the loader's own
 * complaint (an `ERR_ALBANY_APP_LOAD` without a cause, e.g. a missing export), as one line.
 */
export async function describeLoadFailure(label: string, file: string, error: ErrorInfo): Promise<string> {
  return oneLine(await describe(label, file, pathToFileURL(file).href, error));
}

async function describe(label: string, file: string, moduleUrl: string, error: ErrorInfo): Promise<string> {
  const cause = error.cause;
  if (error.code === ErrorCodes.ERR_ALBANY_APP_LOAD && cause === undefined)
    return error.message.replaceAll(moduleUrl, file);
  const problem = cause ?? error;
  if (problem.name === 'SyntaxError' || /\bTransform failed\b/.test(problem.message)) {
    const line = await syntaxErrorLine(file, moduleUrl, problem);
    return (
      `${label} ${file}${line === undefined ? '' : `:${line}`} has a syntax error: ` +
      `${syntaxMessage(problem.message)}`
    );
  }
  if (problem.code === 'ERR_MODULE_NOT_FOUND' || problem.code === 'MODULE_NOT_FOUND') {
    return `${label} ${file} could not be loaded: ${problem.message.replaceAll(moduleUrl, file)}`;
  }
  const line = frameLine(problem.stack, file, moduleUrl);
  return (
    `${label} ${file}${line === undefined ? '' : `:${line}`} threw while loading: ${problem.name}: ` +
    `${problem.message}`
  );
}

/** esbuild (through tsx) reports "Transform failed with 1 error:\nFILE:L:C: ERROR: what": keep the what. */
function syntaxMessage(message: string): string {
  const esbuild = /:\d+:\d+: ERROR: (.*)/.exec(message);
  return esbuild === null ? message : esbuild[1]!;
}

/** The line of the first stack frame in the module itself. */
function frameLine(stack: string | undefined, file: string, moduleUrl: string): number | undefined {
  if (stack === undefined) return undefined;
  for (const where of [moduleUrl, file]) {
    const match = new RegExp(`${escapeRegExp(where)}(?:\\?[^:\\s]*)?:(\\d+):\\d+`).exec(stack);
    if (match !== null) return Number(match[1]);
  }
  return undefined;
}

/**
 * Where a syntax error is. CommonJS and esbuild errors carry it; an ES module's SyntaxError from
 * `import()` does not (node keeps the location for its own fatal-error printout), so node itself
 * is asked, with `node --check FILE`, which prints `FILE:LINE` first.
 */
async function syntaxErrorLine(file: string, moduleUrl: string, error: ErrorInfo): Promise<number | undefined> {
  for (const where of [file, moduleUrl]) {
    const decorated = new RegExp(`^${escapeRegExp(where)}:(\\d+)\\s*$`, 'm').exec(error.stack ?? '');
    if (decorated !== null) return Number(decorated[1]);
    const esbuild = new RegExp(`${escapeRegExp(where)}:(\\d+):\\d+: ERROR`).exec(error.message);
    if (esbuild !== null) return Number(esbuild[1]);
  }
  if (isTypeScriptPath(file)) return undefined;
  const stderr = await new Promise<string>((resolve) => {
    execFile(process.execPath, ['--check', file], { timeout: 10_000 }, (_err, _stdout, err) => resolve(String(err)));
  });
  const checked = /^(.*):(\d+)\s*$/m.exec(stderr);
  return checked === null ? undefined : Number(checked[2]);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Newlines (and the indentation after them) become single spaces: the CLI prints one line. */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

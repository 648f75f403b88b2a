// The one log line a blocked event loop gets: how long, which request, where in the user's code, and
// the exact call that moves that code off the loop. Pure, so its wording is tested on its own.
import { basename } from 'node:path';
import type { CurrentRequestHead } from './current-request.js';
import { formatFrame, type StackFrame } from './stack-frames.js';

/** What the watchdog saw when the loop stopped turning. */
export interface BlockSighting {
  /** How long the loop was blocked (the whole block once it ended; so far while it still runs). */
  blockedMs: number;
  /** How long after the loop's last turn the watchdog caught it (what `--block-threshold` bounds). */
  detectedAfterMs: number;
  /** `Date.now()` on the main thread when the watchdog interrupted it (undefined: it could not). */
  caughtAt?: number;
  /** The threshold in force. */
  thresholdMs: number;
  /** True when the line is written while the loop is still blocked (it never turned again soon). */
  stillBlocked: boolean;
  /** The request whose app call was running, if any. */
  request: CurrentRequestHead | undefined;
  /** The user's frames of the main thread's stack, innermost first (empty: none, or no stack). */
  frames: readonly StackFrame[];
  /** Why there is no stack, when there is none (the thread sat in native code that could not be interrupted). */
  stackMissing?: string;
}

/** Frames shown in the line; the innermost ones say where the time went. */
const SHOWN_FRAMES = 4;

/** `METHOD /path` without the query string, or `(no request)`: the `route` label of the blocking counter. */
export function routeLabel(request: CurrentRequestHead | undefined): string {
  if (request === undefined) return '(no request)';
  const q = request.target.indexOf('?');
  return `${request.method} ${q === -1 ? request.target : request.target.slice(0, q)}`;
}

/** The bare function name V8 printed (`Timeout.spin [as _onTimeout]` → `spin`), or undefined for an anonymous one. */
export function functionName(frame: StackFrame): string | undefined {
  let name = frame.fn.replace(/ \[as [^\]]*\]$/, '').replace(/^async /, '');
  const dot = name.lastIndexOf('.');
  if (dot !== -1) name = name.slice(dot + 1);
  return name === '' || name === '<anonymous>' || !/^[\p{L}_$][\p{L}\p{N}_$]*$/u.test(name) ? undefined : name;
}

/** What to do about it: the `offload()` call for the culprit's module, or a legacy route for the path. */
export function advice(sighting: BlockSighting): string {
  const culprit = sighting.frames[0];
  const path = sighting.request === undefined ? undefined : routeLabel(sighting.request).split(' ')[1];
  const legacyRoute =
    path === undefined
      ? ''
      : `, or serve ${path} from a legacy route in the pool: mount({ '${path}': legacy(new URL('./handler.ts', ` +
        `import.meta.url)), '/': app })`;
  if (culprit === undefined) return `move the blocking work to the pool with offload() (albany/pool)${legacyRoute}`;
  const file = `./${basename(culprit.file)}`;
  const name = functionName(culprit);
  const call =
    name === undefined
      ? `offload(new URL('${file}', import.meta.url), 'EXPORT')(...args) after making the code at line ` +
        `${culprit.line} an exported function`
      : `offload(new URL('${file}', import.meta.url), '${name}')(...args) (${name} must be exported from ` +
        `${basename(culprit.file)})`;
  return `move it to the pool: await ${call}${legacyRoute}`;
}

/** The log line for one block. */
export function formatBlockReport(sighting: BlockSighting, cwd: string): string {
  const ms = Math.round(sighting.blockedMs);
  const how = sighting.stillBlocked ? `has been blocked for ${ms} ms and still is` : `was blocked for ${ms} ms`;
  const who =
    sighting.request === undefined
      ? 'outside any request'
      : `while serving ${sighting.request.method} ${sighting.request.target}`;
  const where =
    sighting.frames.length > 0
      ? ` at ${sighting.frames
          .slice(0, SHOWN_FRAMES)
          .map((f) => formatFrame(f, cwd))
          .join(' <- ')}`
      : ` (no stack: ${sighting.stackMissing ?? 'no user code on the stack'})`;
  return (
    `event loop ${how} (threshold ${sighting.thresholdMs} ms, caught after ` +
    `${Math.round(sighting.detectedAfterMs)} ms) ${who}${where}; ${advice(sighting)}`
  );
}

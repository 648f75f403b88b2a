// Turns a V8 stack string into frames and keeps the user's own: no node internals, no dependencies,
// no albany code. Pure, so the trimming rules are tested without a blocked thread.
import { fileURLToPath } from 'node:url';

/** One parsed stack frame. */
export interface StackFrame {
  /** Function name as V8 prints it (`Timeout.spin [as _onTimeout]`), or `<anonymous>`. */
  fn: string;
  /** File path (file: URLs turned into paths), `node:…` for internals. */
  file: string;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  column: number;
}

const FRAME = /^\s*at (?:(.*?) \()?(.+?):(\d+):(\d+)\)?$/;

/** Parses the `at …` lines of `stack`; lines without a location (`at Atomics.wait (<anonymous>)`) are skipped. */
export function parseStack(stack: string): StackFrame[] {
  const frames: StackFrame[] = [];
  for (const text of stack.split('\n')) {
    const m = FRAME.exec(text);
    if (m === null) continue;
    let file = m[2]!;
    if (file.startsWith('async ')) file = file.slice(6);
    if (file.startsWith('file://')) {
      try {
        file = fileURLToPath(file);
      } catch {
        // keep the URL as printed
      }
    }
    frames.push({ fn: m[1] ?? '<anonymous>', file, line: Number(m[3]), column: Number(m[4]) });
  }
  return frames;
}

/**
 * The frames of the user's code, innermost first: drops node internals (`node:`), evaluated code
 * (`<anonymous>`), anything under a `node_modules` folder and anything under one of `ownRoots`
 * (albany's own folders, where the host and adapters call the app from).
 */
export function userFrames(frames: readonly StackFrame[], ownRoots: readonly string[]): StackFrame[] {
  return frames.filter(
    (f) =>
      !f.file.startsWith('node:') &&
      f.file !== '<anonymous>' &&
      !/[/\\]node_modules[/\\]/.test(f.file) &&
      !ownRoots.some((root) => f.file.startsWith(root)),
  );
}

/** `fn (file:line:col)` with the file relative to `cwd` when it lies inside it. */
export function formatFrame(frame: StackFrame, cwd: string): string {
  const file = cwd !== '' && frame.file.startsWith(`${cwd}/`) ? frame.file.slice(cwd.length + 1) : frame.file;
  return `${frame.fn} (${file}:${frame.line}:${frame.column})`;
}

// Errors crossing a thread (legacy handlers, offload calls, runSync, services): one wire format,
// flattened on one side and rebuilt faithfully (class name, code, props, cause, stack) on the other.
import { AlbanyError, type ErrorCode } from './errors.js';

/** An error flattened to cloneable data so it can cross a thread and be rebuilt on the other side. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  readonly code: string | undefined;
  /** Own enumerable properties that survived structured cloning (others are kept as their string form). */
  readonly props: Record<string, unknown>;
  /** The `cause` chain, up to 8 deep; a cause that is not an error travels as `{ value }`. */
  readonly cause?: SerializedError | { readonly value: unknown };
  /** Set when the error was an `AlbanyError`, so the receiving side rebuilds the real class. */
  readonly albany?: true;
}

const MAX_CAUSE_DEPTH = 8;

/** Flattens `err` (anything thrown) into cloneable data: name, message, stack, code, own props, cause. */
export function serializeError(err: unknown, depth = 0): SerializedError {
  if (!(err instanceof Error) && !(typeof err === 'object' && err !== null && 'message' in err)) {
    return {
      name: 'Error',
      message: `non-error thrown: ${describe(err)}`,
      stack: undefined,
      code: undefined,
      props: { thrown: cloneOrString(err) },
    };
  }
  const e = err as Error & { code?: unknown; cause?: unknown };
  const props: Record<string, unknown> = {};
  for (const key of Object.keys(e)) {
    if (key === 'cause' || key === 'code' || key === 'name' || key === 'message' || key === 'stack') continue;
    props[key] = cloneOrString((e as unknown as Record<string, unknown>)[key]);
  }
  let cause: SerializedError['cause'];
  if (e.cause !== undefined && depth < MAX_CAUSE_DEPTH) {
    cause = e.cause instanceof Error ? serializeError(e.cause, depth + 1) : { value: cloneOrString(e.cause) };
  }
  return {
    name: String(e.name ?? 'Error'),
    message: String(e.message ?? ''),
    stack: typeof e.stack === 'string' ? e.stack : undefined,
    code: typeof e.code === 'string' ? e.code : undefined,
    props,
    ...(cause === undefined ? {} : { cause }),
    ...(AlbanyError.is(err) ? { albany: true as const } : {}),
  };
}

// Classes made for remote error names, so every rebuilt `ValidationError` shares one constructor.
const namedClasses = new Map<string, new (message: string) => Error>();
const builtins: Record<string, new (message: string) => Error> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

function classFor(name: string): new (message: string) => Error {
  const builtin = builtins[name];
  if (builtin !== undefined) return builtin;
  let cls = namedClasses.get(name);
  if (cls === undefined) {
    // A computed key gives the class its `name`, so `err.constructor.name` matches the remote one.
    cls = { [name]: class extends Error {} }[name]!;
    Object.defineProperty(cls.prototype, 'name', { value: name, writable: true, configurable: true });
    namedClasses.set(name, cls);
  }
  return cls;
}

/** Rebuilds a remote error as it was thrown: same class name, code, message, props, remote stack. */
export function reviveError(data: SerializedError): Error {
  const err = makeError(data);
  err.stack = data.stack ?? `${data.name}: ${data.message}`;
  return err;
}

function makeError(data: SerializedError): Error {
  const cause =
    data.cause === undefined
      ? undefined
      : 'value' in data.cause
        ? data.cause.value
        : reviveError(data.cause as SerializedError);
  let err: Error;
  if (data.albany === true && data.code !== undefined) {
    const details = data.props['details'] as Record<string, unknown> | undefined;
    err = new AlbanyError(data.code as ErrorCode, data.message, {
      cause,
      ...(details === undefined ? {} : { details }),
    });
  } else {
    err = new (classFor(data.name))(data.message);
    if (cause !== undefined) Object.defineProperty(err, 'cause', { value: cause, writable: true, configurable: true });
    if (data.code !== undefined) (err as Error & { code: string }).code = data.code;
  }
  if (err.name !== data.name)
    Object.defineProperty(err, 'name', { value: data.name, writable: true, configurable: true });
  for (const [key, value] of Object.entries(data.props)) {
    if (key === 'details' && data.albany === true) continue;
    (err as unknown as Record<string, unknown>)[key] = value;
  }
  return err;
}

/**
 * The error a caller sees: the remote error's class name, code, message and props, with a stack
 * that starts at the caller's frames and then lists the remote ones; the remote error is `cause`.
 * `callerStack` is the `stack` of an Error made where the caller started waiting.
 */
export function rebuildForCaller(data: SerializedError, callerStack: string | undefined, where: string): Error {
  const remote = reviveError(data);
  const err = makeError({ ...data, cause: undefined });
  Object.defineProperty(err, 'cause', { value: remote, writable: true, configurable: true });
  const callerFrames = framesOf(callerStack);
  const remoteFrames = framesOf(data.stack);
  err.stack = `${data.name}: ${data.message}\n${callerFrames}\n    --- ${where} ---\n${remoteFrames}`;
  return err;
}

function framesOf(stack: string | undefined): string {
  if (stack === undefined) return '    at <unknown>';
  const lines = stack.split('\n');
  const first = lines.findIndex((l) => /^\s+at /.test(l));
  return first === -1 ? '    at <unknown>' : lines.slice(first).join('\n');
}

function cloneOrString(value: unknown): unknown {
  try {
    return structuredClone(value);
  } catch {
    return describe(value);
  }
}

/** A short printable form of any value, for messages; never throws. */
export function describe(value: unknown): string {
  try {
    return typeof value === 'function' ? `[function ${value.name || 'anonymous'}]` : String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

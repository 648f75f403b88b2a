// `albany serve` accepts gateway apps, node (req, res) handlers and fetch handlers; this decides
// which one a module exported, from its shape, and wraps it as a gateway App.
import { AlbanyError, ErrorCodes } from '../errors.js';
import type { App } from '../gateway/types.js';
import { fromFetch, type FetchHandler } from './fetch.js';
import { fromNodeHandler, type NodeHandler } from './node.js';
import { parameterList } from './parameter-list.js';

/** How `--interface` asks for the export to be read. */
export type InterfaceKind = 'auto' | 'gateway' | 'node' | 'fetch';

/** What {@link detectInterface} found, with the value to wrap. */
export interface Detected {
  kind: Exclude<InterfaceKind, 'auto'>;
  /** The function to call (Koa's `callback()`, an object's bound `fetch`, or the value itself). */
  target: unknown;
}

type Fn = (...args: never[]) => unknown;

function isKoa(value: unknown): value is { callback(): NodeHandler } {
  // Koa apps are objects with use()/callback() and a middleware array.
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as { callback?: unknown }).callback === 'function' &&
    typeof (value as { use?: unknown }).use === 'function'
  );
}

function isConnectLike(value: Fn): boolean {
  // Express and Connect apps are functions (req, res, next) that also carry handle() and use().
  return (
    typeof (value as unknown as { handle?: unknown }).handle === 'function' &&
    typeof (value as unknown as { use?: unknown }).use === 'function'
  );
}

function hasFetch(value: unknown): value is { fetch: FetchHandler } {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { fetch?: unknown }).fetch === 'function'
  );
}

function describe(value: unknown): string {
  if (typeof value === 'function') {
    const params = parameterList(value as Fn);
    return params === undefined
      ? `a function of length ${value.length}`
      : `a function (${params.join(', ')}) of length ${value.length}`;
  }
  if (value === null) return 'null';
  if (typeof value === 'object') {
    const keys = Object.keys(value).slice(0, 6);
    return `an object${keys.length ? ` with keys ${keys.join(', ')}` : ''}`;
  }
  return `a ${typeof value}`;
}

function unknownInterface(value: unknown, why: string): AlbanyError {
  return new AlbanyError(
    ErrorCodes.ERR_ALBANY_INTERFACE,
    `cannot tell what kind of app the export is (${describe(value)}): ${why}. ` +
      'Pass --interface gateway for (scope, receive, send), --interface node for (req, res) handlers ' +
      '(Express, Connect, Koa), or --interface fetch for (request) => Response handlers (Hono).',
    { details: { shape: describe(value) } },
  );
}

/**
 * Why a function's arity cannot be trusted, or undefined when it can: its source declares another
 * number of parameters than `length` counts (a default value or a rest parameter), or three
 * parameters named like Connect middleware `(req, res, next)`, which has a gateway app's arity.
 * Native and bound functions do not show their source: their length is all there is.
 */
function arityDoubt(fn: Fn): string | undefined {
  const params = parameterList(fn);
  if (params === undefined) return undefined;
  if (params.length !== fn.length) {
    return (
      `it declares ${params.length} parameter(s) but its length is ${fn.length} (a default value or rest ` +
      `parameter stops the count), so its arity does not say which interface it speaks`
    );
  }
  const [first = '', second = ''] = params;
  if (fn.length === 3 && /^_?(req|request)$/i.test(first) && /^_?(res|response)$/i.test(second)) {
    return (
      'it has the arity of a gateway app (scope, receive, send) but parameters named like node middleware ' +
      '(req, res, next)'
    );
  }
  return undefined;
}

/**
 * Works out the interface of `value`. In `auto`: Koa instances and Express/Connect apps → node;
 * objects with `.fetch` → fetch; other functions by arity (3 → gateway, 2 → node, 1 → fetch), but
 * only when the arity is unambiguous: a function whose source declares more parameters than its
 * `length` (a default or rest parameter), or `(req, res, next)`, is refused with
 * `ERR_ALBANY_INTERFACE` naming `--interface` rather than guessed.
 * An explicit kind skips the guessing but still checks the value can be called that way.
 */
export function detectInterface(value: unknown, kind: InterfaceKind = 'auto'): Detected {
  switch (kind) {
    case 'gateway':
      if (typeof value === 'function') return { kind, target: value };
      throw unknownInterface(value, '--interface gateway needs a function (scope, receive, send)');
    case 'node':
      if (isKoa(value)) return { kind, target: value.callback() };
      if (typeof value === 'function') return { kind, target: value };
      throw unknownInterface(value, '--interface node needs a (req, res) function or a Koa app');
    case 'fetch':
      if (hasFetch(value)) return { kind, target: value.fetch.bind(value) };
      if (typeof value === 'function') return { kind, target: value };
      throw unknownInterface(
        value,
        '--interface fetch needs a (request) => Response function or an object with .fetch',
      );
    case 'auto':
      break;
    default:
      throw new AlbanyError(
        ErrorCodes.ERR_ALBANY_USAGE,
        `interface must be one of auto, gateway, node, fetch; got ${JSON.stringify(kind)}`,
      );
  }
  if (isKoa(value)) return { kind: 'node', target: value.callback() };
  if (typeof value === 'function' && isConnectLike(value as Fn)) return { kind: 'node', target: value };
  if (hasFetch(value)) return { kind: 'fetch', target: value.fetch.bind(value) };
  if (typeof value !== 'function')
    throw unknownInterface(value, 'it is not a function and has no fetch() or callback() method');
  const doubt = arityDoubt(value as Fn);
  if (doubt !== undefined) throw unknownInterface(value, doubt);
  switch (value.length) {
    case 3:
      return { kind: 'gateway', target: value };
    case 2:
      return { kind: 'node', target: value };
    case 1:
      return { kind: 'fetch', target: value };
    default:
      throw unknownInterface(
        value,
        `its arity (${value.length}) matches none of gateway (3), node (2), fetch (1); default or rest ` +
          `parameters hide arity`,
      );
  }
}

/**
 * Turns whatever a module exported into a gateway App, per `--interface` (see
 * {@link detectInterface}). Throws `ERR_ALBANY_INTERFACE` naming the shape it saw and the flag to
 * pass when it cannot tell.
 */
export function toGatewayApp(value: unknown, interfaceOpt: InterfaceKind = 'auto'): App {
  const { kind, target } = detectInterface(value, interfaceOpt);
  if (kind === 'gateway') return target as App;
  if (kind === 'node') return fromNodeHandler(target as NodeHandler);
  return fromFetch(target as FetchHandler);
}

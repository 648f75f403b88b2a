// `albany serve` accepts gateway apps, node (req, res) handlers and fetch handlers; this decides
// which one a module exported, from its shape, and wraps it as a gateway App.
import { AlbanyError, ErrorCodes } from '../errors.js';
import type { App } from '../gateway/types.js';
import { fromFetch, type FetchHandler } from './fetch.js';
import { fromNodeHandler, type NodeHandler } from './node.js';

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
  return value !== null && typeof value === 'object'
    && typeof (value as { callback?: unknown }).callback === 'function'
    && typeof (value as { use?: unknown }).use === 'function';
}

function isConnectLike(value: Fn): boolean {
  // Express and Connect apps are functions (req, res, next) that also carry handle() and use().
  return typeof (value as unknown as { handle?: unknown }).handle === 'function'
    && typeof (value as unknown as { use?: unknown }).use === 'function';
}

function hasFetch(value: unknown): value is { fetch: FetchHandler } {
  return value !== null && (typeof value === 'object' || typeof value === 'function')
    && typeof (value as { fetch?: unknown }).fetch === 'function';
}

function describe(value: unknown): string {
  if (typeof value === 'function') return `a function with ${value.length} declared parameter(s)`;
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
    `cannot tell what kind of app the export is (${describe(value)}): ${why}. `
      + 'Pass --interface gateway for (scope, receive, send), --interface node for (req, res) handlers '
      + '(Express, Connect, Koa), or --interface fetch for (request) => Response handlers (Hono).',
    { details: { shape: describe(value) } },
  );
}

/**
 * Works out the interface of `value`. In `auto`: Koa instances and Express/Connect apps → node;
 * objects with `.fetch` → fetch; other functions by arity (3 → gateway, 2 → node, 1 → fetch).
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
      throw unknownInterface(value, '--interface fetch needs a (request) => Response function or an object with .fetch');
    case 'auto':
      break;
    default:
      throw new AlbanyError(ErrorCodes.ERR_ALBANY_USAGE, `interface must be one of auto, gateway, node, fetch; got ${JSON.stringify(kind)}`);
  }
  if (isKoa(value)) return { kind: 'node', target: value.callback() };
  if (typeof value === 'function' && isConnectLike(value as Fn)) return { kind: 'node', target: value };
  if (hasFetch(value)) return { kind: 'fetch', target: value.fetch.bind(value) };
  if (typeof value !== 'function') throw unknownInterface(value, 'it is not a function and has no fetch() or callback() method');
  switch (value.length) {
    case 3: return { kind: 'gateway', target: value };
    case 2: return { kind: 'node', target: value };
    case 1: return { kind: 'fetch', target: value };
    default:
      throw unknownInterface(value, `its arity (${value.length}) matches none of gateway (3), node (2), fetch (1); default or rest parameters hide arity`);
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

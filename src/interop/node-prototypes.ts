// Express gives every request and response its own prototype (`Object.setPrototypeOf(req, app.request)`,
// the same for `res`). V8 answers a prototype change on an object that already has properties with a
// copy of its hidden class that is detached from the transition tree, and transitions from a detached
// hidden class are never cached: every property Express then adds (`req.next`, `req.params`,
// `res.locals`, ...) made a new hidden class, ~10 per request (seen with --log-maps, on node:http too).
// That was most of Express's cost: map and descriptor copies, inline-cache misses, and old-space garbage
// that brings a full GC every few thousand requests. Building req and res on an empty object that
// already has the app's prototype keeps every hidden class shared and cached, and Express's
// setPrototypeOf finds the prototype already set and does nothing.

const inheritsFrom = Function.prototype.call.bind(Object.prototype.isPrototypeOf) as (
  base: object,
  object: object,
) => boolean;

/**
 * Runs node's function-style constructor (IncomingMessage, ServerResponse: they run as plain calls,
 * as node's own subclasses call them) on an empty object that already inherits from `prototype`.
 */
export function constructWith<A>(ctor: new (arg: A) => object, prototype: object, arg: A): object {
  const object = Object.create(prototype) as object;
  (ctor as unknown as (this: object, arg: A) => void).call(object, arg);
  return object;
}

/**
 * One of a handler's prototypes (Express's `app.request` or `app.response`), checked only when the
 * object changes (an app may replace `app.request`) and read per request so that is seen. A value that
 * does not inherit from node's class (any handler that is not Express-like has none) gives undefined:
 * the object is built as node builds it.
 */
export class PrototypeSlot {
  private seen: unknown = undefined;
  private prototype: object | undefined = undefined;

  /** `base`: the prototype of node's own class (`IncomingMessage.prototype`, `ServerResponse.prototype`). */
  constructor(private readonly base: object) {}

  /** `value` if it is an object inheriting from the base, else undefined (see the class). */
  check(value: unknown): object | undefined {
    if (value === this.seen) return this.prototype;
    this.seen = value;
    this.prototype = typeof value === 'object' && value !== null && inheritsFrom(this.base, value) ? value : undefined;
    return this.prototype;
  }
}

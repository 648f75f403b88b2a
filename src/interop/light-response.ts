// A Response that costs almost nothing to build: fetch handlers answer with `new Response(text)` on
// every request, and undici's Response (streams, brand checks) is the largest cost of a hello-world
// hop. The light one keeps status/body/init as given and becomes a real Response only when asked
// for something it does not hold. Same idea as @hono/node-server's global override.

const GlobalResponse = globalThis.Response;
type BodyInit = ConstructorParameters<typeof Response>[0];
/** What `new Headers(init)` accepts. */
export type HeadersInit = ConstructorParameters<typeof Headers>[0];
/** The content-type a Response gives a string body when none is set (the fetch standard's default). */
export const TEXT_PLAIN = 'text/plain;charset=UTF-8';
const kLight = Symbol('albany.lightResponse');
const kReal = Symbol('albany.realResponse');

/** The body shapes the light response keeps as is; anything else builds a real Response at once. */
export type LightBody = string | Uint8Array | ReadableStream<Uint8Array> | null;

/** What a light response holds until someone needs the real thing. */
export interface LightState {
  status: number;
  statusText: string | undefined;
  body: LightBody;
  /** The init headers as given (object, array or Headers); replaced by a Headers once read. */
  headers: HeadersInit | undefined;
  /** True once `headers` is a Headers object the caller may have changed. */
  materialized: boolean;
}

type Init = ResponseInit | undefined;

function isLightBody(body: unknown): body is LightBody {
  return body == null || typeof body === 'string' || body instanceof Uint8Array || body instanceof ReadableStream;
}

function isLightInit(init: unknown): init is Init {
  if (init === undefined) return true;
  if (init === null || typeof init !== 'object' || init instanceof GlobalResponse) return false;
  const status = (init as ResponseInit).status;
  // Anything else the real constructor would reject must reach it, so its errors stay the standard
  // ones. Statuses are the exception: any code node:http writes (100–999) stays light, as in
  // @hono/node-server's Response, so `c.text('…', 600)` is served as there; only turning such a
  // response into a real one throws the standard RangeError. A statusText goes to the real
  // constructor, which checks it (hosts then send it as the reason phrase).
  return (
    (init as ResponseInit).statusText === undefined &&
    (status === undefined || (Number.isInteger(status) && status >= 100 && status <= 999))
  );
}

/**
 * Drop-in for the global Response. `instanceof Response` holds both ways; every getter and method
 * a light instance does not hold is answered by a real Response built on first use.
 */
export class LightResponse {
  // `declare`: no class-field emit. A field with a computed (symbol) key is defined per instance
  // through a keyed define, which V8 can fall back to its runtime for; the constructor's plain
  // assignments below stay on the fast store path.
  /** Set while light; removed once a real Response exists. */
  declare [kLight]: LightState | undefined;
  declare private [kReal]: Response | undefined;

  static [Symbol.hasInstance](value: unknown): boolean {
    // `this` is the class instanceof asks about: LightResponse itself or a subclass of it.
    // biome-ignore lint/complexity/noThisInStatic: see above.
    if (this === LightResponse) return value instanceof GlobalResponse;
    // biome-ignore lint/complexity/noThisInStatic: see above.
    return Function.prototype[Symbol.hasInstance].call(this, value);
  }

  constructor(body?: BodyInit | null, init?: ResponseInit) {
    // Both slots are always written, in the same order, so every instance shares one shape.
    if (isLightBody(body) && isLightInit(init)) {
      this[kLight] = {
        status: init?.status ?? 200,
        statusText: init?.statusText,
        body: body ?? null,
        headers: init?.headers,
        materialized: false,
      };
      this[kReal] = undefined;
    } else {
      this[kLight] = undefined;
      this[kReal] = new GlobalResponse(body, init);
    }
  }

  get status(): number {
    return this[kLight]?.status ?? this[kReal]!.status;
  }

  get ok(): boolean {
    const status = this.status;
    return status >= 200 && status < 300;
  }

  get headers(): Headers {
    const light = this[kLight];
    if (light === undefined) return this[kReal]!.headers;
    if (!light.materialized) {
      const headers = new Headers(light.headers);
      if (typeof light.body === 'string' && !headers.has('content-type')) headers.set('content-type', TEXT_PLAIN);
      light.headers = headers;
      light.materialized = true;
    }
    return light.headers as Headers;
  }
}

/** The real Response behind `res`, built now if it was still light. */
export function realResponse(res: LightResponse): Response {
  let real = res[kReal];
  if (real === undefined) {
    const light = res[kLight]!;
    real = new GlobalResponse(light.body, {
      status: light.status,
      statusText: light.statusText,
      headers: light.headers,
    });
    res[kReal] = real;
    res[kLight] = undefined;
  }
  return real;
}

/** The light state of `res` when it is still light, so a host can write it without a real Response. */
export function lightState(res: unknown): LightState | undefined {
  return (res as LightResponse | null | undefined)?.[kLight];
}

for (const key of ['body', 'bodyUsed', 'redirected', 'statusText', 'type', 'url'] as const) {
  Object.defineProperty(LightResponse.prototype, key, {
    get(this: LightResponse) {
      if (key === 'statusText' && this[kLight]) return this[kLight].statusText ?? '';
      return realResponse(this)[key];
    },
    configurable: true,
  });
}
for (const key of ['arrayBuffer', 'blob', 'bytes', 'clone', 'formData', 'json', 'text'] as const) {
  Object.defineProperty(LightResponse.prototype, key, {
    value(this: LightResponse) {
      const real = realResponse(this) as unknown as Record<string, () => unknown>;
      return real[key]!.call(real);
    },
    writable: true,
    configurable: true,
  });
}
Object.setPrototypeOf(LightResponse, GlobalResponse);
Object.setPrototypeOf(LightResponse.prototype, GlobalResponse.prototype);

/**
 * Makes `globalThis.Response` the light one (idempotent). Returns false when some other library
 * already replaced the global (e.g. @hono/node-server), which is left alone.
 */
export function installLightResponse(): boolean {
  const current = globalThis.Response as unknown;
  if (current === LightResponse) return true;
  if (current !== GlobalResponse) return false;
  Object.defineProperty(globalThis, 'Response', { value: LightResponse, writable: true, configurable: true });
  return true;
}

/** The Response constructor that was global before any override. */
export const NativeResponse: typeof Response = GlobalResponse;

// The shared lane's value encoding: the few kinds of value a small call mostly carries (primitives,
// strings, whole byte buffers), written straight into shared memory. Anything else is refused, and
// the call goes through structured clone instead, so what arrives is always what a clone would give.
import { TYPED_ARRAY_KINDS } from './typed-arrays.js';
import { isArrayBuffer } from 'node:util/types';
import { LARGE_BYTES } from './large-bytes.js';
import { copySmall } from '../copy-small.js';

/** A byte range of a SharedArrayBuffer, with the views the codec reads and writes through. */
export class Region {
  readonly u8: Uint8Array;
  readonly dv: DataView;
  readonly buf: Buffer;
  readonly capacity: number;

  constructor(shared: SharedArrayBuffer, offset: number, capacity: number) {
    this.u8 = new Uint8Array(shared, offset, capacity);
    this.dv = new DataView(shared, offset, capacity);
    this.buf = Buffer.from(shared, offset, capacity);
    this.capacity = capacity;
  }
}

const T_UNDEFINED = 0;
const T_NULL = 1;
const T_FALSE = 2;
const T_TRUE = 3;
const T_NUMBER = 4;
const T_STRING = 5;
const T_ARRAY_BUFFER = 6;
/** Typed arrays: T_VIEW + the index of their kind in {@link kinds}. */
const T_VIEW = 16;

/** What {@link encodeOne} returns for a value the lane does not carry. */
const REFUSED = -1;

// Strings below this many code units are written and read in JS; longer ones through Buffer's
// UTF-16 copy, whose call overhead only pays off past a few dozen characters.
const SHORT_STRING = 32;

// Byte values up to this size are copied byte by byte in JS (cheaper than making the views a bulk
// copy needs) and, read back, stay on V8's heap (no separate allocation). Past it, Buffer#fill
// copies: a plain memcpy, where V8's TypedArray#set into or out of shared memory copies in
// relaxed-atomic words, about 5 times slower at 10 KiB.
const SMALL_BYTES = 64;
const fill = Buffer.prototype.fill as (this: Uint8Array, value: Uint8Array, offset: number, end: number) => Uint8Array;

// The intrinsic %TypedArray%.prototype[@@toStringTag] getter: the kind of any typed array (undefined
// for anything else), a Buffer or subclass included, which structured clone also turns into its kind.
const kindOf = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), Symbol.toStringTag)!
  .get as (this: unknown) => string | undefined;

// The intrinsic getters, called directly: a subclass (or a Proxy) may override the properties, and
// structured clone reads the internal slots, not the properties. None of them runs user code.
const typedArrayProto = Object.getPrototypeOf(Uint8Array.prototype) as object;
const intrinsic = <T>(proto: object, name: string) =>
  Object.getOwnPropertyDescriptor(proto, name)!.get as (this: unknown) => T;
const viewBuffer = intrinsic<ArrayBufferLike>(typedArrayProto, 'buffer');
const viewOffset = intrinsic<number>(typedArrayProto, 'byteOffset');
const viewLength = intrinsic<number>(typedArrayProto, 'byteLength');
const bufferLength = intrinsic<number>(ArrayBuffer.prototype, 'byteLength');
const bufferResizable = intrinsic<boolean>(ArrayBuffer.prototype, 'resizable');

const kinds = TYPED_ARRAY_KINDS;
const kindIndex = new Map<string | undefined, number>(kinds.map((ctor, i) => [ctor.name, i]));

/**
 * The last few small Uint8Arrays this thread decoded from the lane or found whole when encoding:
 * known to be whole without reading `.buffer` again, which for a small array means moving it off
 * V8's heap (an allocation) and is the costliest step of passing one on. Whole stays whole: a
 * view's buffer and offset never change and these buffers are not resizable; detaching one (a
 * transfer) shows as length 0 (see {@link recentLength}). A short ring of strong references (at most 8 × 64 bytes kept
 * alive) is cheaper to search than a WeakSet is to add to. Slots 0–3 hold arrays found when
 * encoding, 4–7 arrays made when decoding: a caller sending the same array call after call would
 * otherwise see it pushed out by the results it reads back, and take the long way every 8 calls.
 */
const recent: Array<Uint8Array | undefined> = [
  undefined,
  undefined,
  undefined,
  undefined,
  undefined,
  undefined,
  undefined,
  undefined,
];
/**
 * The byte length of each view in {@link recent}, read when it was remembered: a view's length
 * never changes but to 0 when its buffer is detached, which reading its first element shows
 * (undefined) without a getter call (an intrinsic getter called through `.call` is a generic call
 * in optimized code, ~100 instructions), and element reads of a typed array run no user code.
 */
const recentLength = [0, 0, 0, 0, 0, 0, 0, 0];
let foundNext = 0;
let madeNext = 4;
// The slots of the array remembered last of each kind, looked at before the scan (see writeOne).
let lastFound = 0;
let lastMade = 4;

// The slot of `view` in `recent`, or -1.
function recentSlot(view: Uint8Array): number {
  for (let i = 0; i < 8; i++) if (recent[i] === view) return i;
  return -1;
}

function rememberFound(view: Uint8Array, n: number): void {
  recent[foundNext] = view;
  recentLength[foundNext] = n;
  lastFound = foundNext;
  foundNext = (foundNext + 1) & 3;
}

function rememberMade(view: Uint8Array, n: number): void {
  recent[madeNext] = view;
  recentLength[madeNext] = n;
  lastMade = madeNext;
  madeNext = ((madeNext + 1) & 3) | 4;
}

/**
 * The buffer of a byte value the lane may copy in place of a clone: a non-empty plain ArrayBuffer
 * of this realm (not shared, not resizable), or a typed array spanning all of one. An empty one may
 * be detached, which a clone refuses: those go the clone's way, as do partial views (a clone keeps
 * the whole buffer) and DataViews.
 */
function wholeBuffer(value: object, kind: string | undefined): ArrayBuffer | undefined {
  if (kind !== undefined) {
    const buffer = viewBuffer.call(value);
    const n = viewLength.call(value);
    if (viewOffset.call(value) !== 0 || n === 0 || !isArrayBuffer(buffer) || n !== bufferLength.call(buffer))
      return undefined;
    if (bufferResizable.call(buffer)) return undefined;
    if (kind === 'Uint8Array' && n <= SMALL_BYTES) rememberFound(value as Uint8Array, n);
    return buffer;
  }
  if (isArrayBuffer(value) && bufferLength.call(value) !== 0 && !bufferResizable.call(value)) return value;
  return undefined;
}

/**
 * Writes `value` at `at` in `r` and returns where the next value goes, or -1 when the lane does
 * not carry this value or it does not fit.
 */
function encodeOne(r: Region, value: unknown, at: number): number {
  const u8 = r.u8;
  if (at >= r.capacity) return REFUSED;
  switch (typeof value) {
    case 'undefined':
      u8[at] = T_UNDEFINED;
      return at + 1;
    case 'boolean':
      u8[at] = value ? T_TRUE : T_FALSE;
      return at + 1;
    case 'number':
      if (at + 9 > r.capacity) return REFUSED;
      u8[at] = T_NUMBER;
      r.dv.setFloat64(at + 1, value, true);
      return at + 9;
    case 'string': {
      const n = value.length;
      const end = at + 5 + 2 * n;
      if (end > r.capacity) return REFUSED;
      u8[at] = T_STRING;
      r.dv.setUint32(at + 1, n, true);
      if (n < SHORT_STRING) {
        for (let i = 0; i < n; i++) r.dv.setUint16(at + 5 + 2 * i, value.charCodeAt(i), true);
      } else {
        r.buf.write(value, at + 5, 2 * n, 'utf16le');
      }
      return end;
    }
    case 'object': {
      if (value === null) {
        u8[at] = T_NULL;
        return at + 1;
      }
      const kind = kindOf.call(value);
      const buffer = wholeBuffer(value, kind);
      if (buffer === undefined) return REFUSED;
      const bytes = kind === 'Uint8Array' ? (value as Uint8Array) : new Uint8Array(buffer);
      const n = viewLength.call(bytes);
      const end = at + 5 + n;
      if (n >= LARGE_BYTES || end > r.capacity) return REFUSED;
      u8[at] = kind === undefined ? T_ARRAY_BUFFER : kind === 'Uint8Array' ? T_VIEW : T_VIEW + kindIndex.get(kind)!;
      r.dv.setUint32(at + 1, n, true);
      const start = at + 5;
      if (n <= SMALL_BYTES) copySmall(u8, start, bytes, 0, n);
      else fill.call(u8, bytes, start, end);
      return end;
    }
    default:
      return REFUSED; // bigint, symbol, function: bigint is rare, the others a clone refuses too
  }
}

/**
 * {@link encodeOne}, with the commonest value of a small call, a small Uint8Array this thread has
 * already found whole or made (see {@link recent}), written here: its length is known. Small
 * enough to be inlined where it is called, so that path is compiled with its caller, early on: a
 * call that returned from encodeOne at once would leave encodeOne to be optimized thousands of calls
 * later, as V8 counts a function's executed bytecode, not its calls.
 */
function writeOne(r: Region, value: unknown, at: number): number {
  // The array made last (an export echoing its argument) or found last (a caller sending one array
  // call after call) before the scan: ~20 instructions a slot looked at.
  const slot =
    typeof value !== 'object' || value === null
      ? -1
      : value === recent[lastMade]
        ? lastMade
        : value === recent[lastFound]
          ? lastFound
          : recentSlot(value as Uint8Array);
  return slot >= 0 ? encodeRecent(r, value as Uint8Array, recentLength[slot]!, at) : encodeOne(r, value, at);
}

// encodeOne for a view in `recent`, `n` bytes long: a whole Uint8Array of at most SMALL_BYTES, unless
// detached since (its first element then reads undefined) or empty.
function encodeRecent(r: Region, bytes: Uint8Array, n: number, at: number): number {
  const start = at + 5;
  const end = start + n;
  if (n === 0 || bytes[0] === undefined || end > r.capacity) return REFUSED;
  const u8 = r.u8;
  u8[at] = T_VIEW;
  r.dv.setUint32(at + 1, n, true);
  copySmall(u8, start, bytes, 0, n);
  return end;
}

/** Writes one value at the start of `r`; its byte length, or -1 when the lane does not carry it. */
export function encodeValue(r: Region, value: unknown): number {
  return writeOne(r, value, 0);
}

/**
 * Writes a call's arguments at the start of `r`; their byte length, or -1 when one of them is not
 * carried. Two arguments holding one buffer are refused: a clone keeps them one buffer.
 */
export function encodeArgs(r: Region, args: readonly unknown[]): number {
  const count = args.length;
  if (count > 255) return REFUSED;
  r.u8[0] = count;
  let at = 1;
  for (let i = 0; i < count; i++) {
    const arg = args[i];
    at = writeOne(r, arg, at);
    if (at < 0) return REFUSED;
    if (typeof arg === 'object' && arg !== null && i > 0 && sharesBuffer(args, i)) return REFUSED;
  }
  return at;
}

/** {@link encodeArgs} for the one argument `value` of a call of one argument, not put in an array. */
export function encodeOnlyArg(r: Region, value: unknown): number {
  r.u8[0] = 1;
  return writeOne(r, value, 1);
}

// True if args[i] (a byte value) holds the same buffer as an earlier argument.
function sharesBuffer(args: readonly unknown[], i: number): boolean {
  const mine = bufferOf(args[i] as object);
  for (let j = 0; j < i; j++) {
    const other = args[j];
    if (typeof other === 'object' && other !== null && bufferOf(other) === mine) return true;
  }
  return false;
}

function bufferOf(value: object): ArrayBufferLike {
  return kindOf.call(value) === undefined ? (value as ArrayBuffer) : viewBuffer.call(value);
}

/** The cursor {@link decodeOne} advances; one per thread is enough (decoding never nests). */
const cursor = { at: 0 };

function decodeOne(r: Region): unknown {
  const at = cursor.at;
  const tag = r.u8[at]!;
  switch (tag) {
    case T_UNDEFINED:
      cursor.at = at + 1;
      return undefined;
    case T_NULL:
      cursor.at = at + 1;
      return null;
    case T_FALSE:
      cursor.at = at + 1;
      return false;
    case T_TRUE:
      cursor.at = at + 1;
      return true;
    case T_NUMBER:
      cursor.at = at + 9;
      return r.dv.getFloat64(at + 1, true);
    case T_STRING: {
      const n = r.dv.getUint32(at + 1, true);
      const start = at + 5;
      cursor.at = start + 2 * n;
      if (n >= SHORT_STRING) return r.buf.toString('utf16le', start, start + 2 * n);
      let s = '';
      for (let i = 0; i < n; i++) s += String.fromCharCode(r.dv.getUint16(start + 2 * i, true));
      return s;
    }
    default: {
      const n = r.dv.getUint32(at + 1, true);
      const start = at + 5;
      cursor.at = start + n;
      if (tag === T_VIEW && n <= SMALL_BYTES) return smallBytes(r, start, n);
      // Uninitialised memory (no zero-fill pass) is safe: every byte is overwritten at once.
      const buffer = fill.call(Buffer.allocUnsafeSlow(n), r.u8.subarray(start, start + n), 0, n).buffer as ArrayBuffer;
      if (tag === T_ARRAY_BUFFER) return buffer;
      return new kinds[tag - T_VIEW]!(buffer);
    }
  }
}

// A Uint8Array of at most SMALL_BYTES: copied byte by byte onto V8's heap, and remembered as whole.
function smallBytes(r: Region, start: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  copySmall(out, 0, r.u8, start, n);
  rememberMade(out, n);
  return out;
}

/** {@link decodeOne}, with a small Uint8Array read here (see {@link writeOne} for why). */
function readOne(r: Region): unknown {
  const at = cursor.at;
  if (r.u8[at] === T_VIEW) {
    const n = r.dv.getUint32(at + 1, true);
    if (n <= SMALL_BYTES) {
      cursor.at = at + 5 + n;
      return smallBytes(r, at + 5, n);
    }
  }
  return decodeOne(r);
}

/** Reads the value {@link encodeValue} wrote at the start of `r`. */
export function decodeValue(r: Region): unknown {
  cursor.at = 0;
  return readOne(r);
}

/** The number of arguments {@link encodeArgs} wrote at the start of `r`. */
export function callArity(r: Region): number {
  return r.u8[0]!;
}

/** Reads the one argument of a call of one argument (see {@link callArity}) written at the start of `r`. */
export function decodeOnlyArg(r: Region): unknown {
  cursor.at = 1;
  return readOne(r);
}

/** Reads the arguments {@link encodeArgs} wrote at the start of `r`. */
export function decodeArgs(r: Region): unknown[] {
  const count = r.u8[0]!;
  cursor.at = 1;
  const args = new Array<unknown>(count);
  for (let i = 0; i < count; i++) args[i] = readOne(r);
  return args;
}

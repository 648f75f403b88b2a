// Large byte payloads skip structured clone (a copy into the serializer, then one out of it):
// arguments go as a transferred private copy, results through a reusable shared scratch region.
// Arguments do not take a scratch region too: the reactor would then copy them out again, and that
// copy (~1M instructions per MiB) cost more than the full GCs it avoided, which a one-byte
// allocation per such call avoids instead (see noteArrivedBytes in the reactor's entry).
import type { TransferListItem } from 'node:worker_threads';
import { isArrayBuffer, isTypedArray } from 'node:util/types';
import type { ScratchBytes } from './protocol.js';
import { TYPED_ARRAY_KINDS, type ViewCtor } from './typed-arrays.js';

/**
 * Smallest payload that skips structured clone. Below it a clone costs the same or less (a
 * same-thread post + receive measured even at 32–64 KiB; at 1 MiB a moved copy took ~0.6 × the clone).
 */
export const LARGE_BYTES = 64 * 1024;

// The intrinsic %TypedArray%.prototype[@@toStringTag] getter: names the kind even for a Buffer or a
// subclass, which structured clone also turns into the plain kind.
const kindOf = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), Symbol.toStringTag)!
  .get as (this: ArrayBufferView) => string;

const ctors: Record<string, ViewCtor> = Object.fromEntries(TYPED_ARRAY_KINDS.map((ctor) => [ctor.name, ctor]));

/**
 * The buffer behind `value` when a copy of it may stand in for a structured clone: a plain
 * (not shared, not resizable) ArrayBuffer, or a typed array spanning all of one, of at least
 * {@link LARGE_BYTES}, and not already being transferred. Otherwise undefined.
 */
function largeBuffer(value: unknown, transfer: readonly TransferListItem[] | undefined): ArrayBuffer | undefined {
  let buffer: ArrayBuffer;
  if (isTypedArray(value)) {
    // A view on part of its buffer clones the whole buffer, offset kept: leave that to the clone.
    if (value.byteOffset !== 0 || !isArrayBuffer(value.buffer) || value.byteLength !== value.buffer.byteLength)
      return undefined;
    buffer = value.buffer;
  } else if (isArrayBuffer(value)) {
    buffer = value;
  } else {
    return undefined;
  }
  if (buffer.byteLength < LARGE_BYTES || (buffer as { resizable?: boolean }).resizable === true) return undefined;
  if (transfer?.includes(buffer)) return undefined;
  return buffer;
}

function kindName(value: ArrayBufferView | ArrayBuffer): string {
  return isArrayBuffer(value) ? 'ArrayBuffer' : kindOf.call(value);
}

// A fresh ArrayBuffer holding `bytes`, as a value of `kind`. Uninitialised memory (no zero-fill
// pass) is safe: every byte is overwritten at once.
function copyAs(kind: string, bytes: Uint8Array): ArrayBufferView | ArrayBuffer {
  const out = Buffer.allocUnsafeSlow(bytes.byteLength);
  out.set(bytes);
  const copy = out.buffer as ArrayBuffer; // allocUnsafeSlow never pools: exactly these bytes
  return kind === 'ArrayBuffer' ? copy : new ctors[kind]!(copy);
}

function copyOf(value: ArrayBufferView | ArrayBuffer, buffer: ArrayBuffer): ArrayBufferView | ArrayBuffer {
  return copyAs(kindName(value), new Uint8Array(buffer));
}

/** A value prepared for posting: send `value` with `transfer`. */
export interface Moved<T> {
  readonly value: T;
  readonly transfer: readonly TransferListItem[];
}

/**
 * Replaces the large byte arguments in `args` by transferred copies, or returns undefined to post
 * `args` as they are. Only when every other argument is a primitive: a clone keeps two references
 * to one buffer pointing at one copy, which a per-argument copy could not promise for a buffer also
 * reachable from inside an object.
 */
export function moveLargeArgs(
  args: readonly unknown[],
  transfer: readonly TransferListItem[] | undefined,
): Moved<unknown[]> | undefined {
  const buffers: Array<ArrayBuffer | undefined> = [];
  for (const arg of args) {
    if ((typeof arg !== 'object' || arg === null) && typeof arg !== 'function') {
      buffers.push(undefined);
      continue;
    }
    const buffer = largeBuffer(arg, transfer);
    if (buffer === undefined || buffers.includes(buffer)) return undefined;
    buffers.push(buffer);
  }
  let out: unknown[] | undefined;
  const moved: ArrayBuffer[] = [];
  for (let i = 0; i < args.length; i++) {
    const buffer = buffers[i];
    if (buffer === undefined) continue;
    const copy = copyOf(args[i] as ArrayBufferView | ArrayBuffer, buffer);
    (out ??= [...args])[i] = copy;
    moved.push(isArrayBuffer(copy) ? copy : (copy.buffer as ArrayBuffer));
  }
  if (out === undefined) return undefined;
  return { value: out, transfer: transfer === undefined ? moved : [...transfer, ...moved] };
}

/** A transferred copy of `value` if it is a large byte payload (see {@link moveLargeArgs}), else undefined. */
export function moveLargeValue(value: unknown): Moved<unknown> | undefined {
  const buffer = largeBuffer(value, undefined);
  if (buffer === undefined) return undefined;
  const copy = copyOf(value as ArrayBufferView | ArrayBuffer, buffer);
  return { value: copy, transfer: [isArrayBuffer(copy) ? copy : (copy.buffer as ArrayBuffer)] };
}

/**
 * Largest result passed through a scratch region; larger ones are moved instead, so a connection
 * never keeps more than this allocated.
 */
export const SCRATCH_MAX_BYTES = 16 * 1024 * 1024;

// Int32 0 of a region is 1 while it holds a result the caller has not copied out; bytes follow.
const HEADER = 8;

/**
 * The reactor's end of one connection's scratch region. A result copied into it (already
 * mapped memory, no page faults after the first use) is copied out once by the caller. A moved
 * copy made here was slower: the caller's GC frees it, and this thread's malloc arena then
 * faulted fresh pages in for the next one (see bench/sync-RESULTS.md).
 */
export class ScratchWriter {
  #region: SharedArrayBuffer | undefined;
  #busy: Int32Array | undefined;

  /**
   * Puts `value` in the region and returns what the caller needs to take it out, or undefined
   * when `value` is not a large byte payload (or too large), or the caller still holds the region.
   */
  write(value: unknown): ScratchBytes | undefined {
    const buffer = largeBuffer(value, undefined);
    if (buffer === undefined || buffer.byteLength > SCRATCH_MAX_BYTES) return undefined;
    if (this.#busy !== undefined && Atomics.compareExchange(this.#busy, 0, 0, 1) !== 0) return undefined;
    const n = buffer.byteLength;
    let grown: SharedArrayBuffer | undefined;
    if (this.#region === undefined || this.#region.byteLength - HEADER < n) {
      const size = Math.min(SCRATCH_MAX_BYTES, Math.max(n, 2 * ((this.#region?.byteLength ?? HEADER) - HEADER)));
      grown = this.#region = new SharedArrayBuffer(HEADER + size);
      this.#busy = new Int32Array(grown, 0, 1);
      Atomics.store(this.#busy, 0, 1);
    }
    new Uint8Array(this.#region, HEADER, n).set(new Uint8Array(buffer));
    const kind = kindName(value as ArrayBufferView | ArrayBuffer);
    return grown === undefined ? { kind, byteLength: n } : { kind, byteLength: n, scratch: grown };
  }
}

/** The caller's end of a connection's scratch region (see {@link ScratchWriter}). */
export class ScratchReader {
  #region: SharedArrayBuffer | undefined;
  #busy: Int32Array | undefined;

  /** Copies the result described by `bytes` out of the region and frees the region. */
  read(bytes: ScratchBytes): ArrayBufferView | ArrayBuffer {
    const region = this.#adopt(bytes);
    const value = copyAs(bytes.kind, new Uint8Array(region, HEADER, bytes.byteLength));
    Atomics.store(this.#busy!, 0, 0);
    return value;
  }

  /** Frees the region without copying: the call was cancelled or timed out. */
  release(bytes: ScratchBytes): void {
    this.#adopt(bytes);
    Atomics.store(this.#busy!, 0, 0);
  }

  #adopt(bytes: ScratchBytes): SharedArrayBuffer {
    if (bytes.scratch !== undefined) {
      this.#region = bytes.scratch;
      this.#busy = new Int32Array(bytes.scratch, 0, 1);
    }
    return this.#region!;
  }
}

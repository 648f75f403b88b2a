// Every typed array constructor, in a fixed order: the shared lane's wire codes are indexes into
// this list (lane-codec.ts), and the scratch region rebuilds a result's view by name (large-bytes.ts).

/** A typed array constructor over a whole buffer. */
export type ViewCtor = new (buffer: ArrayBuffer) => ArrayBufferView;

/** The typed array kinds, in wire order: never reorder (append only). */
export const TYPED_ARRAY_KINDS: readonly ViewCtor[] = [
  Uint8Array,
  Int8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
];

import test from 'ava';
import {
  LARGE_BYTES,
  SCRATCH_MAX_BYTES,
  ScratchReader,
  ScratchWriter,
  moveLargeArgs,
  moveLargeValue,
} from '../../src/sync/large-bytes.js';
import { reactorHandle, runInReactor, runSync, syncify } from '../../src/sync/index.js';
import { SIZES } from '../fixtures/sync/bytes-caller.js';
import { tsWorker } from '../fixtures/sync/ts-worker.js';

// Exports that report what the reactor received, so the tests can compare it with a structured clone.
const probe = `data:text/javascript,${encodeURIComponent(`
  import { PerformanceObserver, constants } from 'node:perf_hooks';
  const gcs = { minor: 0, major: 0 };
  let watching;
  export async function gcWatch() {
    watching ??= new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MINOR) gcs.minor++;
        else if (e.detail.kind !== constants.NODE_PERFORMANCE_GC_WEAKCB) gcs.major++;
      }
    });
    watching.observe({ entryTypes: ['gc'] });
    gcs.minor = gcs.major = 0;
  }
  export async function gcSeen() {
    await new Promise((r) => setTimeout(r, 100)); // entries reach the observer through the event loop
    return gcs;
  }
  export async function echo(v) { return v; }
  export async function describe(v) {
    const buf = ArrayBuffer.isView(v) ? v.buffer : v;
    return { tag: Object.prototype.toString.call(v), byteOffset: v.byteOffset ?? 0, bufferLength: buf.byteLength,
             shared: Object.prototype.toString.call(buf) === '[object SharedArrayBuffer]' };
  }
  export async function same(a, b) { return a === b || a === b.ref || a.buffer === b.buffer; }
  let kept;
  export async function keep(v) { kept = v; return v[0]; }
  export async function kept0() { return kept[0]; }
  export async function fill(v, n) { new Uint8Array(v.buffer ?? v).fill(n); return v; }
  export async function bytes(n, value, ms = 0) {
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
    return new Uint8Array(n).fill(value);
  }
`)}`;

const big = LARGE_BYTES;
const tagOf = (v: unknown): string => Object.prototype.toString.call(v);

test('large typed arrays, Buffers and ArrayBuffers arrive and return as a structured clone would give them', (t) => {
  const echo = syncify<(v: unknown) => Promise<unknown>>(probe, 'echo');
  const values: unknown[] = [
    new Uint8Array(big).map((_, i) => i & 0xff),
    new Float64Array(big / 8).map((_, i) => i / 3),
    new BigInt64Array(big / 8).map((_, i) => BigInt(i) - 5n),
    Buffer.alloc(big, 7),
    new Uint8ClampedArray(big).fill(9).buffer,
  ];
  for (const v of values) {
    const clone = structuredClone(v);
    const back = echo(v);
    t.not(back, v);
    t.is(tagOf(back), tagOf(clone), 'same kind as a clone (a Buffer comes back a Uint8Array)');
    t.deepEqual(back, clone);
    t.is((v as ArrayBuffer).byteLength, (clone as ArrayBuffer).byteLength, 'the caller’s value is not detached');
    t.deepEqual(runSync({ module: probe, export: 'describe' }, v), {
      tag: tagOf(clone),
      byteOffset: 0,
      bufferLength: big,
      shared: false,
    });
  }
});

test('caller and reactor hold separate copies of a large argument and result', (t) => {
  const bytes = new Uint8Array(big).fill(1);
  t.is(runSync({ module: probe, export: 'keep' }, bytes), 1);
  bytes.fill(2);
  t.is(runSync({ module: probe, export: 'kept0' }), 1, 'a later write by the caller does not reach the reactor’s copy');
  const back = runSync<Uint8Array>({ module: probe, export: 'fill' }, bytes, 3);
  t.is(back[0], 3);
  t.is(bytes[0], 2, 'the reactor’s write does not reach the caller’s buffer');
});

test('shared references, partial views, shared memory and transferList keep structured-clone behaviour', (t) => {
  const bytes = new Uint8Array(big);
  t.true(runSync({ module: probe, export: 'same' }, bytes, bytes), 'one array passed twice stays one array');
  t.true(
    runSync({ module: probe, export: 'same' }, bytes, { ref: bytes }),
    'an array also reachable from an object stays one array',
  );
  t.deepEqual(runSync({ module: probe, export: 'describe' }, bytes.subarray(16)), {
    tag: '[object Uint8Array]',
    byteOffset: 16,
    bufferLength: big,
    shared: false,
  });
  const shared = new Uint8Array(new SharedArrayBuffer(big));
  runSync({ module: probe, export: 'fill' }, shared, 5);
  t.is(shared[0], 5, 'shared memory is shared, not copied');
  const moved = new Uint8Array(big).fill(4);
  const back = runSync<Uint8Array>({ module: probe, export: 'echo', transferList: [moved.buffer] }, moved);
  t.is(moved.byteLength, 0, 'a buffer in transferList is moved, as asked');
  t.is(back[big - 1], 4);
});

test('moveLargeArgs copies only large whole buffers, and only beside primitives', (t) => {
  const large = new Uint8Array(big);
  const cases: Array<[string, unknown[], boolean]> = [
    ['no arguments', [], false],
    ['primitives only', [1, 'a', null, undefined, 2n], false],
    ['a small array', [new Uint8Array(big - 1)], false],
    ['a large array', [large], true],
    ['a large array and primitives', ['utf8', large, 3], true],
    ['a large array twice', [large, large], false],
    ['a large array and a view on its buffer', [large, new Uint16Array(large.buffer)], false],
    ['a large array and an object', [large, {}], false],
    ['a partial view', [large.subarray(1)], false],
    ['a DataView', [new DataView(large.buffer)], false],
    ['shared memory', [new Uint8Array(new SharedArrayBuffer(big))], false],
    [
      'a resizable buffer',
      [new (ArrayBuffer as unknown as ResizableArrayBuffer)(big, { maxByteLength: 2 * big })],
      false,
    ],
  ];
  for (const [name, args, expected] of cases) {
    const moved = moveLargeArgs(args, undefined);
    t.is(moved !== undefined, expected, name);
    if (moved !== undefined) {
      t.deepEqual(moved.value, args, name);
      t.is(moved.transfer.length, 1, name);
    }
  }
  t.is(moveLargeArgs([large], [large.buffer]), undefined, 'already in the transfer list');
  const port = new MessageChannel().port1;
  t.deepEqual(moveLargeArgs([large], [port])?.transfer.slice(0, 1), [port], 'the caller’s transfer list is kept');
  port.close();
  t.is(moveLargeValue({ bytes: large }), undefined, 'a result is only moved when it is the byte payload itself');
  t.truthy(moveLargeValue(large.buffer));
});

test.serial('large arguments moved into the reactor are freed by young-generation GCs, not full ones', (t) => {
  // A moved argument adds to the reactor's external-memory count; with nothing else making the
  // reactor collect, the count reaches its limit (64 MiB) and V8 runs a full GC for it.
  const echo = syncify<(v: Uint8Array) => Promise<Uint8Array>>(probe, 'echo');
  const bytes = new Uint8Array(1 << 20).map((_, i) => i % 251);
  runSync({ module: probe, export: 'gcWatch' });
  for (let i = 0; i < 200; i++) {
    const back = echo(bytes);
    if (back.byteLength !== bytes.byteLength || back[1000] !== 1000 % 251) t.fail(`call ${i} came back wrong`);
  }
  const seen = runSync<{ minor: number; major: number }>({ module: probe, export: 'gcSeen' });
  t.is(seen.major, 0, `no full GC for 200 MiB of arguments (${seen.major})`);
  t.true(seen.minor >= 2, `young-generation GCs freed the arguments (${seen.minor})`);
});

const filledWith = (bytes: Uint8Array, n: number, value: number): boolean =>
  bytes.byteLength === n && bytes.every((b) => b === value);

test('large results of growing sizes, and one past the scratch limit, come back intact', (t) => {
  const bytes = syncify<(n: number, value: number) => Promise<Uint8Array>>(probe, 'bytes');
  const sizes = [big, 3 * big, big + 1, 1 << 20, 5 << 20, big, SCRATCH_MAX_BYTES + 1, 2 * big];
  for (const [i, n] of sizes.entries()) t.true(filledWith(bytes(n, i + 1), n, i + 1), `${n} bytes`);
});

test('several large results in flight at once, and one whose caller gave up, all settle correctly', async (t) => {
  runSync({ module: probe, export: 'bytes' }, 1, 0); // reactor up and module loaded: replies come at once
  const dropped = runInReactor<Uint8Array>(probe, 'bytes', [big, 9]);
  const calls = [1, 2, 3].map((i) => runInReactor<Uint8Array>(probe, 'bytes', [big * i, i, 5 * i]));
  await new Promise((r) => setTimeout(r, 80)); // every reply is queued before the first is read
  dropped.cancel(); // its reply, queued first, is dropped unread
  for (const [i, call] of calls.entries()) t.true(filledWith(call.wait(), big * (i + 1), i + 1));
  t.true(filledWith(await runInReactor<Uint8Array>(probe, 'bytes', [big, 4]), big, 4), 'read through the event loop');
  t.true(
    filledWith(runSync<Uint8Array>({ module: probe, export: 'bytes' }, 2 * big, 6), 2 * big, 6),
    'the region was freed',
  );
});

test('a scratch region is held until its result is read or released, and grows to fit', (t) => {
  const writer = new ScratchWriter();
  const reader = new ScratchReader();
  const first = writer.write(new Float32Array(big / 4).fill(1.5))!;
  t.truthy(first.scratch, 'the first write makes the region');
  t.is(writer.write(new Uint8Array(big)), undefined, 'busy until the caller reads it');
  t.deepEqual(reader.read(first), new Float32Array(big / 4).fill(1.5));
  const same = writer.write(new Uint8Array(big).fill(2))!;
  t.is(same.scratch, undefined, 'a result that fits reuses the region');
  reader.release(same);
  const grown = writer.write(new Uint8Array(4 * big).fill(3).buffer)!;
  t.truthy(grown.scratch);
  t.deepEqual(reader.read(grown), new Uint8Array(4 * big).fill(3).buffer);
  t.is(writer.write(new Uint8Array(big - 1)), undefined, 'small results are cloned');
  t.is(writer.write(new Uint8Array(SCRATCH_MAX_BYTES + 1)), undefined, 'past the limit results are moved');
});

/** Node 20's ArrayBuffer takes maxByteLength; lib ES2024 types do, older ones do not. */
type ResizableArrayBuffer = new (length: number, options: { maxByteLength: number }) => ArrayBuffer;

test('four threads on one reactor send large arguments of every kind and size around the threshold at once, intact', async (t) => {
  const file = new URL('../fixtures/sync/bytes-caller.ts', import.meta.url);
  const rounds = 2;
  const workers = Array.from({ length: 4 }, (_, thread) => {
    const reactor = reactorHandle();
    return tsWorker(file, { workerData: { bytesCaller: true, thread, rounds, reactor }, transferList: [reactor.port] });
  });
  try {
    const reports = await Promise.all(
      workers.map(
        (w) =>
          new Promise<{ calls: number; problems: string[] }>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error('a thread made no progress in 60 s')), 60_000);
            w.once('message', (m: { calls: number; problems: string[] }) => {
              clearTimeout(timer);
              resolve(m);
            });
            w.once('error', reject);
          }),
      ),
    );
    for (const [thread, r] of reports.entries()) {
      t.is(r.calls, rounds * SIZES.length * 6, `thread ${thread}`);
      t.deepEqual(r.problems, [], `thread ${thread}`);
    }
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
});

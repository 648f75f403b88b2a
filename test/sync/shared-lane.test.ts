import test from 'ava';
import type { AlbanyError } from '../../src/errors.js';
import { Region, decodeArgs, decodeValue, encodeArgs, encodeValue } from '../../src/sync/lane-codec.js';
import { LARGE_BYTES } from '../../src/sync/large-bytes.js';
import { runInReactor, runSync, syncify } from '../../src/sync/index.js';

// Exports that let the tests see what the reactor received and in which order calls started.
const probe = `data:text/javascript,${encodeURIComponent(`
  export async function echo(v) { return v; }
  export async function tagOf(v) { return Object.prototype.toString.call(v) + ':' + (v?.byteLength ?? '') + ':' + (v?.buffer?.byteLength ?? ''); }
  const order = [];
  export async function record(v) { order.push(typeof v === 'object' ? v.i : v); return order.length; }
  export async function recorded() { return order.splice(0); }
  export async function later(v, ms) { await new Promise((r) => setTimeout(r, ms)); return v; }
  export async function blockThen(v, ms) { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms); return v; }
  export function waitForAbort() {
    const signal = this.signal;
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve('not aborted'), 5000);
      signal.addEventListener('abort', () => { clearTimeout(timer); globalThis.__abort = signal.reason?.code; resolve('aborted'); });
    });
  }
  export async function lastAbort() { const c = globalThis.__abort ?? null; globalThis.__abort = null; return c; }
  export function throwsNow(n) { const e = new RangeError('thrown at once ' + n); e.code = 'E_NOW'; throw e; }
  export function rejects(n) { return Promise.reject(Object.assign(new SyntaxError('rejected ' + n), { n })); }
  export function plain(n) { return n + 1; }
  export function thenable(n) { return { then(resolve) { resolve(n * 2); } }; }
  export function sees() { return typeof this.signal?.aborted; }
  export let swapped = async (n) => 'first ' + n;
  export async function swap() { swapped = async (n) => 'second ' + n; }
  export const notAFunction = 5;
`)}`;

const region = (): Region => new Region(new SharedArrayBuffer(LARGE_BYTES + 256), 8, LARGE_BYTES + 128);
const tag = (v: unknown): string => Object.prototype.toString.call(v);

test('the lane codec gives what structured clone gives, for every kind it carries', (t) => {
  const r = region();
  const values: unknown[] = [
    undefined,
    null,
    true,
    false,
    0,
    -0,
    Number.NaN,
    1.5,
    2 ** 53 + 2,
    -Infinity,
    '',
    'héllo',
    'lone \ud800 surrogate',
    `${'x'.repeat(40)}\u{1F600}\udc00 past the short-string loop`,
    new Uint8Array([1, 2, 3]),
    new Uint8Array(200).map((_, i) => i),
    Buffer.alloc(12, 7),
    new Float64Array([1.5, -0, Number.NaN]),
    new BigInt64Array([-5n, 2n ** 62n]),
    new Uint8ClampedArray([255, 0]),
    new Int16Array(100).fill(-3),
    new Uint8Array([9, 8]).buffer,
    new ArrayBuffer(300),
    // A subclass that lies about its size: a clone (and the lane) read the real one.
    new (class Odd extends Uint8Array {
      override get byteLength(): number {
        return 1;
      }
    })(4).fill(2),
  ];
  for (const v of values) {
    t.true(encodeValue(r, v) > 0, `carried: ${tag(v)} ${String(v).slice(0, 20)}`);
    const back = decodeValue(r);
    const clone = structuredClone(v);
    t.is(tag(back), tag(clone), 'same kind (a Buffer arrives as a Uint8Array)');
    if (typeof v === 'number') t.true(Object.is(back, v), `${v} keeps its bits`);
    else t.deepEqual(back, clone);
    if (typeof v === 'object' && v !== null) {
      t.not(back, v, 'a copy');
      const buffer = ArrayBuffer.isView(back) ? back.buffer : (back as ArrayBuffer);
      t.is(buffer.byteLength, (back as ArrayBuffer).byteLength, 'over a buffer of exactly its size');
      t.false(buffer instanceof SharedArrayBuffer);
    }
  }
  t.true(encodeArgs(r, values) > 0);
  t.deepEqual(
    decodeArgs(r).map(tag),
    values.map((v) => tag(structuredClone(v))),
  );
});

test('small Uint8Arrays the codec already knows (sent before, or decoded) are copied afresh each time, or refused once detached', (t) => {
  const r = region();
  const sent = new Uint8Array([1, 2, 3]);
  for (let i = 0; i < 20; i++) {
    sent[0] = i; // the same array, sent call after call between decoded results: its bytes of the moment
    t.true(encodeArgs(r, [sent]) > 0);
    const [back] = decodeArgs(r) as [Uint8Array];
    t.deepEqual([...back], [i, 2, 3]);
    t.true(encodeValue(r, back) > 0, 'a decoded array is carried back');
    t.deepEqual([...(decodeValue(r) as Uint8Array)], [i, 2, 3]);
  }
  t.true(encodeArgs(r, [sent, sent]) < 0, 'one known array twice is still one buffer twice');
  encodeValue(r, new Uint8Array([7, 7]));
  const decoded = decodeValue(r) as Uint8Array;
  for (const known of [sent, decoded]) {
    structuredClone(known, { transfer: [known.buffer as ArrayBuffer] });
    t.is(encodeArgs(r, [known]), -1, 'detached after the codec saw it');
    t.is(encodeValue(r, known), -1);
  }
});

test('the lane refuses what a copy could not stand in for, leaving it to structured clone', (t) => {
  const r = region();
  const bytes = new Uint8Array(16);
  const refused: Array<[string, unknown[]]> = [
    ['an object', [{ a: 1 }]],
    ['an array', [[1, 2]]],
    ['a bigint', [1n]],
    ['a partial view', [bytes.subarray(1)]],
    ['a view at an offset', [new Uint8Array(bytes.buffer, 4, 12)]],
    ['a pooled Buffer (part of a larger buffer)', [Buffer.from('abc')]],
    ['shared memory', [new Uint8Array(new SharedArrayBuffer(8))]],
    ['a resizable buffer', [new (ArrayBuffer as unknown as ResizableArrayBuffer)(8, { maxByteLength: 16 })]],
    ['an empty (maybe detached) view', [new Uint8Array(0)]],
    ['a DataView', [new DataView(new ArrayBuffer(8))]],
    ['one array twice', [bytes, bytes]],
    ['an array and its own buffer', [bytes, bytes.buffer]],
    ['bytes at the large-payload size', [new Uint8Array(LARGE_BYTES)]],
    ['a string that does not fit', ['x'.repeat(LARGE_BYTES)]],
    [
      'a Proxy, without running its traps',
      [
        new Proxy(new ArrayBuffer(8), {
          getPrototypeOf: () => {
            throw new Error('trap ran');
          },
        }),
      ],
    ],
  ];
  for (const [name, args] of refused) t.is(encodeArgs(r, args), -1, name);
  const moved = new Uint8Array(8);
  structuredClone(moved, { transfer: [moved.buffer] });
  t.is(encodeArgs(r, [moved]), -1, 'a detached view');
  t.true(encodeArgs(r, [bytes, new Uint8Array(16)]) > 0, 'two different arrays are fine');
});

test('small calls round-trip through the reactor with clone semantics, call after call', (t) => {
  const echo = syncify<(v: unknown) => Promise<unknown>>(probe, 'echo');
  for (let i = 0; i < 50; i++) t.is(echo(i), i); // the first registers the export, the rest take the lane
  const sent = Buffer.alloc(10, 3);
  const back = echo(sent) as Uint8Array;
  t.is(tag(back), '[object Uint8Array]');
  t.deepEqual([...back], [...sent]);
  sent.fill(4);
  t.is(back[0], 3, 'the caller’s array and the result share nothing');
  t.is(runSync({ module: probe, export: 'tagOf' }, Buffer.alloc(5)), '[object Uint8Array]:5:5');
  t.is(
    runSync({ module: probe, export: 'tagOf' }, Buffer.alloc(5)),
    '[object Uint8Array]:5:5',
    'the same through the lane',
  );
  t.is(echo('\ud800'), '\ud800');
  t.deepEqual(echo({ a: [1] }), { a: [1] }, 'other values still go through structured clone');
});

test('calls in flight start in the order they were made, whichever way each one went', async (t) => {
  runSync({ module: probe, export: 'recorded' });
  runSync({ module: probe, export: 'record' }, -1); // registered: from now on numbers take the lane
  runSync({ module: probe, export: 'recorded' });
  // Numbers take the lane when it is free, objects always the port: the two paths interleave.
  const calls = Array.from({ length: 40 }, (_, i) => runInReactor(probe, 'record', [i % 3 === 0 ? { i } : i]));
  await Promise.all(calls);
  t.deepEqual(
    runSync({ module: probe, export: 'recorded' }),
    Array.from({ length: 40 }, (_, i) => i),
  );
});

test('a lane reply already waiting when async code starts awaiting is delivered through the event loop', async (t) => {
  const later = syncify<(v: string, ms: number) => Promise<string>>(probe, 'later');
  t.is(later('warm', 1), 'warm');
  const r = runInReactor<string>(probe, 'later', ['waiting', 1]);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200); // the reply lands in the lane meanwhile
  t.is(await r, 'waiting');
  const [a, b] = await Promise.all([
    runInReactor<string>(probe, 'later', ['a', 30]),
    runInReactor<string>(probe, 'later', ['b', 10]),
  ]);
  t.deepEqual([a, b], ['a', 'b'], 'replies while listening take the port');
  t.is(later('after', 1), 'after', 'and the lane serves blocking calls again');
});

test('a lane reply caught when async code starts awaiting can still be waited on at once, and awaited', async (t) => {
  const echo = syncify<(v: string) => Promise<string>>(probe, 'echo');
  t.is(echo('warm'), 'warm');
  const r = runInReactor<string>(probe, 'echo', ['caught']);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200); // the reply lands in the lane meanwhile
  const awaited = r.then((v) => v); // starts listening now: the reply leaves the lane
  const started = performance.now();
  t.is(r.wait(2_000), 'caught', 'the blocking wait finds the reply the listener took');
  t.true(performance.now() - started < 1_000, 'at once, not at its timeout');
  t.is(await awaited, 'caught');
  t.is(echo('after'), 'after');
});

test('a lane call can be cancelled, and one that times out is aborted, like a port call', async (t) => {
  for (let round = 0; round < 2; round++) {
    const r = runInReactor(probe, 'waitForAbort', [], { timeoutMs: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    r.cancel();
    t.is(((await t.throwsAsync(Promise.resolve(r))) as AlbanyError).code, 'ERR_ALBANY_ABORTED');
    let seen: unknown = null;
    for (let i = 0; i < 100 && seen === null; i++) {
      seen = runSync({ module: probe, export: 'lastAbort' });
      if (seen === null) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    t.is(seen, 'ERR_ALBANY_ABORTED', `round ${round}: the export saw the abort`);
  }
  const slow = syncify(probe, 'later', { timeoutMs: 100 });
  for (let round = 0; round < 2; round++)
    t.is((t.throws(() => slow('late', 2000)) as AlbanyError).code, 'ERR_ALBANY_TIMEOUT');
  t.is(syncify(probe, 'echo')('next'), 'next', 'a late reply left in the lane does not answer a later call');
});

test('a reply that lands in the lane after its call timed out is dropped, never taken as a later call’s', (t) => {
  // The export blocks the reactor past the caller's timeout, so the cancel is still unread on the port
  // when it returns: its reply goes into the lane (and holds it), and the next call is answered
  // on the port while the caller wakes to the stale reply first.
  const blocking = syncify(probe, 'blockThen', { timeoutMs: 20 });
  const echo = syncify(probe, 'echo');
  for (let round = 0; round < 3; round++) {
    t.is((t.throws(() => blocking(`stale ${round}`, 150)) as AlbanyError).code, 'ERR_ALBANY_TIMEOUT');
    t.is(echo(`fresh ${round}`), `fresh ${round}`, `round ${round}: the call after it`);
    t.is(echo(`next ${round}`), `next ${round}`, `round ${round}: and the one after (the lane free again)`);
  }
  // The same with the stale reply still unwritten when the next call starts waiting.
  for (let round = 0; round < 3; round++) {
    const r = runInReactor(probe, 'blockThen', [`stale ${round}`, 150], { timeoutMs: 10_000 });
    t.is((t.throws(() => r.wait(20)) as AlbanyError).code, 'ERR_ALBANY_TIMEOUT');
    t.is(echo(`fresh ${round}`), `fresh ${round}`, `round ${round}: a call made while an earlier one runs`);
    t.is(r.wait(), `stale ${round}`, `round ${round}: the earlier one gets its own reply`);
  }
});

/** Node 20's ArrayBuffer takes maxByteLength; lib ES2024 types do, older ones do not. */
type ResizableArrayBuffer = new (length: number, options: { maxByteLength: number }) => ArrayBuffer;

test('on the lane, exports that throw, reject, return plain values or thenables, or are missing settle as on the port', (t) => {
  // The first call of each export registers it (port); the later ones take the lane.
  for (let i = 0; i < 4; i++) {
    const now = t.throws(() => runSync({ module: probe, export: 'throwsNow' }, i)) as Error & { code: string };
    t.is(now.name, 'RangeError');
    t.is(now.code, 'E_NOW');
    t.is(now.message, `thrown at once ${i}`);
    t.regex(now.stack!, /shared-lane\.test\.ts[\s\S]*--- in the reactor thread ---/, 'both stacks');
    const rejected = t.throws(() => runSync({ module: probe, export: 'rejects' }, i)) as Error & { n: number };
    t.is(rejected.name, 'SyntaxError');
    t.is(rejected.n, i);
    t.is(runSync({ module: probe, export: 'plain' }, i), i + 1);
    t.is(runSync({ module: probe, export: 'thenable' }, i), i * 2);
    t.is(runSync({ module: probe, export: 'sees' }), 'boolean', 'this is the call, with its signal');
    const missing = t.throws(() => runSync({ module: probe, export: 'notAFunction' }, i)) as AlbanyError;
    t.is(missing.code, 'ERR_ALBANY_UNKNOWN_SERVICE');
    t.regex(missing.message, /no function export named "notAFunction" \(found number\)/);
  }
});

test('a lane call reads the export’s live binding each time', (t) => {
  const swapped = syncify<(n: number) => Promise<string>>(probe, 'swapped');
  t.is(swapped(1), 'first 1');
  t.is(swapped(2), 'first 2');
  runSync({ module: probe, export: 'swap' });
  t.is(swapped(3), 'second 3');
});

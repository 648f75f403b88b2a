// The one place that types what crosses the thread boundary between the main thread and a legacy worker.
//
// Requests travel in batches: a piscina task carries every request queued when a thread came
// free, and the worker then stays in that task, taking the next batches from its thread's request
// ring in shared memory (see RingState) until none comes for a while. Responses that fit go back as
// result records in the batch's shared buffer, and its end is a word the main thread waits on: a
// handler that answers in one piece costs no message at all. Each worker also opens ONE persistent MessagePort (plus a wake counter) when it starts;
// streaming, request-body pulls, acks and runSync service calls travel on it, tagged with the
// request id, so no request ever creates a channel.
import type { MessagePort, TransferListItem } from 'node:worker_threads';
import { copySmall } from '../copy-small.js';
import type { SerializedError } from '../errors-wire.js';
import type { Address, Headers } from '../gateway/types.js';
import type { WireContext } from '../context/request-context.js';

/** How a legacy handler is called: WSGI `(environ, startResponse)`, plain `(request)`, or Node `(req, res)`. */
export type HandlerStyle = 'wsgi' | 'plain' | 'node';

const NO_BODY = new Uint8Array(0);

/**
 * Values of a request's state slot in its batch's shared buffer. A batch is an offer, not a
 * commitment: while a request is `queued` the main thread may take it back (compareExchange
 * queued → `stolen`) and hand it to a thread that came free; the worker starts only what it wins
 * with queued → running, so it skips a stolen request as it skips a cancelled one.
 */
export const TaskState = { queued: 0, running: 1, finished: 2, cancelled: 3, stolen: 4 } as const;

/**
 * Layout of a batch's SharedArrayBuffer for `n` requests. Int32 0: the worker's threadId (0 until
 * a worker picked the batch up); Int32 1: see {@link RESULTS_END_INDEX}; Int32 2: see
 * {@link DONE_INDEX}; Int32 3 unused. Per request `i`: Int32 state at {@link stateIndex} (main
 * cancels a not-yet-started request with compareExchange queued → cancelled; the worker starts it
 * with queued → running), Int32 "client gone" flag at {@link goneIndex}, Float64 start time (epoch
 * ms) at {@link startedAtIndex}.
 */
export function batchBytes(n: number): number {
  return 16 + 16 * n + RESULT_BYTES_PER_REQUEST * n;
}
export const THREAD_INDEX = 0;
/**
 * Int32 1 of a batch's buffer: bytes of result records written so far (see {@link writeResultRecord}).
 * The worker bumps it after a whole record is in place; the main thread reads records up to it.
 */
export const RESULTS_END_INDEX = 1;
/**
 * Int32 2 of a batch's buffer: 1 once the worker is done with the batch (every result is in a record
 * or was posted on the worker's port before). The worker notifies it; the main thread waits for it
 * with `Atomics.waitAsync`, so a batch's end costs no message, whichever way the batch came.
 */
export const DONE_INDEX = 2;
/**
 * Room for result records per request in a batch's buffer. A finished response that fits (a small
 * one: status, headers and body) is written there instead of travelling in a message, so the main
 * thread can take it whenever it looks (the batch's end, or a periodic look while a later request
 * of the batch still runs) and the worker never posts a message per request. What does not fit
 * travels on the port.
 */
export const RESULT_BYTES_PER_REQUEST = 1024;
/** Byte offset of a batch's result records for `n` requests. */
export const resultsOffset = (n: number): number => 16 + 16 * n;
export const stateIndex = (i: number): number => 4 + 2 * i;
export const goneIndex = (i: number): number => 5 + 2 * i;
export const startedAtIndex = (n: number, i: number): number => 2 + n + i;

/** What one legacy mount shares across its requests (sent once per batch: structured clone keeps identity). */
export interface MountSpec {
  /** `file:` URL of the handler module. */
  moduleUrl: string;
  /** Export to call; chosen by style or detection when absent. */
  exportName: string | undefined;
  /** Forced handler style; detected from the module when absent. */
  style: HandlerStyle | undefined;
  /** The worker waits for an ack after this many response bytes, so it cannot race ahead of the client. */
  ackBytes: number;
  /** … or after this many response messages, whichever comes first. */
  ackMessages: number;
}

/**
 * What the worker needs to know about the request; copied from the scope on the main thread (no per-request work
 * there).
 */
export interface LegacyRequest {
  /** Upper-case method. */
  method: string;
  /** Path relative to the mount point plus `?query`, as a Node `req.url`. */
  url: string;
  /** Decoded path (WSGI PATH_INFO). */
  path: string;
  /** Mount point (WSGI SCRIPT_NAME). */
  rootPath: string;
  /** Raw query string without "?". */
  queryString: string;
  scheme: string;
  httpVersion: string;
  server: Address;
  client: Address;
  /** Header list as the gateway carries it (lower-case names, duplicates kept). */
  headers: Headers;
}

/** One request as handed to the pool. */
export interface LegacyTask {
  mount: MountSpec;
  request: LegacyRequest;
  /** The first request-body chunk (often the whole body). */
  body: Uint8Array;
  /** True when more body chunks follow (the worker pulls them). */
  more: boolean;
  /**
   * Present for an `offload()` call (built by {@link offloadTask}): the worker runs this export
   * instead of a handler, and the request fields above are unused placeholders. One task type
   * keeps admission, queue, batching, timeouts and faults one code path for both kinds.
   */
  call?: OffloadCall;
  /** The request context it was dispatched in, when context is on (see src/context/pool-tasks.ts). */
  context?: WireContext;
}

/** A module export to run with structured-cloned arguments (see src/pool/offload.ts). */
export interface OffloadCall {
  /** `file:` URL (or any importable specifier) of the module. */
  moduleUrl: string;
  /** The export to call. */
  exportName: string;
  /** The arguments, cloned (and their `transfer` moved) with the batch. */
  args: unknown[];
  /** Transferables inside `args`, moved instead of copied; never sent as data. */
  transfer: TransferListItem[] | undefined;
}

const OFFLOAD_MOUNT: MountSpec = {
  moduleUrl: '',
  exportName: undefined,
  style: undefined,
  ackBytes: 0,
  ackMessages: 0,
};
const OFFLOAD_REQUEST: LegacyRequest = {
  method: '',
  url: '',
  path: '',
  rootPath: '',
  queryString: '',
  scheme: '',
  httpVersion: '',
  server: null,
  client: null,
  headers: [],
};

/** Wraps an offload call as a pool task. */
export function offloadTask(call: OffloadCall): LegacyTask {
  return { mount: OFFLOAD_MOUNT, request: OFFLOAD_REQUEST, body: NO_BODY, more: false, call };
}

/**
 * False for an offload call whose buffers were moved (`transferList`) with its hand-off: once
 * posted to a thread they are gone from this one, so the call cannot be handed to another thread
 * (after a crash, or taken back from a busy batch); it fails instead.
 */
export function canResend(task: LegacyTask): boolean {
  return task.call?.transfer === undefined;
}

/** The transferables of the offload calls among `items`, for piscina's `transferList` (undefined when none). */
export function batchTransfer(items: ReadonlyArray<{ task: LegacyTask }>): TransferListItem[] | undefined {
  let list: TransferListItem[] | undefined;
  for (let i = 0; i < items.length; i++) {
    const transfer = items[i]!.task.call?.transfer;
    if (transfer !== undefined && transfer.length > 0) (list ??= []).push(...transfer);
  }
  return list;
}

/** One request inside a batch: the task plus the id its port messages carry. */
export interface BatchItem extends LegacyTask {
  id: number;
}

/**
 * The piscina task: several requests, run one after the other on one thread (then, when `linger`
 * is set, the batches of the thread's ring, see {@link RingState}). Requests travel as
 * one flat array of strings and numbers plus one packed body buffer (see {@link encodeBatch}):
 * structured clone costs per object, and a batch of nested request objects took three times as
 * long to post as the same data flat.
 */
export interface LegacyBatch {
  /** Number of requests. */
  n: number;
  /** The mounts the requests belong to (usually one). */
  mounts: MountSpec[];
  /**
   * Per request: id, mount index, body length × 2 + more, a mask of the request fields that are as in
   * the previous request, the other fields, header count, a mask of the headers that are as in the
   * previous request, the other header names and values (see {@link encodeBatch}).
   */
  data: Array<string | number | null>;
  /** Every request's first body chunk, back to back (absent when all are empty). */
  body: Uint8Array | undefined;
  /** {@link batchBytes}(n) bytes, see there. */
  shared: SharedArrayBuffer;
  /** The offload calls of the batch, in order (each marked in `data` by mount index -1). */
  calls?: Array<Omit<OffloadCall, 'transfer'>>;
  /** Per request, its request context (present only when some request of the batch has one). */
  contexts?: Array<WireContext | undefined>;
  /**
   * When set, the worker does not return to piscina at the batch's end: it waits up to this many ms
   * for the next batch in its thread's request ring (see {@link RingState}), and so on, and returns
   * only when none came in time or the main thread sent it away.
   */
  linger?: number;
  /** The session number the worker's ring words carry while it lingers (see {@link ringWord}). */
  session?: number;
}

/** Packs requests for one hand-off. */
export function encodeBatch(
  items: ReadonlyArray<{ id: number; task: LegacyTask }>,
  shared: SharedArrayBuffer,
): LegacyBatch {
  const n = items.length;
  const mounts: MountSpec[] = [];
  const data: Array<string | number | null> = [];
  let calls: LegacyBatch['calls'];
  let contexts: LegacyBatch['contexts'];
  let bodyBytes = 0;
  for (let i = 0; i < n; i++) bodyBytes += items[i]!.task.body.byteLength;
  const body = bodyBytes > 0 ? new Uint8Array(bodyBytes) : undefined;
  let offset = 0;
  let prev: LegacyRequest | undefined;
  for (let i = 0; i < n; i++) {
    const { id, task } = items[i]!;
    if (task.context !== undefined) (contexts ??= new Array<WireContext | undefined>(n))[i] = task.context;
    if (task.call !== undefined) {
      const { moduleUrl, exportName, args } = task.call;
      (calls ??= []).push({ moduleUrl, exportName, args });
      data.push(id, -1);
      continue;
    }
    let m = mounts.indexOf(task.mount);
    if (m === -1) m = mounts.push(task.mount) - 1;
    const r = task.request;
    const len = task.body.byteLength;
    if (len > 0) {
      body!.set(task.body, offset);
      offset += len;
    }
    data.push(id, m, len * 2 + (task.more ? 1 : 0));
    pushRequest(data, r, prev);
    prev = r;
  }
  const batch: LegacyBatch =
    calls === undefined ? { n, mounts, data, body, shared } : { n, mounts, data, body, shared, calls };
  if (contexts !== undefined) batch.contexts = contexts;
  return batch;
}

// The request fields in `data` order; a set bit of the mask that leads them means "as in the
// previous request of the batch" and the field is left out. Structured clone costs per value, and
// most fields (method, scheme, version, addresses, header names and most values) repeat from
// request to request: a batch of like requests sends a handful of values each instead of twenty.
const FIELDS = 11;
const HEADER_BITS = 30;

function pushRequest(data: Array<string | number | null>, r: LegacyRequest, prev: LegacyRequest | undefined): void {
  const at = data.push(0) - 1;
  const server = r.server;
  const client = r.client;
  const before = prev ?? NO_REQUEST;
  const serverBefore = before.server;
  const clientBefore = before.client;
  // Field by field in FIELDS order, without building arrays: this runs for every request.
  let mask = 0;
  mask |= field(data, r.method, before.method, 1 << 0);
  mask |= field(data, r.url, before.url, 1 << 1);
  mask |= field(data, r.path, before.path, 1 << 2);
  mask |= field(data, r.rootPath, before.rootPath, 1 << 3);
  mask |= field(data, r.queryString, before.queryString, 1 << 4);
  mask |= field(data, r.scheme, before.scheme, 1 << 5);
  mask |= field(data, r.httpVersion, before.httpVersion, 1 << 6);
  mask |= field(data, server === null ? null : server[0], serverBefore === null ? null : serverBefore[0], 1 << 7);
  mask |= field(data, server === null ? null : server[1], serverBefore === null ? null : serverBefore[1], 1 << 8);
  mask |= field(data, client === null ? null : client[0], clientBefore === null ? null : clientBefore[0], 1 << 9);
  mask |= field(data, client === null ? null : client[1], clientBefore === null ? null : clientBefore[1], 1 << 10);
  data[at] = mask;
  const headers = r.headers;
  const earlier = before.headers;
  const hat = data.push(headers.length, 0) - 1;
  let hmask = 0;
  for (let h = 0; h < headers.length; h++) {
    const pair = headers[h]!;
    const old = h < HEADER_BITS ? earlier[h] : undefined;
    if (old !== undefined && old[0] === pair[0] && old[1] === pair[1]) hmask |= 1 << h;
    else data.push(pair[0], pair[1]);
  }
  data[hat] = hmask;
}

// The first request of a batch is compared with this one: no field matches (undefined is never sent).
const NO_REQUEST = {
  method: undefined,
  url: undefined,
  path: undefined,
  rootPath: undefined,
  queryString: undefined,
  scheme: undefined,
  httpVersion: undefined,
  server: [undefined, undefined],
  client: [undefined, undefined],
  headers: [],
} as unknown as LegacyRequest;

// One field: left out (its bit returned) when it is the previous request's, else pushed.
function field(
  data: Array<string | number | null>,
  value: string | number | null,
  before: string | number | null,
  bit: number,
): number {
  if (value === before) return bit;
  data.push(value);
  return 0;
}

/** Unpacks a batch in the worker. */
export function decodeBatch(batch: LegacyBatch): BatchItem[] {
  const { n, mounts, data, body } = batch;
  const items: BatchItem[] = new Array(n);
  let p = 0;
  let offset = 0;
  let c = 0;
  let prev: LegacyRequest | undefined;
  const fields: Array<string | number | null> = new Array(FIELDS);
  for (let i = 0; i < n; i++) {
    const id = data[p++] as number;
    const m = data[p++] as number;
    if (m === -1) {
      items[i] = { id, ...offloadTask({ ...batch.calls![c++]!, transfer: undefined }) };
      continue;
    }
    const mount = mounts[m]!;
    const lenMore = data[p++] as number;
    const more = lenMore % 2 === 1;
    const len = (lenMore - (more ? 1 : 0)) / 2;
    const mask = data[p++] as number;
    if (mask !== 0) {
      const q = prev!;
      fields[0] = q.method;
      fields[1] = q.url;
      fields[2] = q.path;
      fields[3] = q.rootPath;
      fields[4] = q.queryString;
      fields[5] = q.scheme;
      fields[6] = q.httpVersion;
      fields[7] = q.server === null ? null : q.server[0];
      fields[8] = q.server === null ? null : q.server[1];
      fields[9] = q.client === null ? null : q.client[0];
      fields[10] = q.client === null ? null : q.client[1];
    }
    for (let k = 0; k < FIELDS; k++) if ((mask & (1 << k)) === 0) fields[k] = data[p++]!;
    const count = data[p++] as number;
    const hmask = data[p++] as number;
    const headers: Headers = new Array(count);
    for (let h = 0; h < count; h++) {
      if (h < HEADER_BITS && (hmask & (1 << h)) !== 0) headers[h] = prev!.headers[h]!;
      else {
        headers[h] = [data[p] as string, data[p + 1] as string];
        p += 2;
      }
    }
    const server: Address =
      fields[7] === null
        ? null
        : prev?.server != null && (mask & 0x180) === 0x180
          ? prev.server
          : [fields[7] as string, fields[8] as number];
    const client: Address =
      fields[9] === null
        ? null
        : prev?.client != null && (mask & 0x600) === 0x600
          ? prev.client
          : [fields[9] as string, fields[10] as number];
    const chunk = len > 0 ? body!.subarray(offset, offset + len) : NO_BODY;
    offset += len;
    const request: LegacyRequest = {
      method: fields[0] as string,
      url: fields[1] as string,
      path: fields[2] as string,
      rootPath: fields[3] as string,
      queryString: fields[4] as string,
      scheme: fields[5] as string,
      httpVersion: fields[6] as string,
      server,
      client,
      headers,
    };
    items[i] = { id, mount, more, body: chunk, request };
    prev = request;
  }
  return items;
}

// --- the request ring: batches without a message ------------------------------------------------

/**
 * States of a thread's ring (see {@link RING_STATE}). Piscina carries a batch to a thread that
 * runs no batch; at its end the worker stays in its task (a "session") and waits in the ring:
 * `idle`. The main thread claims an idle worker with compareExchange idle → `claimed`, writes the
 * next batch into the ring, stores `ready` and notifies; the worker stores `busy` and runs it. A
 * worker whose wait ran out leaves with compareExchange idle → `gone` (so exactly one of the two
 * wins); the main thread sends one away the same way (a batch that cannot travel in the ring, or
 * the pool closes). `gone`: the thread takes batches from piscina only.
 */
export const RingState = { gone: 0, idle: 1, claimed: 2, ready: 3, busy: 4 } as const;
/**
 * Int32 0 of a ring: {@link ringWord}(session, state). The session number (the main thread's, sent
 * with the batch that began the session) makes a claim fail on a worker that left its session and
 * began another one since: the main thread, which may not know that yet, would encode the batch for
 * the old session's requests and mounts.
 */
export const RING_STATE = 0;
/** The value of {@link RING_STATE} for a session (1 to 2^27 − 1) in a {@link RingState}. */
export const ringWord = (session: number, state: number): number => (session << 3) | state;
/** The {@link RingState} part of a {@link RING_STATE} value. */
export const ringStateOf = (word: number): number => word & 7;
/** Int32 1 of a ring: the number of requests of the batch in it. */
export const RING_COUNT = 1;
/** Byte offset of the encoded requests in a ring (after four Int32 words). */
export const RING_DATA = 16;
/** Bytes of a ring: a batch whose encoding does not fit goes by piscina. */
export const RING_BYTES = RING_DATA + 64 * 1024;
/** Requests a ring batch may hold: the size of the batch buffer each thread keeps for its ring batches. */
export const RING_SLOTS = 32;

/**
 * Encodes the requests of `items` into a ring at {@link RING_DATA}, each field as in the previous
 * request left out (as {@link encodeBatch} does, but the previous request is the one sent before
 * this batch on the same thread: like requests then cost a few words and no string at all).
 * `mounts` are the mounts the worker's session knows (index = position). Returns false when a
 * request is not a plain request of one of those mounts, or the batch does not fit: it goes by piscina.
 */
export function encodeRing(
  area: RecordArea,
  items: ReadonlyArray<{ id: number; task: LegacyTask }>,
  mounts: readonly MountSpec[],
  before: LegacyRequest | undefined,
): boolean {
  const limit = area.bytes.byteLength;
  const words = area.words;
  let p = RING_DATA;
  let prev = before ?? NO_REQUEST;
  for (let i = 0; i < items.length; i++) {
    const { id, task } = items[i]!;
    if (task.call !== undefined || task.context !== undefined) return false;
    const m = mounts.indexOf(task.mount);
    if (m === -1) return false;
    const r = task.request;
    const len = task.body.byteLength;
    if (p + 16 > limit) return false;
    words[p >> 2] = id;
    words[(p >> 2) + 1] = m;
    words[(p >> 2) + 2] = len * 2 + (task.more ? 1 : 0);
    const at = (p >> 2) + 3;
    p += 16;
    let mask = 0;
    let same: boolean;
    // Each bit is or-ed in on every request, 0 or not. An `|=` run only when a field repeats has no
    // type feedback until it does: the client's port repeats only when one connection's requests
    // follow each other on a thread, and the first time it did, V8 threw encodeRing's optimized code
    // away (a deopt and a recompile at a random moment, seen inside bench:instructions' window).
    // A host of null (no address) is text length 0 with bias 1; a port of null is -1.
    mask |= (same = r.method === prev.method) ? 1 << 0 : 0;
    if (!same && (p = writeText(area, p, limit, r.method, 0)) === -1) return false;
    mask |= (same = r.url === prev.url) ? 1 << 1 : 0;
    if (!same && (p = writeText(area, p, limit, r.url, 0)) === -1) return false;
    mask |= (same = r.path === prev.path) ? 1 << 2 : 0;
    if (!same && (p = writeText(area, p, limit, r.path, 0)) === -1) return false;
    mask |= (same = r.rootPath === prev.rootPath) ? 1 << 3 : 0;
    if (!same && (p = writeText(area, p, limit, r.rootPath, 0)) === -1) return false;
    mask |= (same = r.queryString === prev.queryString) ? 1 << 4 : 0;
    if (!same && (p = writeText(area, p, limit, r.queryString, 0)) === -1) return false;
    mask |= (same = r.scheme === prev.scheme) ? 1 << 5 : 0;
    if (!same && (p = writeText(area, p, limit, r.scheme, 0)) === -1) return false;
    mask |= (same = r.httpVersion === prev.httpVersion) ? 1 << 6 : 0;
    if (!same && (p = writeText(area, p, limit, r.httpVersion, 0)) === -1) return false;
    const server = r.server;
    const client = r.client;
    const serverBefore = prev.server;
    const clientBefore = prev.client;
    const sHost = server === null ? null : server[0];
    const cHost = client === null ? null : client[0];
    const sPort = server === null ? -1 : server[1];
    const cPort = client === null ? -1 : client[1];
    mask |= (same = sHost === (serverBefore === null ? null : serverBefore[0])) ? 1 << 7 : 0;
    if (!same && (p = writeHost(area, p, limit, sHost)) === -1) return false;
    mask |= (same = sPort === (serverBefore === null ? -1 : serverBefore[1])) ? 1 << 8 : 0;
    if (!same && (p = writePort(area, p, limit, sPort)) === -1) return false;
    mask |= (same = cHost === (clientBefore === null ? null : clientBefore[0])) ? 1 << 9 : 0;
    if (!same && (p = writeHost(area, p, limit, cHost)) === -1) return false;
    mask |= (same = cPort === (clientBefore === null ? -1 : clientBefore[1])) ? 1 << 10 : 0;
    if (!same && (p = writePort(area, p, limit, cPort)) === -1) return false;
    words[at] = mask;
    const headers = r.headers;
    const earlier = prev.headers;
    if (p + 8 > limit) return false;
    words[p >> 2] = headers.length;
    const hat = (p >> 2) + 1;
    p += 8;
    let hmask = 0;
    for (let h = 0; h < headers.length; h++) {
      const pair = headers[h]!;
      const old = h < HEADER_BITS ? earlier[h] : undefined;
      same = old !== undefined && old[0] === pair[0] && old[1] === pair[1];
      hmask |= (same ? 1 : 0) << h;
      if (
        !same &&
        ((p = writeText(area, p, limit, pair[0], 0)) === -1 || (p = writeText(area, p, limit, pair[1], 0)) === -1)
      )
        return false;
    }
    words[hat] = hmask;
    if (len > 0) {
      if (p + pad4(len) > limit) return false;
      area.bytes.set(task.body, p);
      p += pad4(len);
    }
    prev = r;
  }
  return true;
}

function writeHost(area: RecordArea, p: number, limit: number, host: string | null): number {
  if (host !== null) return writeText(area, p, limit, host, 1);
  if (p + 4 > limit) return -1;
  area.words[p >> 2] = 0;
  return p + 4;
}

function writePort(area: RecordArea, p: number, limit: number, port: number): number {
  if (p + 4 > limit) return -1;
  area.words[p >> 2] = port;
  return p + 4;
}

/**
 * Decodes `n` requests that {@link encodeRing} wrote, in the worker; `before` is the last request
 * the worker decoded before (the same one the main thread encoded against). Bodies are copies.
 */
export function decodeRing(
  area: RecordArea,
  n: number,
  mounts: readonly MountSpec[],
  before: LegacyRequest | undefined,
): BatchItem[] {
  const { bytes, words } = area;
  const items: BatchItem[] = new Array(n);
  let prev = before ?? NO_REQUEST;
  let p = RING_DATA;
  for (let i = 0; i < n; i++) {
    const id = words[p >> 2]!;
    const mount = mounts[words[(p >> 2) + 1]!]!;
    const lenMore = words[(p >> 2) + 2]!;
    const mask = words[(p >> 2) + 3]!;
    p += 16;
    const more = (lenMore & 1) === 1;
    const len = lenMore >> 1;
    cursor = p;
    const method = (mask & (1 << 0)) === 0 ? readText(bytes, words, 0) : prev.method;
    const url = (mask & (1 << 1)) === 0 ? readText(bytes, words, 0) : prev.url;
    const path = (mask & (1 << 2)) === 0 ? readText(bytes, words, 0) : prev.path;
    const rootPath = (mask & (1 << 3)) === 0 ? readText(bytes, words, 0) : prev.rootPath;
    const queryString = (mask & (1 << 4)) === 0 ? readText(bytes, words, 0) : prev.queryString;
    const scheme = (mask & (1 << 5)) === 0 ? readText(bytes, words, 0) : prev.scheme;
    const httpVersion = (mask & (1 << 6)) === 0 ? readText(bytes, words, 0) : prev.httpVersion;
    const server = readAddress(bytes, words, mask >> 7, prev.server);
    const client = readAddress(bytes, words, mask >> 9, prev.client);
    p = cursor;
    const count = words[p >> 2]!;
    const hmask = words[(p >> 2) + 1]!;
    cursor = p + 8;
    const headers: Headers = new Array(count);
    for (let h = 0; h < count; h++) {
      if (h < HEADER_BITS && (hmask & (1 << h)) !== 0) headers[h] = prev.headers[h]!;
      else headers[h] = [readText(bytes, words, 0), readText(bytes, words, 0)];
    }
    p = cursor;
    let body: Uint8Array = NO_BODY;
    if (len > 0) {
      // A copy: the ring is overwritten by the next batch while a handler may keep its body.
      body = Buffer.allocUnsafe(len);
      bytes.copy(body, 0, p, p + len);
      p += pad4(len);
    }
    const request: LegacyRequest = {
      method,
      url,
      path,
      rootPath,
      queryString,
      scheme,
      httpVersion,
      server,
      client,
      headers,
    };
    items[i] = { id, mount, more, body, request };
    prev = request;
  }
  return items;
}

// Where decodeRing reads next (one module variable instead of a [value, offset] pair per field).
let cursor = 0;

// Text as writeText wrote it with `bias`; a host (bias 1) of length 0 is null, returned as ''.
function readText(bytes: Buffer, words: Int32Array, bias: number): string {
  const p = cursor;
  const n = words[p >> 2]! - bias;
  cursor = p + 4 + pad4(Math.max(0, n));
  return n <= 0 ? '' : bytes.toString('utf8', p + 4, p + 4 + n);
}

// An address from its host and port fields; `bits` & 1: the host is the previous one's, & 2: the port is.
function readAddress(bytes: Buffer, words: Int32Array, bits: number, before: Address): Address {
  let host: string | null | undefined = before === null ? null : before[0];
  let port: number | undefined = before === null ? -1 : before[1];
  if ((bits & 1) === 0) {
    host = words[cursor >> 2] === 0 ? null : readText(bytes, words, 1);
    if (host === null) cursor += 4;
  }
  if ((bits & 2) === 0) {
    port = words[cursor >> 2]!;
    cursor += 4;
  }
  if (host === null) return null;
  if ((bits & 3) === 3) return before;
  return [host, port];
}

// Result records in a batch's buffer, every field at a multiple of 4 bytes so that numbers are one
// Int32Array access on each side: i32 request index, i32 status (0: the head was already posted and
// nothing of it follows), i32 reason length + 1 (0: none) and the reason, i32 header count, per header
// i32 length + UTF-8 bytes for name and value, i32 body length (-1: none) and the body; every run of
// bytes padded to 4. UTF-8 keeps any string intact (an invalid header value still reaches the main
// thread's checks as the handler wrote it).

/** A buffer holding result records, as bytes and as 32-bit words over the same memory. */
export interface RecordArea {
  readonly bytes: Buffer;
  readonly words: Int32Array;
}

/** The record views of a batch's buffer (or any buffer whose length is a multiple of 4). */
export function recordArea(buffer: ArrayBufferLike): RecordArea {
  return { bytes: Buffer.from(buffer), words: new Int32Array(buffer) };
}

const pad4 = (n: number): number => (n + 3) & ~3;

/**
 * Copies `len` bytes of `from` (from `start`) into `to` at `at`. A small body byte by byte: the
 * builtins (TypedArray#set, Buffer#copy's generic path through a view) cost more than the copy.
 */
function copyBytes(to: Uint8Array, at: number, from: Uint8Array, start: number, len: number): void {
  if (len <= 64) copySmall(to, at, from, start, len);
  else to.set(start === 0 && len === from.length ? from : from.subarray(start, start + len), at);
}

/**
 * Writes a successful result as a record at `at` (a byte offset, a multiple of 4) and returns the
 * offset after it, or -1 when it does not fit before `limit`.
 */
export function writeResultRecord(
  area: RecordArea,
  at: number,
  limit: number,
  i: number,
  result: TaskResult,
  previous?: Headers,
): number {
  const { bytes, words } = area;
  const start = result.start;
  const body = result.body;
  let p = at;
  if (p + 8 > limit) return -1;
  words[p >> 2] = i;
  if (start === undefined) {
    words[(p >> 2) + 1] = 0;
    p += 8;
  } else {
    words[(p >> 2) + 1] = start.status;
    p += 8;
    if (start.reason === undefined) {
      if (p + 4 > limit) return -1;
      words[p >> 2] = 0;
      p += 4;
    } else {
      p = writeText(area, p, limit, start.reason, 1);
      if (p === -1) return -1;
    }
    const headers = start.headers;
    if (p + 4 > limit) return -1;
    // The headers of the record before, again (a route answers alike every time): -1, no text.
    const same = previous !== undefined && sameHeaders(headers, previous);
    words[p >> 2] = same ? -1 : headers.length;
    p += 4;
    for (let h = 0; !same && h < headers.length; h++) {
      p = writeText(area, p, limit, headers[h]![0], 0);
      if (p === -1) return -1;
      p = writeText(area, p, limit, headers[h]![1], 0);
      if (p === -1) return -1;
    }
  }
  const len = body === undefined ? -1 : body.byteLength;
  if (p + 4 + pad4(Math.max(0, len)) > limit) return -1;
  words[p >> 2] = len;
  p += 4;
  if (len > 0) {
    copyBytes(bytes, p, body!, 0, len);
    p += pad4(len);
  }
  return p;
}

/** True when two header lists hold the same names and values in the same order. */
export function sameHeaders(a: Headers, b: Headers): boolean {
  if (a.length !== b.length) return false;
  for (let h = 0; h < a.length; h++) if (a[h]![0] !== b[h]![0] || a[h]![1] !== b[h]![1]) return false;
  return true;
}

// i32 (UTF-8 length + bias) then the bytes, padded; -1 when it may not fit (3 bytes a UTF-16 unit at
// most). Short ASCII text, nearly every header, is copied here: a call into Buffer#write costs more.
function writeText(area: RecordArea, p: number, limit: number, text: string, bias: number): number {
  const length = text.length;
  if (p + 4 + pad4(length * 3) > limit) return -1;
  const bytes = area.bytes;
  let n = -1;
  if (length <= 64) {
    n = length;
    for (let k = 0; k < length; k++) {
      const c = text.charCodeAt(k);
      if (c >= 0x80) {
        n = -1;
        break;
      }
      bytes[p + 4 + k] = c;
    }
  }
  if (n === -1) n = bytes.write(text, p + 4, 'utf8');
  area.words[p >> 2] = n + bias;
  return p + 4 + pad4(n);
}

/**
 * Reads the result records from byte offset `from` to `to`, calling `take(i, result)` for each;
 * `startedAt(i)` gives the request's start time from the batch's shared slots.
 */
export function readResultRecords(
  area: RecordArea,
  from: number,
  to: number,
  startedAt: (i: number) => number,
  take: (i: number, result: TaskResult) => void,
  last: { lastHeaders: Headers | undefined } = { lastHeaders: undefined },
): void {
  const { bytes, words } = area;
  let p = from;
  while (p < to) {
    const i = words[p >> 2]!;
    const status = words[(p >> 2) + 1]!;
    p += 8;
    let start: TaskResult['start'];
    if (status !== 0) {
      const reasonLen = words[p >> 2]!;
      p += 4;
      let reason: string | undefined;
      if (reasonLen > 0) {
        reason = bytes.toString('utf8', p, p + reasonLen - 1);
        p += pad4(reasonLen - 1);
      }
      const count = words[p >> 2]!;
      p += 4;
      const previous = last.lastHeaders;
      // As the record before (written with it as `previous`): the same strings in new arrays, so
      // that whoever changes one response's headers does not change another's.
      const headers: Headers = new Array(count === -1 ? previous!.length : count);
      if (count === -1) for (let h = 0; h < headers.length; h++) headers[h] = [previous![h]![0], previous![h]![1]];
      for (let h = 0; h < count; h++) {
        const nameLen = words[p >> 2]!;
        const name = bytes.toString('utf8', p + 4, p + 4 + nameLen);
        p += 4 + pad4(nameLen);
        const valueLen = words[p >> 2]!;
        headers[h] = [name, bytes.toString('utf8', p + 4, p + 4 + valueLen)];
        p += 4 + pad4(valueLen);
      }
      last.lastHeaders = headers;
      start = reason === undefined ? { status, headers } : { status, headers, reason };
    }
    const len = words[p >> 2]!;
    p += 4;
    let body: Uint8Array | undefined;
    if (len === 0) body = NO_BODY;
    else if (len > 0) {
      // A copy: the batch's buffer is shared with the worker's thread.
      body = Buffer.allocUnsafe(len);
      copyBytes(body, 0, bytes, p, len);
      p += pad4(len);
    }
    take(i, { start, body, error: undefined, loadError: false, aborted: false, startedAt: startedAt(i) });
  }
}

/** Sent once by each worker on piscina's parentPort when it starts: its persistent channel. */
export interface RegisterMessage {
  albanyLegacyRegister: true;
  threadId: number;
  port: MessagePort;
  /** 4 bytes: the worker's wake-up counter (bumped by the main side after each post). */
  signal: SharedArrayBuffer;
  /** The thread's CPU figures, written by the worker now and then (see pool/thread-cpu.ts). */
  cpu?: SharedArrayBuffer;
  /** The thread's request ring, {@link RING_BYTES} bytes (see {@link RingState}). */
  ring?: SharedArrayBuffer;
  /** The batch buffer of the thread's ring batches: {@link batchBytes}({@link RING_SLOTS}) bytes. */
  ringBatch?: SharedArrayBuffer;
}

/** A handler's or offload call's error (one format for every thread boundary, see `errors-wire.ts`). */
export type { SerializedError };

// --- worker → main (on the worker's port; `id` names the request) ---------------------

/** Status and headers (and the handler's own reason phrase); the worker sends it just before the first body byte. */
export interface StartMessage {
  type: 'legacy.start';
  id: number;
  status: number;
  headers: Headers;
  reason?: string;
}
/** A response-body chunk. `ack: true` means the worker now waits for a {@link AckMessage}. */
export interface BodyMessage {
  type: 'legacy.body';
  id: number;
  chunk: Uint8Array;
  more: boolean;
  ack: boolean;
}
/** The worker needs the next request-body chunk (answered by {@link RequestBodyMessage} or disconnect). */
export interface PullMessage {
  type: 'legacy.pull';
  id: number;
}
/** Text the handler wrote to `wsgi.errors`; written to the main log. */
export interface LogMessage {
  type: 'legacy.log';
  id: number;
  text: string;
}
/** A finished request's result sent ahead of its batch (the batch is slow, or about to wait). */
export interface ResultMessage {
  type: 'legacy.result';
  id: number;
  result: TaskResult;
}

/** Anything the legacy worker posts on its port (service calls from runSync come on top). */
export type WorkerMessage = StartMessage | BodyMessage | PullMessage | LogMessage | ResultMessage;

// --- main → worker (on the worker's port, always with a wake) -----------------------------

/** The next request-body chunk, in answer to a {@link PullMessage}. */
export interface RequestBodyMessage {
  type: 'legacy.body';
  id: number;
  chunk: Uint8Array;
  more: boolean;
}
/** The client went away: stop producing output (the shared gone flag is set too). */
export interface DisconnectMessage {
  type: 'legacy.disconnect';
  id: number;
}
/** The main thread has handed the acked chunk to the server; the worker may go on. */
export interface AckMessage {
  type: 'legacy.ack';
  id: number;
}

/** Anything the main thread posts on a worker's port (service results from runSync come on top). */
export type MainMessage = RequestBodyMessage | DisconnectMessage | AckMessage;

// --- one request's result ----------------------------------------------------------------

/**
 * What one request ends with. It carries the tail of the response so that a handler answering in
 * one piece costs no port message: the main thread first drains the port, then applies `start`
 * (if not sent yet) and `body` as the final chunk.
 */
export interface TaskResult {
  /** Status and headers (and the handler's own reason phrase) when they were not posted on the port yet. */
  start: { status: number; headers: Headers; reason?: string } | undefined;
  /** The last body chunk (the response ends with it). Absent when the handler failed. */
  body: Uint8Array | undefined;
  /** The handler (or loading it) failed; the main thread logs it and answers 500 or aborts. */
  error: SerializedError | undefined;
  /** True when loading the module or picking its export failed (not the handler itself). */
  loadError: boolean;
  /** The worker stopped because the client went away. */
  aborted: boolean;
  /** When the worker picked the task up (epoch ms). */
  startedAt: number;
  /** An offload call's return value (offload results travel on the worker's port, never in the batch result). */
  value?: unknown;
}

/** True when `msg` is one of the legacy protocol messages (as opposed to a runSync service call). */
export function isLegacyMessage(msg: unknown): msg is WorkerMessage {
  return (
    typeof msg === 'object' &&
    msg !== null &&
    typeof (msg as { type?: unknown }).type === 'string' &&
    (msg as { type: string }).type.startsWith('legacy.')
  );
}

export { now } from '../clock.js';

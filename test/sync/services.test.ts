import test from 'ava';
import { MessageChannel, type Worker } from 'node:worker_threads';
import { createSignal, postAndWake } from '../../src/sync/channel.js';
import { provide } from '../../src/sync/index.js';
import { handleServiceCall, isServiceMessage } from '../../src/sync/services.js';
import { tsWorker } from '../fixtures/sync/ts-worker.js';

const caller = new URL('../fixtures/sync/service-caller.ts', import.meta.url);

interface Report {
  ok: boolean;
  results?: unknown[];
  chunks?: unknown[];
  name?: string;
  code?: string;
  message?: string;
  stack?: string;
  causeStack?: string;
  props?: Record<string, unknown>;
}

// The legacy adapter's role: one port per request, service calls answered on this (main) loop.
function request(
  worker: Worker,
  task: { service: string; calls: unknown[][]; timeoutMs?: number; readChunks?: number },
  chunks: unknown[] = [],
): Promise<Report> {
  const { port1, port2 } = new MessageChannel();
  const signal = createSignal();
  port1.on('message', (msg) => {
    if (isServiceMessage(msg))
      void handleServiceCall(msg, (reply, transfer) => postAndWake(port1, signal, reply, transfer));
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('worker never answered')), 20_000);
    worker.once('message', (report: Report) => {
      clearTimeout(timer);
      port1.close();
      resolve(report);
    });
    worker.once('error', reject);
    worker.postMessage({ ...task, port: port2, signal: signal.buffer }, [port2]);
    // Request-body chunks land on the same port while the handler is blocked in runSync.
    for (const chunk of chunks) postAndWake(port1, signal, chunk);
  });
}

test('a blocking handler in a worker runs a provided service on the main loop, using an object that lives there', async (t) => {
  const db = new Map<string, number>([['answer', 42]]); // only the main thread has this object
  const withdraw = provide('db.get', async (key: string) => {
    await new Promise((resolve) => setImmediate(resolve)); // really async, on this loop
    return { key, value: db.get(key), mainThread: (await import('node:worker_threads')).isMainThread };
  });
  const worker = tsWorker(caller);
  try {
    const report = await request(worker, { service: 'db.get', calls: [['answer'], ['missing']] });
    t.true(report.ok, report.message);
    t.deepEqual(report.results, [
      { key: 'answer', value: 42, mainThread: true },
      { key: 'missing', value: undefined, mainThread: true },
    ]);
  } finally {
    withdraw();
    await worker.terminate();
  }
});

test('messages that are not service results (body chunks) are handed over in order, not lost', async (t) => {
  const withdraw = provide('slow.echo', async (v: unknown) => {
    await new Promise((resolve) => setTimeout(resolve, 50));
    return v;
  });
  const worker = tsWorker(caller);
  try {
    const chunks = [
      { type: 'chunk', n: 1 },
      { type: 'chunk', n: 2 },
      { type: 'chunk', n: 3 },
    ];
    const report = await request(worker, { service: 'slow.echo', calls: [['a']], readChunks: 3 }, chunks);
    t.true(report.ok, report.message);
    t.deepEqual(report.results, ['a']);
    t.deepEqual(report.chunks, chunks);
  } finally {
    withdraw();
    await worker.terminate();
  }
});

test('a service error reaches the worker with class name, code, props and both stacks', async (t) => {
  class QueryError extends Error {
    code = 'E_QUERY';
    sql = 'select nope';
    override name = 'QueryError';
  }
  const withdraw = provide('db.fail', async () => {
    throw new QueryError('no such column');
  });
  const worker = tsWorker(caller);
  try {
    const report = await request(worker, { service: 'db.fail', calls: [[]] });
    t.false(report.ok);
    t.is(report.name, 'QueryError');
    t.is(report.code, 'E_QUERY');
    t.is(report.message, 'no such column');
    t.is(report.props?.['sql'], 'select nope');
    t.regex(report.stack!, /service-caller\.ts[\s\S]*--- on the main thread ---[\s\S]*services\.test\.ts/);
    t.regex(report.causeStack!, /services\.test\.ts/);
  } finally {
    withdraw();
    await worker.terminate();
  }
});

test('an unknown service, an uncloneable result and a service slower than the timeout fail with their codes', async (t) => {
  const withdraw = provide('never', () => new Promise(() => {}));
  const withdrawFn = provide('returns.fn', async () => ({ cb: () => 1 }));
  const worker = tsWorker(caller);
  try {
    const clone = await request(worker, { service: 'returns.fn', calls: [[]] });
    t.is(clone.code, 'ERR_ALBANY_DATA_CLONE');
    t.regex(clone.message!, /result\.cb/);
    const unknown = await request(worker, { service: 'not.there', calls: [[]] });
    t.is(unknown.code, 'ERR_ALBANY_UNKNOWN_SERVICE');
    const slow = await request(worker, { service: 'never', calls: [[]], timeoutMs: 100 });
    t.is(slow.code, 'ERR_ALBANY_TIMEOUT');
  } finally {
    withdraw();
    withdrawFn();
    await worker.terminate();
  }
});

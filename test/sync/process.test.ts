import test from 'ava';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { reactorHandle, runSync } from '../../src/sync/index.js';
import { tsWorker } from '../fixtures/sync/ts-worker.js';

test('a process that used runSync exits by itself (the reactor is unref’d)', async (t) => {
  const child = spawn(
    process.execPath,
    ['--import=tsx', fileURLToPath(new URL('../fixtures/sync/exit-child.ts', import.meta.url))],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (out += d));
  const code = await new Promise<number | string>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve('still running after 30 s');
    }, 30_000);
    child.on('exit', (c) => {
      clearTimeout(timer);
      resolve(c ?? -1);
    });
  });
  t.is(code, 0, out);
  t.regex(out, /total=210/);
});

async function hammer(t: import('ava').ExecutionContext, shared: boolean): Promise<number[]> {
  const calls = 25;
  const workers = Array.from({ length: 4 }, (_, index) => {
    const reactor = shared ? reactorHandle() : undefined;
    return tsWorker(new URL('../fixtures/sync/concurrent-caller.ts', import.meta.url), {
      workerData: { index, calls, reactor },
      transferList: reactor === undefined ? [] : [reactor.port],
    });
  });
  try {
    const reports = await Promise.all(
      workers.map(
        (w) =>
          new Promise<{ answers: number[]; reactorThread: number }>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error('a worker made no progress in 40 s')), 40_000);
            w.once('message', (m: { answers: number[]; reactorThread: number }) => {
              clearTimeout(timer);
              resolve(m);
            });
            w.once('error', reject);
          }),
      ),
    );
    for (const [index, r] of reports.entries())
      t.deepEqual(
        r.answers,
        Array.from({ length: calls }, (_, i) => index * 1000 + i),
      );
    return reports.map((r) => r.reactorThread);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

test.serial('100 calls from 4 worker threads at once all return the right answers (a reactor each)', async (t) => {
  const threads = await hammer(t, false);
  t.is(new Set(threads).size, 4);
});

test.serial(
  '100 calls from 4 worker threads sharing the main thread’s reactor all return the right answers',
  async (t) => {
    const threads = await hammer(t, true);
    const mainReactor = runSync<number>({
      module: new URL('../fixtures/sync/async-fns.js', import.meta.url),
      export: 'threadId',
    });
    t.deepEqual(new Set(threads), new Set([mainReactor]), 'every call ran in the one reactor');
  },
);

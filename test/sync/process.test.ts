import test from 'ava';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tsWorker } from '../fixtures/sync/ts-worker.js';

test('a process that used runSync exits by itself (the reactor is unref’d)', async (t) => {
  const child = spawn(process.execPath, ['--import=tsx', fileURLToPath(new URL('../fixtures/sync/exit-child.ts', import.meta.url))], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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

test('100 calls from 4 worker threads at once all return the right answers', async (t) => {
  const calls = 25;
  const workers = Array.from({ length: 4 }, (_, index) => tsWorker(new URL('../fixtures/sync/concurrent-caller.ts', import.meta.url), { workerData: { index, calls } }));
  try {
    const answers = await Promise.all(
      workers.map(
        (w) =>
          new Promise<number[]>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error('a worker made no progress in 40 s')), 40_000);
            w.once('message', (m: number[]) => (clearTimeout(timer), resolve(m)));
            w.once('error', reject);
          }),
      ),
    );
    answers.forEach((got, index) => t.deepEqual(got, Array.from({ length: calls }, (_, i) => index * 1000 + i)));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
});

// What a worker thread inherits of node's flags: table-driven over the execArgv node really builds.
import test from 'ava';
import { Worker } from 'node:worker_threads';
import { workerExecArgv } from '../src/exec-argv.js';

const cases: Array<[string, string[], string[] | undefined]> = [
  ['a plain script run inherits everything', ['--import', 'tsx', '--max-old-space-size=100'], undefined],
  ['no flags at all inherits', [], undefined],
  ['node -e drops the code', ['-e', 'console.log(1)'], []],
  ['node -e with code that starts with a dash', ['-e', '-1', '--no-warnings'], ['--no-warnings']],
  ['node --eval=CODE', ['--eval=console.log(1)'], []],
  ['node -pe CODE', ['-pe', 'process.execArgv'], []],
  ['node -p CODE keeps --import tsx', ['--import', 'tsx', '-p', '1'], ['--import', 'tsx']],
  [
    'node --input-type=module -e keeps loaders and conditions',
    ['--import=tsx', '--conditions', 'dev', '--input-type=module', '-e', 'x'],
    ['--import=tsx', '--conditions', 'dev'],
  ],
  ['node --input-type module -e (value as its own token)', ['--input-type', 'module', '-e', 'x'], []],
  [
    'the REPL (-i) keeps -r and experimental flags',
    ['-i', '-r', 'tsx/cjs', '--experimental-vm-modules'],
    ['-r', 'tsx/cjs', '--experimental-vm-modules'],
  ],
  [
    'per-process and V8 flags go once a rebuild is needed',
    ['--interactive', '--max-old-space-size=100', '--title', 'x', '--enable-source-maps'],
    ['--enable-source-maps'],
  ],
];

for (const [name, argv, expected] of cases) {
  test(name, (t) => {
    t.deepEqual(workerExecArgv(argv), expected);
  });
}

test('every rebuilt list is accepted by node as a worker execArgv', async (t) => {
  for (const [, argv, expected] of cases) {
    if (expected === undefined) continue;
    const worker = new Worker('require("node:worker_threads").parentPort.postMessage("up")', {
      eval: true,
      execArgv: expected,
    });
    t.is(
      await new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject)),
      'up',
      argv.join(' '),
    );
    await worker.terminate();
  }
});

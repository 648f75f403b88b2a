// The few lines a reactor thread runs before its entry file: tsx when running from sources, and a
// crash report if the entry itself fails to load (before it can report anything on its own).
import { REACTOR_DEAD_INDEX, REACTOR_READY_FLAG } from './protocol.js';
import { TSX_FLAG } from '../typescript.js';

/**
 * CommonJS source for `new Worker(source, { eval: true })` that loads `entry`. On Node 20 a
 * worker does not inherit the parent's tsx hooks even with `--import tsx` in its execArgv, so a
 * `.ts` entry is loaded after registering tsx's ESM API in the thread itself.
 */
export function bootstrapSource(entry: URL): string {
  const tsxApi = entry.pathname.endsWith('.ts') ? import.meta.resolve('tsx/esm/api') : undefined;
  return `
const { workerData } = require('node:worker_threads');
let bootError;
process.on('exit', (code) => {
  if (globalThis[Symbol.for(${JSON.stringify(REACTOR_READY_FLAG.description)})]) return;
  Atomics.store(new Int32Array(workerData.wake, ${REACTOR_DEAD_INDEX * 4}, 1), 0, 1);
  const { port, signal } = workerData.first;
  const reason = 'the reactor failed to start (exit code ' + code + ')' + (bootError ? ': ' + bootError.message : '');
  try { port.postMessage({ type: 'crashed', reason }); } catch {}
  const s = new Int32Array(signal, 0, 1);
  Atomics.add(s, 0, 1);
  Atomics.notify(s, 0);
});
${
  tsxApi === undefined
    ? 'Promise.resolve()'
    : `import(${JSON.stringify(tsxApi)}).then((api) => { api.register(); ` +
      `globalThis[Symbol.for(${JSON.stringify(TSX_FLAG.description)})] = true; })`
}
  .then(() => import(${JSON.stringify(entry.href)}))
  .catch((err) => { bootError = err; throw err; });
`;
}

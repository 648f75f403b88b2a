import test from 'ava';
import { runSync, syncify } from '../../src/sync/index.js';

// A module whose timer only advances when the reactor's event loop gets a turn.
const ticker = `data:text/javascript,${encodeURIComponent(`
  let ticks = 0;
  let timer;
  export async function start() { timer ??= setInterval(() => { ticks++; }, 5); return ticks; }
  export async function ticks_() { return ticks; }
  export async function stop() { clearInterval(timer); timer = undefined; return ticks; }
`)}`;

test('the reactor’s event loop still gets turns while calls keep coming back to back', (t) => {
  runSync({ module: ticker, export: 'start' });
  const read = syncify<() => Promise<number>>(ticker, 'ticks_');
  const first = read();
  const seen = new Set<number>([first]);
  let calls = 0;
  const started = performance.now();
  // No pause between calls: the reactor never parks long enough for its idle slice to end that
  // way, so only its clock check (every few dozen waits) gives the timers their turns.
  while (performance.now() - started < 600) {
    seen.add(read());
    calls++;
  }
  const last = runSync<number>({ module: ticker, export: 'stop' });
  t.true(calls > 50, `calls were made back to back (${calls})`);
  t.true(last > first, `the interval ran during the calls (${first} → ${last})`);
  t.true(seen.size >= 3, `and was seen advancing between calls, not only at the end (${[...seen].join(', ')})`);
});

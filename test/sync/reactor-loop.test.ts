import test from 'ava';
import { runInReactor, runSync, syncify } from '../../src/sync/index.js';

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

// The reactor's loop runs in microtasks while calls settle there; a call that waits on a timer
// leaves it to the event loop, which must then hear new posts (through waitAsync) at once.
const fns = new URL('../fixtures/sync/async-fns.js', import.meta.url);

test('blocking calls are served at once while another call waits on a timer in the reactor', (t) => {
  const echo = syncify<(value: number) => Promise<number>>(fns, 'echo');
  echo(0);
  const slow = runInReactor<string>(fns, 'sleepThenEcho', [600, 'slow']);
  const started = performance.now();
  for (let i = 1; i <= 100; i++) t.is(echo(i), i);
  const took = performance.now() - started;
  // Served only once the timer fired, they would take 600 ms; back to back they take a few.
  t.true(took < 400, `100 calls took ${Math.round(took)} ms while the slow call waited`);
  t.is(slow.wait(5000), 'slow');
  // And again with two slow calls in flight, one settling first.
  const a = runInReactor<string>(fns, 'sleepThenEcho', [300, 'a']);
  const b = runInReactor<string>(fns, 'sleepThenEcho', [100, 'b']);
  t.is(b.wait(5000), 'b');
  const again = performance.now();
  t.is(echo(7), 7);
  t.true(performance.now() - again < 150, 'a call made while the other slow call waits is served at once');
  t.is(a.wait(5000), 'a');
});

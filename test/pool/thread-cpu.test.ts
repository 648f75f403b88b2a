// The CPU figures of a pool's threads: a sampler on a real thread (this one) and the main side's
// sum over live and replaced threads.
import test from 'ava';
import { MIN_SAMPLE_GAP_MS, PoolCpu, SAMPLE_COST_FACTOR, ThreadCpuSampler } from '../../src/pool/thread-cpu.js';

const spin = (ms: number): void => {
  const end = Date.now() + ms;
  while (Date.now() < end);
};

test('a thread the pool reads from /proc: figures are current at each snapshot, with no sample taken', (t) => {
  const sampler = new ThreadCpuSampler();
  t.true(sampler.readByPool, 'Linux: /proc/thread-self exists');
  const pool = new PoolCpu();
  pool.add(1, sampler.buffer);
  const before = pool.stats()!;
  t.is(before.source, 'schedstat');
  t.true(before.cpuMs >= 0 && before.cpuMs < 100, JSON.stringify(before));
  spin(60);
  const after = pool.stats()!;
  // Spinning 60 ms of wall time is CPU time or time waiting for a core (a loaded machine).
  const spent = after.cpuMs + after.cpuWaitMs! - (before.cpuMs + before.cpuWaitMs!);
  t.true(spent > 40 && spent < 1000, JSON.stringify({ before, after }));
  // Before a thread is terminated the pool reads it once more; figures never go down.
  spin(20);
  pool.refresh(1);
  pool.remove(1);
  const retired = pool.stats()!;
  t.true(retired.cpuMs + retired.cpuWaitMs! >= after.cpuMs + after.cpuWaitMs! + 10, JSON.stringify(retired));
  t.deepEqual(pool.stats(), retired, 'a retired thread is not read again');
});

test("a sampler that does not publish its thread counts this thread's CPU, at most every gapMs", (t) => {
  const sampler = new ThreadCpuSampler(false);
  t.false(sampler.readByPool);
  const pool = new PoolCpu();
  t.is(pool.stats(), undefined, 'no thread registered yet');
  pool.add(1, sampler.buffer);
  t.deepEqual(pool.stats(), { cpuMs: 0, cpuWaitMs: 0, source: 'schedstat' });
  spin(60);
  sampler.maybeSample(1000);
  const first = pool.stats()!;
  // Spinning 60 ms of wall time is CPU time or time waiting for a core (a loaded machine).
  t.true(first.cpuMs + first.cpuWaitMs! > 40, JSON.stringify(first));
  t.true(first.cpuMs + first.cpuWaitMs! < 1000, JSON.stringify(first));
  // The gap: 500 times what a sample took, at least 10 ms (a sample takes well under a millisecond).
  const gap = sampler.gapMs;
  t.true(gap >= MIN_SAMPLE_GAP_MS && gap < SAMPLE_COST_FACTOR * 5, String(gap));
  spin(30);
  sampler.maybeSample(1000 + gap - 1); // too soon: no read
  t.deepEqual(pool.stats(), first);
  sampler.maybeSample(1000 + gap);
  t.true(pool.stats()!.cpuMs + pool.stats()!.cpuWaitMs! > first.cpuMs + first.cpuWaitMs! + 20);
});

test("a replaced thread's figures stay in the total; figures add over threads", (t) => {
  const pool = new PoolCpu();
  const slots = (cpuMs: number, waitMs: number) => {
    const buffer = new SharedArrayBuffer(24);
    new Float64Array(buffer).set([cpuMs, waitMs, 1]);
    return buffer;
  };
  pool.add(1, slots(100, 10));
  pool.add(2, slots(50, 5));
  t.deepEqual(pool.stats(), { cpuMs: 150, cpuWaitMs: 15, source: 'schedstat' });
  pool.remove(1);
  pool.add(3, slots(1, 0));
  t.deepEqual(pool.stats(), { cpuMs: 151, cpuWaitMs: 15, source: 'schedstat' });
  pool.remove(99); // unknown: nothing changes
  t.deepEqual(pool.stats(), { cpuMs: 151, cpuWaitMs: 15, source: 'schedstat' });
  // A thread that could not measure makes the pool's figure unavailable, never a wrong zero.
  const none = new PoolCpu();
  const unavailable = new SharedArrayBuffer(24);
  new Float64Array(unavailable).set([0, NaN, -1]);
  none.add(1, unavailable);
  t.deepEqual(none.stats(), { cpuMs: 0, cpuWaitMs: undefined, source: 'unavailable' });
});

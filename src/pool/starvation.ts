// Starvation, detected instead of waited out: a legacy handler blocked in runSync on a main-thread
// service that itself calls into the same pool (an offload(), another legacy route) waits for a
// thread; once every thread of the pool waits like that, none will ever come free. The call that
// closes that circle fails at once with ERR_ALBANY_STARVATION instead of a 504 after taskTimeoutMs.
import { albanyError, type AlbanyError } from '../errors.js';
import { serviceWaits, type ServiceWait } from '../sync/service-waits.js';

/** What the check needs of a pool. */
export interface StarvablePool {
  readonly name: string | undefined;
  readonly config: { readonly maxThreads: number };
}

/**
 * Called when `wait`'s service (run for one of `pool`'s threads) makes a new call into `pool`.
 * Returns the error that call must fail with when the pool is starved: every one of its
 * `maxThreads` threads is blocked on a service call that waits on unfinished calls into this same
 * pool (queued ones cannot start with no thread free; running ones run on a blocked thread).
 * Otherwise records the call as one `wait` waits on, and returns undefined.
 */
export function checkStarvation(
  pool: StarvablePool,
  wait: ServiceWait,
  call: { readonly settled: boolean },
): AlbanyError | undefined {
  const blocked = new Map<number, ServiceWait>();
  for (const w of serviceWaits()) {
    if (w.owner !== pool) continue;
    for (const c of w.waitsOn) if (c.settled) w.waitsOn.delete(c);
    if (w === wait || w.waitsOn.size > 0) blocked.set(w.threadId, w);
  }
  if (blocked.size < pool.config.maxThreads) {
    wait.waitsOn.add(call);
    return undefined;
  }
  const name = pool.name === undefined ? 'the unnamed pool' : `pool '${pool.name}'`;
  const services = [...new Set([...blocked.values()].map((w) => `'${w.service}'`))].join(', ');
  return albanyError(
    'ERR_ALBANY_STARVATION',
    `${name} is starved: all ${pool.config.maxThreads} of its thread(s) wait in runSync on service ` +
      `${services}, which waits on this same pool; ` +
      `this call from service '${wait.service}' could never start. ` +
      `Give that work its own pool (offload(..., { pool: 'other' }) or legacy(url, { pool })) ` +
      `or raise maxThreads above the callers that can wait at once`,
    {
      details: {
        pool: pool.name,
        service: wait.service,
        services: [...new Set([...blocked.values()].map((w) => w.service))],
        maxThreads: pool.config.maxThreads,
      },
    },
  );
}

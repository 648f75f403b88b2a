// Which worker threads wait in runSync on a main-thread service right now, and which service call
// the running async code belongs to: what a pool needs to see that it would wait on itself
// (pool/starvation.ts). The context costs nothing while no worker waits on a service: the
// AsyncLocalStorage is turned off whenever the last such call ends.
import { AsyncLocalStorage } from 'node:async_hooks';

/** One service call a worker thread is blocked on. */
export interface ServiceWait {
  /** Whatever the thread belongs to (its pool), as the caller of {@link runServiceCall} named it. */
  readonly owner: object;
  /** The waiting worker's thread id. */
  readonly threadId: number;
  /** The service name given to runSync. */
  readonly service: string;
  /** Calls this service made into its owner (kept by the owner; settled ones may linger until looked at). */
  readonly waitsOn: Set<{ readonly settled: boolean }>;
}

const scope = new AsyncLocalStorage<ServiceWait>();
const waits = new Set<ServiceWait>();

/**
 * Runs `fn` (a service call made from `threadId` of `owner`) as a wait: until the promise it
 * returns settles, {@link currentServiceWait} in its async code names it and {@link serviceWaits}
 * lists it.
 */
export async function runServiceCall<T>(
  owner: object,
  threadId: number,
  service: string,
  fn: () => Promise<T>,
): Promise<T> {
  const wait: ServiceWait = { owner, threadId, service, waitsOn: new Set() };
  waits.add(wait);
  try {
    return await scope.run(wait, fn);
  } finally {
    waits.delete(wait);
    // Off again: no async_hooks cost for the process while no worker waits on a service.
    if (waits.size === 0) scope.disable();
  }
}

/**
 * The service call the running code serves (a worker thread is blocked on it), if any. One size check when none is in
 * flight.
 */
export function currentServiceWait(): ServiceWait | undefined {
  return waits.size === 0 ? undefined : scope.getStore();
}

/** Every service call worker threads are blocked on now. */
export function serviceWaits(): ReadonlySet<ServiceWait> {
  return waits;
}

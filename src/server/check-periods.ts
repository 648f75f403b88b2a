// How often the node:http host looks for requests past their timeouts: node's own connection check
// (headersTimeout, requestTimeout) and albany's request-timeout sweep. Neither period may be near
// one second, because of the Date header node:http caches for the rest of each wall-clock second.
//
// The first response of each second arms an unref'd timer to the next second (lib/internal/http.js),
// and node's timer code (`insert` in lib/internal/timers.js) takes its "earliest timer" branch,
// `binding.scheduleTimer`, only when no other timer list expires before that. A timer with a period
// of about 1 s expires within that second except while its phase, drifting by each tick's
// lateness, sits in the few ms between a second and the first response after it: so the branch
// runs in some processes at some moments only. Once node's `setUnrefTimeout` (run per keep-alive
// response, `insert` inlined) is optimized without it, V8 throws that code away and compiles it
// again, mid-load, when the branch first runs (~20M instructions, ~4k per request in a
// bench:instructions round of the gateway peers; never on plain node:http, whose other timers are
// 6 s and 30 s). Two timers of 2 s with different phases do the same (whether either expires in a
// given second depends on their phases). So while requests are served, the sweep (at most 250 ms)
// expires before the next second and the branch never runs, unless the event loop stalls for
// 750 ms across a second (then it runs once, and V8 keeps it from then on); without a sweep (no
// request timeout), node's check alone is at most 500 ms as well, or 2 s, where every other second
// has no check before the next second and the branch runs every 2 s, as it runs nearly every second
// on a plain node:http server. Stalls happen under valgrind (a round with the 250 ms sweep still
// recompiled), so the sweep's first ticks also run the branch on purpose (primeNodeTimers in
// http-host.ts): after that V8 has seen it, whatever the phases.

/** The longest period of node's connection check that expires before the next second under load. */
const SHORT_MAX_MS = 500;
/** The longest sweep period: it expires before the next second unless the loop stalls for 750 ms. */
const SWEEP_MAX_MS = 250;
/** The period of node's connection check for timeouts too long to need anything shorter. */
const LONG_MS = 2000;

/**
 * node:http's `connectionsCheckingInterval` for these timeouts (0: none): half the shorter one, at
 * least 100 ms, at most 500 ms, or 2 s once half the shorter one reaches 2 s. node checks
 * headersTimeout and requestTimeout only this often; its default (30 s) would let a slowloris
 * client hold a socket far past them.
 */
export function connectionsCheckMs(headersTimeoutMs: number, requestTimeoutMs: number): number {
  const half = Math.floor(Math.min(headersTimeoutMs || 1000, requestTimeoutMs || 1000) / 2);
  return half >= LONG_MS ? LONG_MS : Math.max(100, Math.min(SHORT_MAX_MS, half));
}

/**
 * The request-timeout sweep's period for a timeout of `requestTimeoutMs` (> 0): a quarter of it,
 * at least 50 ms, at most 250 ms. A request is cut within two periods of its deadline.
 */
export function sweepPeriodMs(requestTimeoutMs: number): number {
  return Math.max(50, Math.min(SWEEP_MAX_MS, Math.floor(requestTimeoutMs / 4)));
}

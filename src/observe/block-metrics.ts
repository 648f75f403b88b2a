// The detector's figures for /metrics: how long the loop was blocked (histogram) and which routes
// blocked it (counter), as Prometheus text beside the pools' families.

/** Upper bounds of the blocked-time buckets, in seconds. */
const BOUNDS_S = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/**
 * Distinct `route` labels kept; later routes count under `(other)` so a path full of ids cannot grow the series without
 * bound.
 */
const MAX_ROUTES = 100;

/** Process-wide block figures (one event loop per process, so one set). */
export class BlockMetrics {
  readonly #buckets = new Array<number>(BOUNDS_S.length).fill(0);
  #count = 0;
  #sum = 0;
  readonly #byRoute = new Map<string, number>();

  /** Records one block of `ms` milliseconds. */
  observe(ms: number): void {
    const s = ms / 1000;
    for (let i = 0; i < BOUNDS_S.length; i++) if (s <= BOUNDS_S[i]!) this.#buckets[i]!++;
    this.#count++;
    this.#sum += s;
  }

  /** Counts one reported block against `route`. */
  countRoute(route: string): void {
    const key = this.#byRoute.has(route) || this.#byRoute.size < MAX_ROUTES ? route : '(other)';
    this.#byRoute.set(key, (this.#byRoute.get(key) ?? 0) + 1);
  }

  /** Blocks observed so far. */
  get count(): number {
    return this.#count;
  }

  /** Reported blocks per route label. */
  routes(): ReadonlyMap<string, number> {
    return this.#byRoute;
  }

  /** The two families in text exposition format 0.0.4 (every line newline-terminated). */
  toPrometheus(): string {
    const lines = [
      '# HELP albany_event_loop_blocked_seconds How long the main event loop did not turn, per block past ' +
        'the threshold.',
      '# TYPE albany_event_loop_blocked_seconds histogram',
      ...BOUNDS_S.map((b, i) => `albany_event_loop_blocked_seconds_bucket{le="${b}"} ${this.#buckets[i]}`),
      `albany_event_loop_blocked_seconds_bucket{le="+Inf"} ${this.#count}`,
      `albany_event_loop_blocked_seconds_sum ${this.#sum}`,
      `albany_event_loop_blocked_seconds_count ${this.#count}`,
      '# HELP albany_blocking_total Blocks of the event loop reported, by the request running (METHOD /path).',
      '# TYPE albany_blocking_total counter',
    ];
    for (const [route, n] of this.#byRoute)
      lines.push(
        `albany_blocking_total{route="` +
          `${route.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}` +
          `"} ${n}`,
      );
    return `${lines.join('\n')}\n`;
  }
}

/** The process's block figures. */
export const blockMetrics = new BlockMetrics();

// HTTP figures of one process for Prometheus, beside the pool's: requests by method and status,
// requests in flight, a duration histogram, and the event loop's lag and utilization. Kept only
// when asked for (`--metrics`, or `serve({ metrics })`): a host without a collector pays nothing.
import { monitorEventLoopDelay, performance, type EventLoopUtilization, type IntervalHistogram } from 'node:perf_hooks';

// Methods outside this list share one label value, so a client cannot grow the series without bound.
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE']);
/** Upper bounds of the duration buckets, in seconds (prom-client's defaults). */
export const DURATION_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/**
 * The status recorded for a request whose client left before a response began (nginx's "client
 * closed request"), so such requests are counted and timed too.
 */
export const CLIENT_CLOSED_STATUS = 499;

/**
 * Collects one process's HTTP figures; give it to `serve({ metrics })` and render with
 * {@link HttpMetrics.toPrometheus}.
 */
export class HttpMetrics {
  #inFlight = 0;
  // `METHOD STATUS` → count.
  readonly #requests = new Map<string, number>();
  // Per bucket (not cumulative; rendering adds up), the last slot for above the largest bound.
  readonly #buckets = new Float64Array(DURATION_BUCKETS.length + 1);
  #sum = 0;
  #count = 0;
  readonly #loopDelay: IntervalHistogram;
  #lastElu: EventLoopUtilization;

  constructor() {
    // 10 ms resolution: the timer it runs is cheap, and lag below that does not matter to a server.
    this.#loopDelay = monitorEventLoopDelay({ resolution: 10 });
    this.#loopDelay.enable();
    this.#lastElu = performance.eventLoopUtilization();
  }

  /** A request began (the host keeps its start time for {@link HttpMetrics.finished}). */
  started(): void {
    this.#inFlight++;
  }

  /**
   * A request ended (response sent, or the client left: then pass {@link CLIENT_CLOSED_STATUS});
   * `startedAt` is `performance.now()` when it began.
   */
  finished(method: string, status: number, startedAt: number): void {
    this.#inFlight--;
    const key = `${METHODS.has(method) ? method : 'OTHER'} ${status}`;
    this.#requests.set(key, (this.#requests.get(key) ?? 0) + 1);
    const seconds = (performance.now() - startedAt) / 1000;
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]!) i++;
    this.#buckets[i]! += 1;
    this.#sum += seconds;
    this.#count++;
  }

  /** Requests started and not yet finished. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Stops the event-loop monitor (a process may make and drop several collectors in tests). */
  close(): void {
    this.#loopDelay.disable();
  }

  /**
   * The figures as Prometheus text (format 0.0.4). Event-loop lag is over the time since the last
   * call (the monitor restarts), utilization likewise, so each scrape reports its own interval.
   */
  toPrometheus(): string {
    const lines: string[] = [];
    const family = (name: string, type: string, help: string) =>
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    family(
      'albany_http_requests_total',
      'counter',
      'HTTP requests finished, by method and status (499: the client left before a response).',
    );
    for (const [key, n] of [...this.#requests].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const [method, status] = key.split(' ');
      lines.push(`albany_http_requests_total{method="${method}",status="${status}"} ${n}`);
    }
    family('albany_http_requests_in_flight', 'gauge', 'HTTP requests started and not yet finished.');
    lines.push(`albany_http_requests_in_flight ${this.#inFlight}`);
    family('albany_http_request_duration_seconds', 'histogram', 'Time from request head to the end of the response.');
    let cumulative = 0;
    DURATION_BUCKETS.forEach((le, i) => {
      cumulative += this.#buckets[i]!;
      lines.push(`albany_http_request_duration_seconds_bucket{le="${le}"} ${cumulative}`);
    });
    lines.push(`albany_http_request_duration_seconds_bucket{le="+Inf"} ${this.#count}`);
    lines.push(
      `albany_http_request_duration_seconds_sum ${this.#sum}`,
      `albany_http_request_duration_seconds_count ${this.#count}`,
    );
    const d = this.#loopDelay;
    // Nanoseconds; NaN before the first sample.
    const mean = Number.isFinite(d.mean) ? d.mean / 1e9 : 0;
    const p99 = d.count > 0 ? d.percentile(99) / 1e9 : 0;
    const max = d.count > 0 ? d.max / 1e9 : 0;
    d.reset();
    family(
      'albany_event_loop_lag_seconds',
      'gauge',
      'Event-loop delay since the last scrape, by statistic (mean, p99, max).',
    );
    lines.push(
      `albany_event_loop_lag_seconds{stat="mean"} ${mean}`,
      `albany_event_loop_lag_seconds{stat="p99"} ${p99}`,
      `albany_event_loop_lag_seconds{stat="max"} ${max}`,
    );
    const now = performance.eventLoopUtilization();
    const elu = performance.eventLoopUtilization(now, this.#lastElu);
    this.#lastElu = now;
    family('albany_event_loop_utilization', 'gauge', 'Fraction of time the event loop was busy since the last scrape.');
    lines.push(`albany_event_loop_utilization ${elu.utilization}`);
    return `${lines.join('\n')}\n`;
  }
}

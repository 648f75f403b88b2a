// `albany config --suggest URL`: reads a running server's /metrics and prints sizing advice per pool.
import { albanyError } from '../errors.js';
import { figuresBetween, readPoolFigures, type PoolFigures } from './advice-figures.js';
import { advise, type PoolAdvice } from './advice.js';

/** How long `--suggest` waits for the metrics endpoint. */
export const SUGGEST_TIMEOUT_MS = 5000;

/**
 * The metrics URL `--suggest` means: a full `http://HOST:PORT/PATH` (an empty path means
 * `/metrics`), `HOST:PORT` or a bare `PORT` on 127.0.0.1.
 * @throws AlbanyError `ERR_ALBANY_USAGE` for anything else.
 */
export function metricsUrl(target: string): URL {
  const bad = (why: string): never => {
    throw albanyError(
      'ERR_ALBANY_USAGE',
      `--suggest ${JSON.stringify(target)}: ${why}; ` +
        'give the --metrics port of a running albany, as PORT, HOST:PORT or http://HOST:PORT/metrics',
    );
  };
  const text = target.trim();
  if (text === '') return bad('empty');
  const portText = /^\d+$/.test(text) ? text : /^(?:\[[0-9a-f:.]+\]|[^\s/:]+):(\d+)$/i.exec(text)?.[1];
  if (portText !== undefined && !(Number(portText) >= 1 && Number(portText) <= 65535))
    bad('the port must be 1 to 65535');
  let spec: string;
  if (/^\d+$/.test(text)) spec = `http://127.0.0.1:${text}/metrics`;
  else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) spec = text;
  else if (portText !== undefined) spec = `http://${text}/metrics`;
  else return bad('not a port, HOST:PORT or URL');
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    return bad('not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') bad(`${url.protocol} is not http: or https:`);
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/metrics';
  return url;
}

/** Options of {@link suggestFromMetrics}. */
export interface SuggestOptions {
  /** Advise from the figures of this many seconds (two scrapes) instead of the pools' whole life; 0 by default. */
  windowS?: number;
  /** How long each scrape may take, in ms. */
  timeoutMs?: number;
}

/**
 * Fetches the exposition at `target` (see {@link metricsUrl}) and advises every pool in it: from
 * the pools' whole life, or with `windowS` from what changed between two scrapes that far apart
 * (a pool that appears only in the second is advised from its whole life).
 * @throws AlbanyError `ERR_ALBANY_USAGE` for a bad target, `ERR_ALBANY_METRICS_UNAVAILABLE` when
 * nothing answers, the answer is not 200, or it holds no albany pool figures.
 */
export async function suggestFromMetrics(target: string, options: SuggestOptions = {}): Promise<PoolAdvice[]> {
  const url = metricsUrl(target);
  const timeoutMs = options.timeoutMs ?? SUGGEST_TIMEOUT_MS;
  const windowS = options.windowS ?? 0;
  let pools = await scrape(url, timeoutMs);
  if (windowS > 0) {
    const before = new Map(pools.map((f) => [f.name, f]));
    await new Promise((resolve) => setTimeout(resolve, windowS * 1000));
    pools = (await scrape(url, timeoutMs)).map((f) => {
      const earlier = before.get(f.name);
      return earlier === undefined ? f : figuresBetween(f, earlier);
    });
  }
  return pools.map((f) => advise(f));
}

async function scrape(url: URL, timeoutMs: number): Promise<PoolFigures[]> {
  let text: string;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    text = await res.text();
    if (res.status !== 200) {
      throw albanyError(
        'ERR_ALBANY_METRICS_UNAVAILABLE',
        `--suggest: ${url.href} answered ${res.status}, not 200 (is it the --metrics port of albany serve?)`,
      );
    }
  } catch (error) {
    if (error instanceof Error && (error as { code?: unknown }).code === 'ERR_ALBANY_METRICS_UNAVAILABLE') throw error;
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why =
      (error as Error).name === 'TimeoutError'
        ? `no answer within ${timeoutMs} ms`
        : (cause?.code ?? cause?.message ?? (error as Error).message);
    throw albanyError(
      'ERR_ALBANY_METRICS_UNAVAILABLE',
      `--suggest: cannot read ${url.href} (${why}); start the server with --metrics PORT and give that port`,
    );
  }
  const pools = readPoolFigures(text);
  if (pools.length === 0) {
    throw albanyError(
      'ERR_ALBANY_METRICS_UNAVAILABLE',
      `--suggest: ${url.href} shows no albany pool figures ` +
        '(no albany_pool_* metrics: is a legacy pool or offload() in use there?)',
    );
  }
  return pools;
}

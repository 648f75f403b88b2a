// The periodic sizing line: every interval, each pool that was busy (or whose advice differs from its
// setting) gets one info line with the figures of that window, the advice and the rule.
import { figuresBetween, readPoolFigures, type PoolFigures } from './advice-figures.js';
import { advise, type AdviseOptions } from './advice.js';

/** Default interval of the line, in seconds (`--advice-interval`, `ALBANY_ADVICE_INTERVAL`). */
export const DEFAULT_ADVICE_INTERVAL_S = 60;

/** A pool busier than this in a window gets its line even when the advice keeps its setting. */
const BUSY_FOR_A_LINE = 0.5;

const seconds = (s: number): string => (s >= 10 ? String(Math.round(s)) : s.toFixed(1));

/**
 * Every `intervalMs`, reads `exposition()` (this process's /metrics text), takes the difference
 * with the previous reading per pool and passes `log` one line for each pool that ran tasks in the
 * window and was at least half busy or would be better sized otherwise (`options`: see `advise`).
 * The timer is unref'd.
 * Returns the function that stops it.
 */
export function startAdviceLog(
  intervalMs: number,
  exposition: () => string,
  log: (line: string) => void,
  options: AdviseOptions = {},
): () => void {
  let previous = new Map<string, PoolFigures>();
  const tick = (): void => {
    let current: PoolFigures[];
    try {
      current = readPoolFigures(exposition());
    } catch {
      return; // figures are a courtesy: never fail the server for them
    }
    for (const f of current) {
      const before = previous.get(f.name);
      if (before === undefined) continue;
      const window = figuresBetween(f, before);
      if (window.tasks === 0) continue;
      const advice = advise(window, options);
      const busy =
        window.seconds !== undefined && window.seconds > 0 && window.maxThreads
          ? window.runSeconds / (window.seconds * window.maxThreads)
          : 0;
      if (advice.change || busy >= BUSY_FOR_A_LINE) log(`${advice.line} [last ${seconds(window.seconds ?? 0)} s]`);
    }
    previous = new Map(current.map((f) => [f.name, f]));
  };
  tick();
  const timer = setInterval(tick, intervalMs).unref();
  return () => clearInterval(timer);
}

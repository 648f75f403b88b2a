// /metrics for a whole cluster: on each scrape the primary asks every worker for its exposition
// over the cluster's IPC channel and serves the merge (observe/merge-metrics.ts). prom-client's
// AggregatorRegistry works the same way; it is not a dependency, and albany's collectors are not
// prom-client registries, so the few messages are done here.
import cluster from 'node:cluster';
import { mergeExpositions, type ProcessExposition } from './merge-metrics.js';

// Tagged like server/cluster.ts's control messages, which ignore these.
const ASK = 'albany:metrics?';
const REPLY = 'albany:metrics';
interface Ask {
  albany: typeof ASK;
  id: number;
}
interface Reply {
  albany: typeof REPLY;
  id: number;
  pid: number;
  text: string;
}

/** In a worker: answer the primary's metrics requests with `render()` (its own exposition). */
export function answerMetricsRequests(render: () => string): void {
  process.on('message', (message: unknown) => {
    const ask = message as Partial<Ask> | null;
    if (typeof ask !== 'object' || ask === null || ask.albany !== ASK || typeof ask.id !== 'number') return;
    let text: string;
    try {
      text = render();
    } catch (error) {
      text = `# albany: metrics failed in ${process.pid}: ${(error as Error).message}\n`;
    }
    process.send?.({ albany: REPLY, id: ask.id, pid: process.pid, text } satisfies Reply);
  });
}

let nextId = 0;

/**
 * In the primary: every connected worker's exposition; a worker that does not answer within
 * `timeoutMs` (busy, or leaving) is left out of this scrape.
 */
export async function collectWorkerExpositions(timeoutMs = 2000): Promise<ProcessExposition[]> {
  const id = ++nextId;
  const workers = Object.values(cluster.workers ?? {}).filter((w) => w?.isConnected());
  const answers = await Promise.all(
    workers.map(
      (worker) =>
        new Promise<ProcessExposition | undefined>((resolve) => {
          const done = (value: ProcessExposition | undefined) => {
            clearTimeout(timer);
            worker!.off('message', onMessage);
            worker!.off('exit', onExit);
            resolve(value);
          };
          const onMessage = (message: unknown) => {
            const reply = message as Partial<Reply> | null;
            if (typeof reply === 'object' && reply !== null && reply.albany === REPLY && reply.id === id)
              done({ pid: reply.pid!, text: reply.text ?? '' });
          };
          const onExit = () => done(undefined);
          const timer = setTimeout(() => done(undefined), timeoutMs);
          worker!.on('message', onMessage);
          worker!.once('exit', onExit);
          try {
            worker!.send({ albany: ASK, id } satisfies Ask);
          } catch {
            done(undefined);
          }
        }),
    ),
  );
  return answers.filter((a): a is ProcessExposition => a !== undefined);
}

/** In the primary: the whole service's exposition, plus how many workers answered. */
export async function clusterExposition(timeoutMs?: number): Promise<string> {
  const parts = await collectWorkerExpositions(timeoutMs);
  const head = [
    '# HELP albany_cluster_workers_reporting Worker processes whose figures this scrape includes.',
    '# TYPE albany_cluster_workers_reporting gauge',
    `albany_cluster_workers_reporting ${parts.length}`,
  ];
  return `${head.join('\n')}\n${mergeExpositions(parts)}`;
}

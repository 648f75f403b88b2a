// Legacy demo route: blocking code calling async code on the gateway's own event loop with runSync —
// the visit counter lives in a Map on the main thread, provided as the "visits.increment" service.
import { threadId } from 'node:worker_threads';
import { runSync } from '../../src/sync/index.js';

/** Plain-style handler: `GET /legacy/visits/<page>` counts a visit through the main thread's service. */
export function handle(req: { url: string }) {
  const page = new URL(req.url, 'http://demo').pathname || '/';
  // Blocks this worker thread (never the event loop) until the main thread's async service answers.
  const count = runSync<number>('visits.increment', page);
  return { status: 200, headers: { 'content-type': 'application/json' }, body: { page, count, worker: threadId } };
}

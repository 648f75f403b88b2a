// Peer (b): the same hello world as a gateway app, hosted by albany's node:http server.
import type { App } from '../../src/gateway/types.js';
import { serve } from '../../src/server/http.js';
import { DEFAULT_BLOCK_THRESHOLD_MS } from '../../src/observe/block-detector.js';
import { startStretchedDetector } from './stretched-detector.js';
import { announce, CONTENT_TYPE, HELLO } from './ready.js';

const body = Buffer.from(HELLO);
const headers: Array<[string, string]> = [['content-type', CONTENT_TYPE]];

const app: App = async (scope, receive, send) => {
  if (scope.type === 'lifespan') {
    for (;;) {
      const message = await receive();
      if (message.type === 'lifespan.startup') await send({ type: 'lifespan.startup.complete' });
      else if (message.type === 'lifespan.shutdown') return send({ type: 'lifespan.shutdown.complete' });
    }
  }
  await send({ type: 'http.response.start', status: 200, headers });
  await send({ type: 'http.response.body', body });
};

// `--block-threshold=MS` sets the blocking detector (0: off), so its cost can be measured against this same peer.
const thresholdArg = process.argv.find((a) => a.startsWith('--block-threshold='));
const blockThresholdMs =
  thresholdArg === undefined ? undefined : Number(thresholdArg.slice('--block-threshold='.length));
// `--block-clock-scale=S` (bench:instructions under callgrind): the detector's periods stretched S times,
// started before serve(), which then shares it (one detector per process).
const scaleArg = process.argv.find((a) => a.startsWith('--block-clock-scale='));
if (scaleArg !== undefined) {
  startStretchedDetector(
    blockThresholdMs ?? DEFAULT_BLOCK_THRESHOLD_MS,
    Number(scaleArg.slice('--block-clock-scale='.length)),
  );
}
const server = await serve(app, { host: '127.0.0.1', port: 0, logLevel: 'warn', blockThresholdMs });
announce(server.port, () => server.close());

// Worker entry for `albany serve --legacy`'s start-up check: loads the handler module once with the
// loader the legacy pool's workers use, and reports whether it (and the named export) is usable.
import { parentPort, workerData } from 'node:worker_threads';
import { loadHandler } from '../legacy-adapter/worker/load-handler.js';
import type { LegacyCheckRequest, LegacyCheckResult } from '../src/legacy-check-protocol.js';
import { errorInfo } from '../src/load-failure.js';

const request = workerData as LegacyCheckRequest;
let result: LegacyCheckResult;
try {
  const loaded = await loadHandler(request.moduleUrl, request.exportName, request.style);
  result = { ok: true, style: loaded.style, ...(loaded.listen === undefined ? {} : { listen: loaded.listen }) };
} catch (err) {
  result = { ok: false, error: errorInfo(err) };
}
parentPort!.postMessage(result);

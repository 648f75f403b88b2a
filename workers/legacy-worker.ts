// The piscina worker entry for legacy handlers: one task is one request, run to the end on this thread.
import { albanyError, hasCode } from '../src/errors.js';
import { createSignal } from '../src/sync/channel.js';
import {
  STARTED_AT_INDEX, STATE_INDEX, TaskState, serializeError,
  type LegacyTask, type TaskResult,
} from '../src/pool/protocol.js';
import { WorkerLink } from '../legacy-adapter/link.js';
import { BodyInput } from '../legacy-adapter/input.js';
import { ResponseOutput, runWsgi, type ResponseHead, type WsgiHandler } from '../legacy-adapter/response.js';
import { LegacyNodeRequest, LegacyNodeResponse } from '../legacy-adapter/node-style.js';
import { plainRequest, writePlainResponse } from '../legacy-adapter/plain-style.js';
import { loadHandler, type LoadedHandler } from '../legacy-adapter/load-handler.js';
import { installServiceBridge } from '../legacy-adapter/service-bridge.js';

/** Runs one legacy request; never rejects for handler faults (they come back in the result). */
export default async function runLegacyTask(task: LegacyTask): Promise<TaskResult> {
  const state = new Int32Array(task.shared);
  Atomics.store(state, STATE_INDEX, TaskState.running);
  const link = new WorkerLink(task.port, createSignal(task.shared), task.ackBytes, task.ackMessages);
  const result: TaskResult = { start: undefined, body: undefined, error: undefined, loadError: false, aborted: false, startedAt: now() };
  let loaded: LoadedHandler;
  try {
    loaded = await loadHandler(task.moduleUrl, task.exportName, task.style);
  } catch (err) {
    Atomics.store(state, STATE_INDEX, TaskState.finished);
    return { ...result, error: serializeError(err), loadError: true };
  }
  // The timeout clock starts here: a slow first import (tsx compiling the module) is not the handler's fault.
  new Float64Array(task.shared)[STARTED_AT_INDEX] = result.startedAt = now();
  const uninstall = installServiceBridge(link);
  const timersBefore = countTimers();
  try {
    const tail = await callHandler(loaded, task, link);
    result.start = tail.start;
    result.body = tail.body;
    if (countTimers() > timersBefore) await settleStrayTimers();
  } catch (err) {
    if (link.disconnected || hasCode(err, 'ERR_ALBANY_ABORTED')) result.aborted = true;
    else result.error = serializeError(err);
  } finally {
    uninstall();
    Atomics.store(state, STATE_INDEX, TaskState.finished);
  }
  return result;
}

async function callHandler(loaded: LoadedHandler, task: LegacyTask, link: WorkerLink): Promise<{ start: ResponseHead | undefined; body: Uint8Array }> {
  const input = new BodyInput(task.body, task.more, link);
  const output = new ResponseOutput(link);
  switch (loaded.style) {
    case 'wsgi':
      return runWsgi(loaded.fn as WsgiHandler, wsgiEnviron(task, input, link), output);
    case 'plain': {
      let value = loaded.fn(plainRequest(task.request, input));
      if (isThenable(value)) value = await value;
      return writePlainResponse(value, output);
    }
    case 'node': {
      const res = new LegacyNodeResponse(output);
      const returned = loaded.fn(new LegacyNodeRequest(task.request, input), res);
      if (isThenable(returned)) await returned;
      // A handler may end from a callback; the event loop runs while we wait (bounded by taskTimeoutMs).
      if (!res.writableEnded) await res.ended();
      return res.finish()!;
    }
    default:
      throw albanyError('ERR_ALBANY_APP_LOAD', `unknown legacy handler style ${String(loaded.style)}`);
  }
}

function wsgiEnviron(task: LegacyTask, input: BodyInput, link: WorkerLink): Record<string, unknown> {
  const errors = {
    write: (text: unknown): void => link.post({ type: 'legacy.log', text: String(text) }),
    writelines: (lines: Iterable<unknown>): void => link.post({ type: 'legacy.log', text: [...lines].map(String).join('') }),
    flush: (): void => {},
  };
  return {
    ...task.request.environ,
    'wsgi.input': input,
    'wsgi.errors': errors,
    'wsgi.version': [1, 0],
    'wsgi.multithread': true,
    'wsgi.multiprocess': false,
    'wsgi.run_once': false,
  };
}

// piscina parks an idle worker in Atomics.wait, so a timer a handler left behind would fire during
// the *next* request and take it down with it. When the handler added timers, one timers phase runs
// now (setImmediate would not do: it can run before the timers phase), so a throw there fails the
// request that caused it. Intervals a module set up at load time are not counted: no tax for them.
async function settleStrayTimers(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 0));
}

function countTimers(): number {
  let n = 0;
  for (const kind of process.getActiveResourcesInfo()) if (kind === 'Timeout' || kind === 'Immediate') n++;
  return n;
}

function now(): number {
  return performance.timeOrigin + performance.now();
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

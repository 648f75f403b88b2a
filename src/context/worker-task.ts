// The request context on a pool thread: the task running now carries its context (a copy made at
// dispatch), and context() there reads it. Tasks run one at a time on a thread, so one slot serves,
// even across a handler's awaits.
import { RequestContext, type WireContext } from './request-context.js';
import { contextState } from './state.js';

/** Makes `wire` (a task's context, or undefined for none) the context of the code that runs next. */
export function enterTask(wire: WireContext | undefined): void {
  contextState.current = wire === undefined ? undefined : RequestContext.fromWire(wire);
}

/** The task ended: no context until the next one. */
export function leaveTask(): void {
  contextState.current = undefined;
}

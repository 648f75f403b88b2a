// The messages between a legacy worker running runSync('name') and the main thread that serves it.
import type { SerializedError } from './protocol.js';

/** Worker → main: run service `name`. `thread` + `id` identify the call across workers. */
export interface ServiceCallMessage {
  readonly kind: 'service-call';
  readonly thread: number;
  readonly id: number;
  readonly name: string;
  readonly args: readonly unknown[];
  /** The calling task's request context key, if any: the service runs in that request's context. */
  readonly ctx?: number;
}

/** Worker → main: the worker stopped waiting for call `id`; abort its signal. */
export interface ServiceCancelMessage {
  readonly kind: 'service-cancel';
  readonly thread: number;
  readonly id: number;
}

/** Main → worker: call `id` settled. */
export type ServiceResultMessage =
  | { readonly kind: 'service-result'; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly kind: 'service-result'; readonly id: number; readonly ok: false; readonly error: SerializedError };

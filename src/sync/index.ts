// The public names of runSync, re-exported by src/index.ts.
export { syncify, runSync, runInReactor } from './run-sync.js';
export type { SyncifyOptions, ModuleTarget, ServiceTarget } from './run-sync.js';
export { EventualResult } from './eventual-result.js';
export { closeReactor, reactorHandle, attachReactor } from './reactor.js';
export type { ReactorHandle } from './reactor.js';
export { configureSync } from './options.js';
export type { SyncOptions } from './options.js';
export { provide, setServiceBridge, isServiceMessage, handleServiceCall } from './services.js';
export type { ServiceBridge, ServiceFn, ServiceCallMessage, ServiceCancelMessage, ServiceResultMessage } from './services.js';
export { withTransfer } from './transfer.js';
export type { ReactorCallContext } from './protocol.js';

// runSync's public names (`albany/sync`, and re-exported by `albany`). The service bridge between a
// legacy worker and the main thread (setServiceBridge, handleServiceCall, isServiceMessage) is
// plumbing: the package imports it from services.ts by path.
export { syncify, runSync, runInReactor } from './run-sync.js';
export type { SyncifyOptions, ModuleTarget, ServiceTarget } from './run-sync.js';
export { EventualResult } from './eventual-result.js';
export { closeReactor, reactorHandle, attachReactor } from './reactor.js';
export type { ReactorHandle } from './reactor.js';
export { configureSync } from './options.js';
export type { SyncOptions } from './options.js';
export { provide, type ServiceFn } from './service-registry.js';
export { withTransfer } from './transfer.js';
export type { ReactorCallContext } from './protocol.js';

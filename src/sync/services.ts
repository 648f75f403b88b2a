// Services the main thread provides to blocking code in legacy workers: asgiref's async_to_sync.
//
// ## Contract for the legacy worker (workers/legacy-worker.ts) and its adapter
//
// Worker side, per request:
//   setServiceBridge({ port, signal, onOtherMessage })   // before calling the handler
//   …handler runs; runSync('db.query', sql) posts { kind: 'service-call', thread, id, name, args }
//     on `port` and blocks in receiveBlocking(port, signal) until { kind: 'service-result', id }.
//     Anything else that arrives on `port` meanwhile (request-body chunks) is passed, in order, to
//     onOtherMessage — the worker pushes it onto the queue its input.read() consumes.
//   setServiceBridge(null)                                // after the handler returns or throws
//   On timeout the worker posts { kind: 'service-cancel', thread, id } and throws ERR_ALBANY_TIMEOUT.
//
// Main side (legacy adapter), in the 'message' listener of that request's port:
// if (isServiceMessage(msg)) { void handleServiceCall(msg, (reply, transfer) => postAndWake(port, signal, reply,
// transfer)); return; }
// handleServiceCall runs the provided function on the main loop and replies exactly once (even for
// an unknown name, a throw, or an uncloneable result). It never rejects.
//
// The halves live in service-client.ts (worker) and service-host.ts (main); import either from here.
export { provide, type ServiceFn } from './service-registry.js';
export { setServiceBridge, callService, type ServiceBridge } from './service-client.js';
export { handleServiceCall, isServiceMessage } from './service-host.js';
export type { ServiceCallMessage, ServiceCancelMessage, ServiceResultMessage } from './service-protocol.js';

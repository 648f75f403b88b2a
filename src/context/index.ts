// The request context's public names, re-exported by src/index.ts.
export { context, enableContext, disableContext, type ContextOptions } from './context.js';
export { RequestContext } from './request-context.js';
export { parseTraceParent, formatTraceParent, type TraceParent } from './trace-parent.js';

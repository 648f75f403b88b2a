// Where a request gets its context: server/cycle.ts hands every request's app call to the function
// built here (only once context is on), which runs the app inside AsyncLocalStorage and, with
// OpenTelemetry, inside the request's server span.
import type { AsyncLocalStorage } from 'node:async_hooks';
import type { App, HttpScope, Receive, Send, SendMessage, WebSocketScope } from '../gateway/types.js';
import { isValidRequestId, requestIdGenerator } from '../observe/request-id.js';
import { now } from '../clock.js';
import { endSpan, otel, spanIsReal, type OtelContext } from './otel.js';
import { RequestContext } from './request-context.js';
import type { EnterRequest, RequestBooks } from './state.js';
import { formatTraceParent, parseTraceParent, parseTraceState } from './trace-parent.js';

/** The OpenTelemetry context (with the request's server span) of each request context that has one. */
export const otelContexts = new WeakMap<RequestContext, OtelContext>();

// performance.timeOrigin is a getter into the runtime; it never changes on a thread.
const TIME_ORIGIN = performance.timeOrigin;

/** Settings of {@link makeEnter}. */
export interface EnterSettings {
  /** The request's time budget as enableContext was given it (0: no deadline); undefined: the host's. */
  timeoutMs: number | undefined;
  /** The budget for requests whose host keeps no books: the CLI's request timeout or the default. */
  fallbackMs: number;
}

/** What the client sent to name its request and its trace. */
interface SentIds {
  id: string | undefined;
  parent: string | undefined;
  /** Every tracestate header joined, as the specification reads several. */
  state: string | undefined;
}

/** The id, traceparent and tracestate the client sent: the first id and traceparent. */
function sentIds(scope: HttpScope | WebSocketScope, books: RequestBooks | undefined): SentIds {
  // A host with books read x-request-id while it read the head, so only the trace is looked for.
  const sent: SentIds = { id: books === undefined ? undefined : books.requestId, parent: undefined, state: undefined };
  const headers = scope.headers;
  for (let i = 0; i < headers.length; i++) {
    const [name, value] = headers[i]!;
    if (name === 'traceparent') sent.parent ??= value;
    else if (name === 'tracestate') sent.state = sent.state === undefined ? value : `${sent.state},${value}`;
    else if (books === undefined && name === 'x-request-id') sent.id ??= value;
  }
  return sent;
}

/** Builds the cycle hook: each request's app call runs in a fresh {@link RequestContext}. */
export function makeEnter(storage: AsyncLocalStorage<RequestContext>, settings: EnterSettings): EnterRequest {
  const nextId = requestIdGenerator();
  return (
    app: App,
    scope: HttpScope | WebSocketScope,
    receive: Receive,
    send: Send,
    books: RequestBooks | undefined,
  ): unknown => {
    // A cycle inside a request (an albany app mounted in Express through toNodeHandler, served by
    // albany): still the same request, so it keeps the outer context.
    if (storage.getStore() !== undefined) return app(scope, receive, send);
    const sent = sentIds(scope, books);
    const requestId = isValidRequestId(sent.id) ? sent.id : nextId();
    // The access log then names the request by the same id as the context.
    if (books !== undefined) books.requestId = requestId;
    // 0: the host does not time requests (no access log or metrics): the app starting is the moment.
    const startedAt = books !== undefined && books.startedAt > 0 ? TIME_ORIGIN + books.startedAt : now();
    // A WebSocket connection lives as long as its peers want: no request timeout, so no deadline.
    const timeoutMs =
      scope.type === 'websocket' ? 0 : (settings.timeoutMs ?? books?.requestTimeoutMs ?? settings.fallbackMs);
    const deadline = timeoutMs > 0 ? startedAt + timeoutMs : undefined;
    const parent = parseTraceParent(sent.parent);
    // tracestate means something only beside the traceparent it came with.
    const tracestate = parent === undefined ? undefined : parseTraceState(sent.state);
    const o = otel();
    if (o === undefined) {
      const ctx = new RequestContext(requestId, undefined, deadline, undefined, 0, parent, tracestate);
      return storage.run(ctx, app, scope, receive, send);
    }
    const { api, tracer } = o;
    // The handshake is a GET whatever the scope says.
    const method = scope.type === 'websocket' ? 'GET' : scope.method;
    const parentContext =
      parent === undefined
        ? api.ROOT_CONTEXT
        : api.trace.setSpanContext(api.ROOT_CONTEXT, {
            traceId: parent.traceId,
            spanId: parent.spanId,
            traceFlags: parent.flags,
            isRemote: true,
            ...(tracestate === undefined ? {} : { traceState: api.createTraceState(tracestate) }),
          });
    const span = tracer.startSpan(
      scope.type === 'websocket' ? 'GET websocket' : method,
      {
        kind: api.SpanKind.SERVER,
        startTime: startedAt,
        attributes: {
          'http.request.method': method,
          'url.path': scope.path,
          'url.scheme': scope.scheme,
          'albany.request_id': requestId,
        },
      },
      parentContext,
    );
    const real = spanIsReal(o, span, parent?.spanId);
    const sc = span.spanContext();
    // A no-op tracer (no SDK) gives no ids of its own: albany's are made if anyone asks.
    const traceparent = real ? formatTraceParent(sc.traceId, sc.spanId, sc.traceFlags) : undefined;
    const ctx = new RequestContext(requestId, traceparent, deadline, undefined, 0, parent, tracestate);
    const spanContext = api.trace.setSpan(parentContext, span);
    otelContexts.set(ctx, spanContext);
    const tracedSend = (message: SendMessage): Promise<void> => {
      if (message.type === 'http.response.start') span.setAttribute('http.response.status_code', message.status);
      return send(message);
    };
    let result: unknown;
    try {
      result = api.context.with(spanContext, () => storage.run(ctx, app, scope, receive, tracedSend));
    } catch (error) {
      endSpan(o, span, error);
      throw error;
    }
    return Promise.resolve(result).then(
      () => endSpan(o, span),
      (error: unknown) => {
        endSpan(o, span, error);
        throw error;
      },
    );
  };
}

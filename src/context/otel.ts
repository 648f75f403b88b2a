// OpenTelemetry, when the application has `@opentelemetry/api` installed: imported dynamically
// (albany never requires it) and used only through the API, so spans go wherever the application's
// SDK sends them. Without the package, or with tracing turned off, every helper here is skipped.
import type * as OtelApi from '@opentelemetry/api';

/** The loaded API and albany's tracer. */
export interface Otel {
  readonly api: typeof OtelApi;
  readonly tracer: OtelApi.Tracer;
}

/** A span as albany holds it (the API's own type, kept out of albany's public declarations). */
export type OtelSpan = OtelApi.Span;
/** An OpenTelemetry context (the API's own type). */
export type OtelContext = OtelApi.Context;

let loaded: Otel | undefined;
let loading: Promise<Otel | undefined> | undefined;

/** The API once {@link loadOtel} found it; undefined before, without the package, or after {@link dropOtel}. */
export function otel(): Otel | undefined {
  return loaded;
}

/** Imports `@opentelemetry/api` once; resolves undefined when it is not installed. */
export function loadOtel(): Promise<Otel | undefined> {
  loading ??= import('@opentelemetry/api').then(
    (mod) => {
      // The CommonJS build seen through ESM interop: its names are on the namespace or on default.
      const api = (
        (mod as { trace?: unknown }).trace === undefined ? (mod as unknown as { default: typeof OtelApi }).default : mod
      ) as typeof OtelApi;
      loaded = { api, tracer: api.trace.getTracer('albany') };
      return loaded;
    },
    () => undefined,
  );
  return loading;
}

/** Stops making spans (tracing: false). */
export function dropOtel(): void {
  loaded = undefined;
  loading = Promise.resolve(undefined);
}

/**
 * True when `span` has a trace of its own to name: a no-op tracer (no SDK registered) hands back
 * the parent's ids or all zeros, and then albany's own ids serve better.
 */
export function spanIsReal(o: Otel, span: OtelSpan, parentSpanId: string | undefined): boolean {
  const sc = span.spanContext();
  return o.api.trace.isSpanContextValid(sc) && sc.spanId !== parentSpanId;
}

/** Ends `span`, marking it failed when `error` is given. */
export function endSpan(o: Otel, span: OtelSpan, error?: unknown, endTime?: number): void {
  if (error !== undefined) {
    const message =
      error instanceof Error
        ? error.message
        : typeof (error as { message?: unknown })?.message === 'string'
          ? (error as { message: string }).message
          : String(error);
    span.setStatus({ code: o.api.SpanStatusCode.ERROR, message });
    if (error instanceof Error) span.recordException(error);
  }
  span.end(endTime);
}

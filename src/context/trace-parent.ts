// W3C Trace Context `traceparent`: parsed from a request, or started anew, and formatted again for
// the request's own span (https://www.w3.org/TR/trace-context/#traceparent-header).
import { randomFillSync } from 'node:crypto';

/** The fields of a `traceparent` header. */
export interface TraceParent {
  /** 32 lower-case hex digits, never all zeros. */
  readonly traceId: string;
  /** 16 lower-case hex digits, never all zeros: the span this one's work is a child of. */
  readonly spanId: string;
  /** Trace flags (bit 0: sampled). */
  readonly flags: number;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/**
 * Parses a `traceparent` value; undefined when it is not a valid one (the request then starts a
 * new trace). Version `ff` is refused; a future version is read for its first four fields, as the
 * specification asks.
 */
export function parseTraceParent(value: string | undefined): TraceParent | undefined {
  if (value === undefined) return undefined;
  const m = TRACEPARENT.exec(value.trim());
  if (m === null) return undefined;
  const [, version, traceId, spanId, flags, rest] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
    string | undefined,
  ];
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return { traceId, spanId, flags: parseInt(flags, 16) };
}

// A tracestate list member: `key=value`, key per the specification (simple or tenant@system), value
// printable ASCII but for `,` and `=`, not ending in a space.
const TRACESTATE_MEMBER =
  /^[a-z0-9][a-z0-9_\-*/@]{0,255}=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;
/** The longest `tracestate` albany passes on: the specification lets a vendor drop longer ones. */
const TRACESTATE_MAX = 512;
const TRACESTATE_MAX_MEMBERS = 32;

/**
 * The client's `tracestate` as albany passes it on: its list members (empty ones dropped) when every
 * member is well-formed and there are at most 32 of them in 512 characters, else undefined. It
 * means something only beside a valid `traceparent`
 * (https://www.w3.org/TR/trace-context/#tracestate-header).
 */
export function parseTraceState(value: string | undefined): string | undefined {
  if (value === undefined || value.length > TRACESTATE_MAX * 2) return undefined;
  const members: string[] = [];
  for (const raw of value.split(',')) {
    const member = raw.trim();
    if (member === '') continue;
    if (!TRACESTATE_MEMBER.test(member)) return undefined;
    members.push(member);
  }
  const text = members.join(',');
  return members.length === 0 || members.length > TRACESTATE_MAX_MEMBERS || text.length > TRACESTATE_MAX
    ? undefined
    : text;
}

/** `00-<traceId>-<spanId>-<flags>`. */
export function formatTraceParent(traceId: string, spanId: string, flags: number): string {
  return `00-${traceId}-${spanId}-${flags < 16 ? '0' : ''}${flags.toString(16)}`;
}

// Random ids come from one buffer refilled every 256 ids: a randomBytes call per id costs more.
const pool = Buffer.alloc(4096);
let offset = pool.length;

const ZEROS: Record<number, string> = { 8: '0'.repeat(16), 16: '0'.repeat(32) };

function randomHex(bytes: number): string {
  if (offset + bytes > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const text = pool.toString('hex', offset, offset + bytes);
  offset += bytes;
  // All zeros is invalid in both fields; 2^-64 at worst, but cheap to rule out.
  return text === ZEROS[bytes] ? randomHex(bytes) : text;
}

/** A new random trace id (32 hex digits). */
export function newTraceId(): string {
  return randomHex(16);
}

/** A new random span id (16 hex digits). */
export function newSpanId(): string {
  return randomHex(8);
}

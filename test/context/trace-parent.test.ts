// traceparent parsing by the W3C rules, table-driven; and the ids albany makes.
import test from 'ava';
import {
  formatTraceParent,
  newSpanId,
  newTraceId,
  parseTraceParent,
  parseTraceState,
} from '../../src/context/trace-parent.js';
import { isValidRequestId } from '../../src/observe/request-id.js';

const T = '4bf92f3577b34da6a3ce929d0e0e4736';
const S = '00f067aa0ba902b7';

const cases: Array<[string, string | undefined, ReturnType<typeof parseTraceParent>]> = [
  ['a valid one', `00-${T}-${S}-01`, { traceId: T, spanId: S, flags: 1 }],
  ['not sampled', `00-${T}-${S}-00`, { traceId: T, spanId: S, flags: 0 }],
  ['surrounding spaces', ` 00-${T}-${S}-01 `, { traceId: T, spanId: S, flags: 1 }],
  ['a future version with more fields', `01-${T}-${S}-01-extra`, { traceId: T, spanId: S, flags: 1 }],
  ['version 00 with more fields', `00-${T}-${S}-01-extra`, undefined],
  ['version ff', `ff-${T}-${S}-01`, undefined],
  ['upper-case hex', `00-${T.toUpperCase()}-${S}-01`, undefined],
  ['an all-zero trace id', `00-${'0'.repeat(32)}-${S}-01`, undefined],
  ['an all-zero span id', `00-${T}-${'0'.repeat(16)}-01`, undefined],
  ['a short trace id', `00-${T.slice(1)}-${S}-01`, undefined],
  ['garbage', 'hello', undefined],
  ['absent', undefined, undefined],
];
for (const [name, input, expected] of cases) {
  test(`parseTraceParent: ${name}`, (t) => {
    t.deepEqual(parseTraceParent(input), expected);
  });
}

test('formatTraceParent round-trips and new ids are random, well-formed and not zero', (t) => {
  t.is(formatTraceParent(T, S, 1), `00-${T}-${S}-01`);
  t.is(formatTraceParent(T, S, 0xab), `00-${T}-${S}-ab`);
  const traces = new Set(Array.from({ length: 600 }, newTraceId));
  const spans = new Set(Array.from({ length: 600 }, newSpanId));
  t.is(traces.size, 600);
  t.is(spans.size, 600);
  for (const id of traces) t.regex(id, /^(?!0+$)[0-9a-f]{32}$/);
  for (const id of spans) t.regex(id, /^(?!0+$)[0-9a-f]{16}$/);
});

test('isValidRequestId keeps 1 to 200 visible ASCII characters and nothing else', (t) => {
  for (const ok of ['a', 'req-1.2_3:4/5', 'x'.repeat(200), '{"json":1}']) t.true(isValidRequestId(ok), ok);
  for (const bad of [undefined, '', 'has space', 'tab\there', 'x'.repeat(201), 'é', 'nl\n'])
    t.false(isValidRequestId(bad), String(bad));
});

test('parseTraceState keeps well-formed list members, drops empty ones, refuses malformed or oversized lists', (t) => {
  t.is(parseTraceState('congo=t61rcWkgMzE,rojo=00f067aa0ba902b7'), 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7');
  t.is(parseTraceState(' congo=a , , rojo=b '), 'congo=a,rojo=b');
  t.is(parseTraceState('tenant@vendor=x'), 'tenant@vendor=x');
  t.is(parseTraceState(undefined), undefined);
  t.is(parseTraceState(''), undefined);
  for (const bad of ['nokey', 'UPPER=x', 'k=', 'k=has,comma=1=2', 'k=v=w', 'k=tab\there', 'é=x'])
    t.is(parseTraceState(bad), undefined, bad);
  const many = Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(',');
  t.is(parseTraceState(many), undefined, '33 members');
  t.is(parseTraceState(`k=${'v'.repeat(250)},j=${'v'.repeat(250)},l=${'v'.repeat(20)}`), undefined, 'over 512');
});

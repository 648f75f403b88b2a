import test from 'ava';
import {
  batchBytes,
  decodeBatch,
  encodeBatch,
  offloadTask,
  type LegacyRequest,
  type LegacyTask,
  type MountSpec,
} from '../../src/pool/protocol.js';

const mount: MountSpec = {
  moduleUrl: 'file:///a.js',
  exportName: undefined,
  style: 'wsgi',
  ackBytes: 1,
  ackMessages: 2,
};
const other: MountSpec = { ...mount, moduleUrl: 'file:///b.js' };

const request = (over: Partial<LegacyRequest> = {}): LegacyRequest => ({
  method: 'GET',
  url: '/x?q=1',
  path: '/x',
  rootPath: '',
  queryString: 'q=1',
  scheme: 'http',
  httpVersion: '1.1',
  server: ['127.0.0.1', 8080],
  client: ['127.0.0.1', 50000],
  headers: [
    ['host', 'localhost:8080'],
    ['accept', '*/*'],
  ],
  ...over,
});

const task = (r: LegacyRequest, body = '', more = false, m = mount): LegacyTask => ({
  mount: m,
  request: r,
  body: Buffer.from(body),
  more,
});

function roundTrip(tasks: LegacyTask[]) {
  const items = tasks.map((t, i) => ({ id: 100 + i, task: t }));
  const batch = structuredClone(encodeBatch(items, new SharedArrayBuffer(batchBytes(items.length))));
  return decodeBatch(batch);
}

test('a batch of requests, alike or not, arrives field for field as it was sent', (t) => {
  const many: Array<[string, string]> = Array.from({ length: 40 }, (_, i) => [`x-h${i}`, `v${i}`]);
  const manyLater: Array<[string, string]> = many.map(([n, v], i) => [n, i === 35 || i === 3 ? `${v}!` : v]);
  const requests = [
    request(),
    request({ client: ['127.0.0.1', 50001] }),
    request(),
    request({ method: 'POST', url: '/y', path: '/y', queryString: '', rootPath: '/app' }),
    request({ server: null, client: null, headers: [] }),
    request({ server: null, client: null, headers: [['host', 'a']] }),
    request({ scheme: 'https', httpVersion: '2', path: '/\u00e9', headers: many }),
    request({ scheme: 'https', httpVersion: '2', path: '/\u00e9', headers: manyLater }),
    request({ headers: [['accept', '*/*']] }),
  ];
  const bodies = ['', 'abc', '', 'x'.repeat(70_000), '', 'zz', '', 'q', ''];
  const tasks = requests.map((r, i) => task(r, bodies[i], i % 3 === 1, i === 5 ? other : mount));
  const items = roundTrip(tasks);
  t.is(items.length, tasks.length);
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    t.is(item.id, 100 + i);
    t.deepEqual(item.request, requests[i], `request ${i}`);
    t.is(Buffer.from(item.body).toString(), bodies[i]!, `body ${i}`);
    t.is(item.more, i % 3 === 1);
    t.is(item.mount.moduleUrl, i === 5 ? other.moduleUrl : mount.moduleUrl);
  }
});

test('an offload call between two requests does not disturb what the second repeats of the first', (t) => {
  const call = offloadTask({ moduleUrl: 'file:///c.js', exportName: 'f', args: [1, 'a'], transfer: undefined });
  const first = request();
  const second = request({ client: ['::1', 4] });
  const items = roundTrip([task(first), call, task(second, 'b')]);
  t.deepEqual(items[0]!.request, first);
  t.deepEqual(items[1]!.call, { moduleUrl: 'file:///c.js', exportName: 'f', args: [1, 'a'], transfer: undefined });
  t.deepEqual(items[2]!.request, second);
  t.is(Buffer.from(items[2]!.body).toString(), 'b');
});

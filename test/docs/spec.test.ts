// docs/spec.md is the reference users of the package get; these tests keep its message index from
// drifting away from the code. The index must list exactly the message types src/gateway/types.ts
// declares; every type it lists for an app to send must be taken by a real server (at worst refused
// for its order or its keys, never as an unknown type); every type it lists for an app to receive
// must be one a real server hands out; and every other message name the page mentions (the ASGI
// extensions albany lacks) must be refused as an unknown type.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { WebSocket } from 'ws';
import { AlbanyError } from '../../src/errors.js';
import type { App, Receive, Send } from '../../src/gateway/types.js';
import { startServer } from '../helpers/server.js';

const SPEC = readFileSync(new URL('../../docs/spec.md', import.meta.url), 'utf8');
const TYPES = readFileSync(new URL('../../src/gateway/types.ts', import.meta.url), 'utf8');

type Scope = 'http' | 'websocket' | 'lifespan';
type Direction = 'receive' | 'send';

/** The rows of the "Message index" table: scope, direction and type. */
function messageIndex(): Array<{ scope: Scope; direction: Direction; type: string }> {
  const start = SPEC.indexOf('\n## Message index\n');
  if (start === -1) throw new Error('docs/spec.md has no "## Message index" section');
  const end = SPEC.indexOf('\n## ', start + 1);
  const section = SPEC.slice(start, end === -1 ? undefined : end);
  const rows = [];
  // Cells may be padded (the formatter aligns table columns).
  const row = /^\|\s*(http|websocket|lifespan)\s*\|\s*(receive|send)\s*\|\s*`([^`]+)`\s*\|/gm;
  for (const [, scope, direction, type = ''] of section.matchAll(row)) {
    rows.push({ scope: scope as Scope, direction: direction as Direction, type });
  }
  return rows;
}

const INDEX = messageIndex();
const listed = (scope: Scope, direction: Direction): string[] =>
  INDEX.filter((r) => r.scope === scope && r.direction === direction)
    .map((r) => r.type)
    .sort();
const LISTED = new Set(INDEX.map((r) => r.type));

/** Message names the page mentions (in backticks) that are not in its index: refused types. */
function unlistedNames(scope: Scope): string[] {
  const names = new Set<string>();
  for (const [, name = ''] of SPEC.matchAll(/`((?:http|websocket|lifespan)\.[a-z_.]+)`/g)) {
    if (!LISTED.has(name) && name.startsWith(`${scope}.`)) names.add(name);
  }
  return [...names].sort();
}

/** What a `send()` did: 'ok', or the error's code and message. */
async function outcome(promise: Promise<void>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (error) {
    return AlbanyError.is(error) ? `${error.code}: ${error.message}` : `other: ${String(error)}`;
  }
}

const UNKNOWN = /^ERR_ALBANY_INVALID_MESSAGE: unexpected message type/;

test('the index lists exactly the message types src/gateway/types.ts declares', (t) => {
  const found = TYPES.matchAll(/type: '((?:http|websocket|lifespan)\.[a-z.]+)'/g);
  const declared = [...new Set([...found].map(([, type = '']) => type))];
  t.true(INDEX.length > 0, 'the index table parsed to no rows');
  t.deepEqual(INDEX.map((r) => r.type).sort(), declared.sort());
  t.is(new Set(INDEX.map((r) => r.type)).size, INDEX.length, 'a type is listed twice');
});

test('http: listed send types are taken, other names refused, receive types handed out', async (t) => {
  const probes = [...listed('http', 'send'), ...unlistedNames('http'), 'http.response.made_up'];
  const received: string[] = [];
  // Each request probes one type before the response starts: an invalid first message changes no
  // state, so the app then answers normally and reports what the probe got.
  const app: App = async (scope, receive: Receive, send: Send) => {
    if (scope.type !== 'http') return;
    const first = await receive();
    received.push(first.type);
    const got = await outcome(send({ type: new URLSearchParams(scope.queryString).get('type') } as never));
    await send({ type: 'http.response.start', status: 200 });
    await send({ type: 'http.response.body', body: Buffer.from(got) });
    received.push((await receive()).type);
  };
  const server = await startServer(t, app);
  const results = new Map<string, string>();
  for (const type of probes) {
    const res = await fetch(`${server.url}/?type=${encodeURIComponent(type)}`);
    t.is(res.status, 200);
    results.set(type, await res.text());
  }
  for (const type of listed('http', 'send')) {
    t.notRegex(results.get(type) ?? '', UNKNOWN, `${type} is in the index but the server does not know it`);
    t.regex(results.get(type) ?? '', /^ERR_ALBANY_INVALID_MESSAGE: /, `${type} alone, first, should be refused`);
  }
  for (const type of [...unlistedNames('http'), 'http.response.made_up']) {
    t.regex(results.get(type) ?? '', UNKNOWN, `${type} is not in the index but the server takes it`);
  }
  t.true(unlistedNames('http').includes('http.response.early_hint'), 'the page no longer names the refused extensions');
  t.deepEqual([...new Set(received)].sort(), listed('http', 'receive'));
});

test('websocket: listed send types are taken, other names refused, receive types handed out', async (t) => {
  const probes = [...listed('websocket', 'send'), ...unlistedNames('websocket'), 'websocket.http.response.start'];
  const received: string[] = [];
  const results = new Map<string, string>();
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const app: App = async (scope, receive, send) => {
    if (scope.type !== 'websocket') return;
    received.push((await receive()).type);
    // Before accepting, each probe carries keys no message accepts (subprotocol not offered, a bad
    // close code, text that is not a string), so a known type is refused for its keys or its order
    // and changes nothing, while an unknown type is refused as unknown.
    for (const type of probes) {
      results.set(type, await outcome(send({ type, subprotocol: 7, code: 1, text: 1 } as never)));
    }
    await send({ type: 'websocket.accept' });
    received.push((await receive()).type);
    await send({ type: 'websocket.close', code: 1000 });
    received.push((await receive()).type);
    done();
  };
  const server = await startServer(t, app);
  const ws = new WebSocket(server.url.replace('http:', 'ws:'));
  ws.on('open', () => ws.send('hello'));
  await new Promise<void>((resolve, reject) => {
    ws.once('close', () => resolve());
    ws.once('error', reject);
  });
  await finished;
  for (const type of listed('websocket', 'send')) {
    t.regex(results.get(type) ?? '', /^ERR_ALBANY_INVALID_MESSAGE: /, `${type}: ${results.get(type)}`);
    t.notRegex(results.get(type) ?? '', UNKNOWN, `${type} is in the index but the server does not know it`);
  }
  for (const type of [...unlistedNames('websocket'), 'websocket.http.response.start']) {
    t.regex(results.get(type) ?? '', UNKNOWN, `${type} is not in the index but the server takes it`);
  }
  t.deepEqual([...new Set(received)].sort(), listed('websocket', 'receive'));
});

test('lifespan: listed send types settle startup or shutdown, receive types are handed out', async (t) => {
  const received = new Set<string>();
  // Runs one server whose lifespan answers startup with `onStartup` and shutdown with `onShutdown`;
  // resolves with what serve() and close() did.
  const run = async (onStartup: string, onShutdown: string): Promise<{ start: string; close: string }> => {
    let madeUp = '';
    const app: App = async (scope, receive, send) => {
      if (scope.type !== 'lifespan') return;
      received.add((await receive()).type);
      madeUp = await outcome(send({ type: 'lifespan.startup.made_up' } as never));
      await send({ type: onStartup, message: 'no' } as never);
      if (onStartup.endsWith('.failed')) return;
      received.add((await receive()).type);
      await send({ type: onShutdown, message: 'no' } as never);
    };
    const started = await startServer(t, app, { lifespan: 'on' }).then(
      (server) => ({ server, error: undefined }),
      (error: unknown) => ({ server: undefined, error }),
    );
    t.regex(madeUp, UNKNOWN);
    if (started.server === undefined) {
      return { start: AlbanyError.is(started.error) ? started.error.code : String(started.error), close: '-' };
    }
    return { start: 'ok', close: await outcome(started.server.close()) };
  };
  const scenarios: Record<string, () => Promise<void>> = {
    'lifespan.startup.complete': async () => {
      t.is((await run('lifespan.startup.complete', 'lifespan.shutdown.complete')).start, 'ok');
    },
    'lifespan.startup.failed': async () => {
      t.is((await run('lifespan.startup.failed', '')).start, 'ERR_ALBANY_LIFESPAN');
    },
    'lifespan.shutdown.complete': async () => {
      t.is((await run('lifespan.startup.complete', 'lifespan.shutdown.complete')).close, 'ok');
    },
    'lifespan.shutdown.failed': async () => {
      const { close } = await run('lifespan.startup.complete', 'lifespan.shutdown.failed');
      t.regex(close, /^ERR_ALBANY_LIFESPAN: lifespan shutdown failed: no$/);
    },
  };
  for (const type of listed('lifespan', 'send')) {
    const scenario = scenarios[type];
    if (scenario === undefined) t.fail(`${type} is in the index but this test has no scenario for it`);
    else await scenario();
  }
  t.deepEqual(Object.keys(scenarios).sort(), listed('lifespan', 'send'));
  t.deepEqual([...received].sort(), listed('lifespan', 'receive'));
});

// The lifespan protocol, through serve() on a real socket and through the Lifespan driver itself.
import test from 'ava';
import type { App, LifespanScope } from '../../src/gateway/types.js';
import { Lifespan } from '../../src/server/lifespan.js';
import { captureLogger, delay, sendText, startServer } from '../helpers/server.js';

/** A well-behaved lifespan app that records what happens, in order. */
function recordingApp(events: string[], opts: { failStartup?: string; failShutdown?: string } = {}): App {
  return async (scope, receive, send) => {
    if (scope.type === 'lifespan') {
      for (;;) {
        const m = await receive();
        events.push(m.type);
        if (m.type === 'lifespan.startup') {
          if (opts.failStartup) {
            await send({ type: 'lifespan.startup.failed', message: opts.failStartup });
            return;
          }
          (scope.state as Record<string, unknown>).db = { name: 'fake-db' };
          scope.state.counter = 0;
          await send({ type: 'lifespan.startup.complete' });
        } else {
          events.push('cleanup');
          if (opts.failShutdown) await send({ type: 'lifespan.shutdown.failed', message: opts.failShutdown });
          else await send({ type: 'lifespan.shutdown.complete' });
          return;
        }
      }
    }
    if (scope.type !== 'http') throw new Error('unexpected scope');
    events.push(`request ${scope.path}`);
    const seen = scope.state.counter;
    scope.state.counter = 42; // must not leak into the next request's scope
    await sendText(send, `${(scope.state.db as { name: string }).name} ${String(seen)}`);
  };
}

/** An app from before lifespan: it only knows http and throws on anything else. */
const httpOnly: App = async (scope, _receive, send) => {
  if (scope.type !== 'http') throw new Error(`unsupported scope type ${scope.type}`);
  await sendText(send, 'plain');
};

test('startup runs before the first request, shutdown after the last; state reaches requests as a copy', async (t) => {
  const events: string[] = [];
  const server = await startServer(t, recordingApp(events), { lifespan: 'on' });
  t.deepEqual(events, ['lifespan.startup']);
  t.is(await (await fetch(`${server.url}/a`)).text(), 'fake-db 0');
  t.is(await (await fetch(`${server.url}/b`)).text(), 'fake-db 0', 'a request changed the state the next one saw');
  t.is(server.state.counter, 0);
  await server.close();
  t.deepEqual(events, ['lifespan.startup', 'request /a', 'request /b', 'lifespan.shutdown', 'cleanup']);
});

test('shutdown waits for the in-flight request to finish', async (t) => {
  const events: string[] = [];
  const base = recordingApp(events);
  const app: App = async (scope, receive, send) => {
    if (scope.type === 'http') {
      events.push('slow request begins');
      await delay(200);
      events.push('slow request ends');
      await sendText(send, 'slow');
      return;
    }
    await base(scope, receive, send);
  };
  const server = await startServer(t, app, { lifespan: 'auto' });
  const res = fetch(server.url);
  // Close only once the request is in the app: on a loaded machine 50 ms may not see it connect.
  while (!events.includes('slow request begins')) await delay(10);
  await server.close();
  t.is(await (await res).text(), 'slow');
  t.deepEqual(events, ['lifespan.startup', 'slow request begins', 'slow request ends', 'lifespan.shutdown', 'cleanup']);
});

test("startup failure makes serve() reject with ERR_ALBANY_LIFESPAN and the app's message", async (t) => {
  const events: string[] = [];
  const log = captureLogger();
  const { serve } = await import('../../src/server/http.js');
  const err = await t.throwsAsync(
    serve(recordingApp(events, { failStartup: 'database unreachable' }), { port: 0, logger: log }),
    { code: 'ERR_ALBANY_LIFESPAN' },
  );
  t.regex(err!.message, /database unreachable/);
});

test('--lifespan on: an app that does not support lifespan fails startup', async (t) => {
  const { serve } = await import('../../src/server/http.js');
  const err = await t.throwsAsync(serve(httpOnly, { port: 0, lifespan: 'on', logger: captureLogger() }), {
    code: 'ERR_ALBANY_LIFESPAN',
  });
  t.regex(err!.message, /unsupported scope type lifespan/);
});

test('--lifespan auto: an app that does not support lifespan is served anyway', async (t) => {
  const server = await startServer(t, httpOnly, { lifespan: 'auto' });
  t.is(await (await fetch(server.url)).text(), 'plain');
  t.true(server.log.lines.some((l) => l.level === 'info' && /lifespan unsupported/.test(l.msg)));
  t.deepEqual(server.log.errors(), []);
  await server.close();
});

test('--lifespan off: the app never sees a lifespan scope', async (t) => {
  const types: string[] = [];
  const server = await startServer(
    t,
    async (scope, receive, send) => {
      types.push(scope.type);
      await httpOnly(scope, receive, send);
    },
    { lifespan: 'off' },
  );
  await (await fetch(server.url)).text();
  await server.close();
  t.deepEqual(types, ['http']);
});

test('shutdown failure makes close() reject with ERR_ALBANY_LIFESPAN', async (t) => {
  const server = await startServer(t, recordingApp([], { failShutdown: 'flush failed' }), { lifespan: 'on' });
  const err = await t.throwsAsync(server.close(), { code: 'ERR_ALBANY_LIFESPAN' });
  t.regex(err!.message, /flush failed/);
});

test('an app that returns after startup.complete does not hang shutdown', async (t) => {
  const app: App = async (scope, receive, send) => {
    if (scope.type !== 'lifespan') return httpOnly(scope, receive, send);
    await receive();
    await send({ type: 'lifespan.startup.complete' });
  };
  const log = captureLogger();
  const lifespan = new Lifespan(app, 'on', log);
  await lifespan.startup();
  await delay(20); // let the app's return settle before shutdown begins
  const outcome = await Promise.race([
    lifespan.shutdown().then(
      () => 'done',
      () => 'rejected',
    ),
    delay(3000).then(() => 'hung'),
  ]);
  t.is(outcome, 'done');
  t.true(log.lines.some((l) => l.level === 'warn' && /returned after startup/.test(l.msg)));
});

test('an app that throws during shutdown makes shutdown reject instead of hanging', async (t) => {
  const app: App = async (scope, receive, send) => {
    if (scope.type !== 'lifespan') return httpOnly(scope, receive, send);
    await receive();
    await send({ type: 'lifespan.startup.complete' });
    await receive();
    throw new Error('shutdown exploded');
  };
  const lifespan = new Lifespan(app, 'on', captureLogger());
  await lifespan.startup();
  await t.throwsAsync(lifespan.shutdown(), { code: 'ERR_ALBANY_LIFESPAN', message: /shutdown exploded/ });
});

test('the lifespan scope carries the interface version and a state object', async (t) => {
  let seen: LifespanScope | undefined;
  const app: App = async (scope, receive, send) => {
    if (scope.type !== 'lifespan') return;
    seen = scope;
    await receive();
    await send({ type: 'lifespan.startup.complete' });
    await receive();
    await send({ type: 'lifespan.shutdown.complete' });
  };
  const lifespan = new Lifespan(app, 'auto', captureLogger());
  await lifespan.startup();
  await lifespan.shutdown();
  t.deepEqual(seen?.albany, { version: '1.0', specVersion: '1.0' });
  t.is(seen?.state, lifespan.state);
});

test('an unknown message type in the lifespan scope is refused', async (t) => {
  const app: App = async (scope, receive, send) => {
    if (scope.type !== 'lifespan') return;
    await receive();
    await send({ type: 'http.response.start', status: 200 });
  };
  const lifespan = new Lifespan(app, 'on', captureLogger());
  const err = await t.throwsAsync(lifespan.startup(), { code: 'ERR_ALBANY_LIFESPAN' });
  t.regex(err!.message, /unexpected message type/);
});

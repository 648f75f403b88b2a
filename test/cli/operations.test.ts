// What operators expect from uvicorn and gunicorn, through the real CLI: --limit-concurrency,
// --request-timeout for apps, --max-requests recycling, SIGHUP, a port in use under --workers,
// unhandled rejections, a short body against its content-length, and WebSocket upgrades to an
// HTTP-only app.
import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import test from 'ava';
import WebSocket from 'ws';
import { albany, fixture, lines, listening, type CliRun } from './helpers.js';

const app = fixture('ops-app.mjs');

async function until(check: () => boolean, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  return true;
}

async function stop(run: CliRun): Promise<number | null> {
  run.child.kill('SIGTERM');
  return (await run.exit).code;
}

test.serial('--limit-concurrency 2: a third request in flight gets 503 at once, the two others finish', async (t) => {
  const run = albany(['serve', app, '--port', '0', '--lifespan', 'off', '--limit-concurrency', '2']);
  t.teardown(() => run.child.kill('SIGKILL'));
  const url = await listening(run);
  const slow = [fetch(`${url}/slow?ms=2000`), fetch(`${url}/slow?ms=2000`)];
  // Once the app has both slow requests, a third one is over the limit.
  t.true(await until(() => (run.stderr().match(/app: \/slow started/g) ?? []).length === 2), run.stderr());
  const started = Date.now();
  const third = await fetch(`${url}/hello`);
  t.is(third.status, 503);
  t.is(await third.text(), 'Service Unavailable');
  t.true(Date.now() - started < 1500, 'refused without waiting for the slow ones');
  const done = await Promise.all(slow);
  t.deepEqual(
    done.map((r) => r.status),
    [200, 200],
  );
  // Below the limit again.
  t.is((await fetch(`${url}/hello`)).status, 200);
  t.is(await stop(run), 0);
});

test.serial(
  '--request-timeout cuts a hung gateway app: 504 when nothing was sent, and the app gets http.disconnect',
  async (t) => {
    const run = albany(['serve', app, '--port', '0', '--lifespan', 'off', '--request-timeout', '1000']);
    t.teardown(() => run.child.kill('SIGKILL'));
    const url = await listening(run);
    const started = Date.now();
    const res = await fetch(`${url}/hang`, { signal: AbortSignal.timeout(8000) });
    const took = Date.now() - started;
    t.is(res.status, 504);
    t.is(await res.text(), 'Gateway Timeout');
    t.true(took >= 950 && took < 5000, `took ${took} ms`);
    t.true(await until(() => run.stderr().includes('app: /hang got http.disconnect')), run.stderr());
    t.regex(run.stderr(), /warn: request timeout \(1000 ms\) for "GET \/hang HTTP\/1\.1": answered 504/);
    t.is(await stop(run), 0);
  },
);

test.serial(
  '--request-timeout after the response started: the connection is closed, the app gets http.disconnect',
  async (t) => {
    const run = albany(['serve', app, '--port', '0', '--lifespan', 'off', '--request-timeout', '1000']);
    t.teardown(() => run.child.kill('SIGKILL'));
    const url = await listening(run);
    const started = Date.now();
    const outcome = await new Promise<{ body: string; error: string | undefined }>((resolve) => {
      http.get(`${url}/hang-after-start`, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('error', (e) => resolve({ body, error: (e as NodeJS.ErrnoException).code ?? e.message }));
        res.on('end', () => resolve({ body, error: undefined }));
      });
    });
    t.is(outcome.body, 'partial');
    t.is(outcome.error, 'ECONNRESET');
    t.true(Date.now() - started < 5000);
    t.true(await until(() => run.stderr().includes('app: /hang-after-start got http.disconnect')), run.stderr());
    t.regex(run.stderr(), /response cut, connection closed/);
    t.is(await stop(run), 0);
  },
);

test.serial('--max-requests 3 --workers 1: the worker is replaced after 3 requests and no request fails', async (t) => {
  const run = albany([
    'serve',
    app,
    '--port',
    '0',
    '--lifespan',
    'off',
    '--workers',
    '1',
    '--max-requests',
    '3',
    '--no-access-log',
  ]);
  t.teardown(() => run.child.kill('SIGKILL'));
  const url = await listening(run);
  const pids: string[] = [];
  // The successor takes over once it is ready; until then the old worker goes on serving.
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && new Set(pids).size < 2) {
    const res = await fetch(`${url}/pid`);
    t.is(res.status, 200);
    pids.push(await res.text());
    await new Promise((r) => setTimeout(r, 100));
  }
  const [first, second] = [...new Set(pids)];
  t.truthy(second, pids.join(' '));
  t.true(pids.filter((p) => p === first).length >= 3, pids.join(' '));
  t.regex(run.stderr(), /reached its request limit; replacing it/);
  t.is(await stop(run), 0);
});

test.serial(
  '--max-requests without --workers, and --max-requests-jitter alone, are refused with one line',
  async (t) => {
    const alone = albany(['serve', app, '--max-requests', '100']);
    t.is((await alone.exit).code, 2);
    t.regex(alone.stderr(), /^albany: --max-requests needs --workers N \(also --workers 1\)/);
    t.is(lines(alone.stderr()).length, 1);
    const jitter = albany(['serve', app, '--workers', '2', '--max-requests-jitter', '5']);
    t.is((await jitter.exit).code, 2);
    t.is(jitter.stderr(), 'albany: --max-requests-jitter needs --max-requests N\n');
  },
);

test.serial(
  'SIGHUP on a single process is logged and ignored: it keeps serving, and SIGTERM still runs lifespan shutdown',
  async (t) => {
    const run = albany(['serve', app, '--port', '0']);
    t.teardown(() => run.child.kill('SIGKILL'));
    const url = await listening(run);
    run.child.kill('SIGHUP');
    t.true(await until(() => run.stderr().includes('SIGHUP ignored')), run.stderr());
    t.is(await (await fetch(`${url}/after-hup`)).text(), 'ok /after-hup');
    t.is(await stop(run), 0);
    t.regex(run.stderr(), /app: lifespan\.shutdown/);
  },
);

test.serial('a port in use with --workers 2 exits 1 once, with one line', async (t) => {
  const blocker = net.createServer();
  blocker.listen(0, '127.0.0.1');
  await once(blocker, 'listening');
  t.teardown(() => blocker.close());
  const port = (blocker.address() as AddressInfo).port;
  const run = albany(['serve', app, '--port', String(port), '--workers', '2', '--lifespan', 'off'], {
    timeoutMs: 20_000,
  });
  const { code } = await run.exit;
  t.is(code, 1, run.stderr());
  const errors = lines(run.stderr()).filter((l) => !l.startsWith('info:'));
  t.is(errors.length, 1, run.stderr());
  t.regex(errors[0]!, new RegExp(`^albany: (listen|bind) EADDRINUSE.*127\\.0\\.0\\.1:${port}$`));
});

test.serial("an unhandled rejection is logged with albany's prefix and the process keeps serving", async (t) => {
  const run = albany(['serve', app, '--port', '0', '--lifespan', 'off']);
  t.teardown(() => run.child.kill('SIGKILL'));
  const url = await listening(run);
  t.is((await fetch(`${url}/reject`)).status, 200);
  t.true(await until(() => run.stderr().includes('nobody awaited me')), run.stderr());
  t.regex(run.stderr(), /^error: unhandled rejection \(the process keeps serving\): Error: nobody awaited me/m);
  t.is(await (await fetch(`${url}/still-here`)).text(), 'ok /still-here');
  t.is(await stop(run), 0);
});

test.serial(
  'an app that declares content-length: 10 and sends 3 bytes: logged, and the client is cut at once',
  async (t) => {
    const run = albany(['serve', app, '--port', '0', '--lifespan', 'off']);
    t.teardown(() => run.child.kill('SIGKILL'));
    const url = await listening(run);
    const started = Date.now();
    const error = await fetch(`${url}/short`, { signal: AbortSignal.timeout(8000) })
      .then((r) => r.text())
      .then(
        () => undefined,
        (e: unknown) => e as Error,
      );
    t.truthy(error);
    t.not((error as Error).name, 'TimeoutError');
    t.true(Date.now() - started < 3000);
    t.true(await until(() => run.stderr().includes('ERR_HTTP_CONTENT_LENGTH_MISMATCH')), run.stderr());
    t.regex(
      run.stderr(),
      /error: exception in app for "GET \/short HTTP\/1\.1": Error \[ERR_HTTP_CONTENT_LENGTH_MISMATCH\]/,
    );
    t.is(await (await fetch(`${url}/next`)).text(), 'ok /next');
    t.is(await stop(run), 0);
  },
);

test.serial('a WebSocket upgrade to an app that ignores websocket scopes gets 403 and no stack', async (t) => {
  const run = albany(['serve', app, '--port', '0', '--lifespan', 'off']);
  t.teardown(() => run.child.kill('SIGKILL'));
  const url = await listening(run);
  const ws = new WebSocket(`${url.replace('http:', 'ws:')}/socket`);
  const [, res] = (await once(ws, 'unexpected-response')) as [unknown, http.IncomingMessage];
  t.is(res.statusCode, 403);
  res.resume();
  t.true(await until(() => run.stderr().includes('websocket /socket')), run.stderr());
  t.regex(
    run.stderr(),
    /warn: websocket \/socket: the app answered with an http message \(it does not handle websocket scopes\); refused with 403/,
  );
  t.false(/\n\s+at /.test(run.stderr()), run.stderr());
  t.is(await stop(run), 0);
});

test.serial(
  "--request-timeout on the direct fromFetch path: 504, and the handler's late answer is dropped without an error",
  async (t) => {
    const run = albany([
      'serve',
      fixture('fetch-hello.mjs'),
      '--port',
      '0',
      '--lifespan',
      'off',
      '--request-timeout',
      '500',
    ]);
    t.teardown(() => run.child.kill('SIGKILL'));
    const url = await listening(run);
    const res = await fetch(`${url}/late`, { signal: AbortSignal.timeout(8000) });
    t.is(res.status, 504);
    await new Promise((r) => setTimeout(r, 2000)); // the handler answers meanwhile
    t.is(await (await fetch(`${url}/next`)).text(), 'fetched /next');
    t.regex(run.stderr(), /warn: request timeout \(500 ms\) for "GET \/late HTTP\/1\.1": answered 504/);
    t.false(run.stderr().includes('exception in app'), run.stderr());
    t.is(await stop(run), 0);
  },
);

test.serial(
  '--limit-concurrency, --max-requests and the access log flags are refused with --fastcgi, by name',
  async (t) => {
    const run = albany(['serve', app, '--fastcgi', '127.0.0.1:0', '--limit-concurrency', '3', '--log-format', 'json']);
    t.is((await run.exit).code, 2);
    t.is(
      run.stderr(),
      'albany: --limit-concurrency, --log-format act on the HTTP server only, not with --fastcgi (nginx in front keeps the access log and limits)\n',
    );
  },
);

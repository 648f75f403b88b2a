// loadApp's Passenger-style capture of an app's own app.listen(), in process with the real Express:
// the captured handler is served, nothing binds, an explicit export wins, a raw net.Server binds.
import test from 'ava';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { loadApp, parseTarget } from '../src/load-app.js';
import { fromNodeHandler } from '../src/interop/node.js';
import { toGatewayApp } from '../src/interop/detect.js';
import type { NodeHandler } from '../src/interop/node-exchange.js';
import { serve } from '../src/server/http.js';
import type { App } from '../src/gateway/types.js';

const fixtures = fileURLToPath(new URL('./fixtures/interop/', import.meta.url));

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => resolve(false));
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
  });
}

async function body(app: App): Promise<{ text: string; poweredBy: string | null }> {
  const server = await serve(app, { host: '127.0.0.1', port: 0, logLevel: 'silent' });
  try {
    const res = await fetch(`${server.url}/`);
    return { text: await res.text(), poweredBy: res.headers.get('x-powered-by') };
  } finally {
    await server.close();
  }
}

test.serial('an explicit default export wins over a captured app.listen(3000), which binds nothing', async (t) => {
  const before = await portAnswers(3000);
  const warnings: string[] = [];
  const loaded = await loadApp(parseTarget('express-listen-and-export.mjs', fixtures), (m) => warnings.push(m));
  t.is(loaded.listen, undefined);
  t.is((await body(toGatewayApp(loaded.value))).text, 'from export');
  t.is(warnings.length, 1);
  t.regex(warnings[0]!, /serving export "default" .* listen\(3000\) was not bound/);
  const mod = (await import(new URL('./fixtures/interop/express-listen-and-export.mjs', import.meta.url).href)) as {
    server: net.Server;
  };
  t.true(mod.server.listening);
  t.is((mod.server.address() as AddressInfo).port, 3000);
  if (!before) t.false(await portAnswers(3000), 'nothing may listen on 3000');
});

test.serial('a CommonJS app that listens after an await is captured once it does', async (t) => {
  const before = await portAnswers(3000);
  const loaded = await loadApp(parseTarget('express-listen-after-await.cjs', fixtures), (m) => t.fail(m));
  t.is(loaded.listen?.call, 'listen(3000)');
  t.is(await new Promise((resolve) => (loaded.listen!.server.listening ? resolve('yes') : resolve('no'))), 'yes');
  const served = await body(fromNodeHandler(loaded.value as NodeHandler));
  t.deepEqual(served, { text: 'after await', poweredBy: 'Express' });
  if (!before) t.false(await portAnswers(3000), 'nothing may listen on 3000');
});

test.serial('a raw net.Server listens for real, with a warning, and is not an app', async (t) => {
  const warnings: string[] = [];
  const error = await t.throwsAsync(loadApp(parseTarget('net-listen.mjs', fixtures), (m) => warnings.push(m)));
  t.regex(
    error!.message,
    /has no export "default" \(it exports: server\) and did not call app\.listen\(\)\/server\.listen\(\).*export default app.*app\.listen\(port\)/,
  );
  t.is(warnings.length, 1);
  t.regex(warnings[0]!, /listen\(0, "127\.0\.0\.1"\) binds for real: it is not an http server/);
  const mod = (await import(new URL('./fixtures/interop/net-listen.mjs', import.meta.url).href)) as {
    server: net.Server;
  };
  await new Promise((resolve) => (mod.server.listening ? resolve(null) : mod.server.once('listening', resolve)));
  t.true(await portAnswers((mod.server.address() as AddressInfo).port));
  await new Promise((resolve) => mod.server.close(resolve));
});

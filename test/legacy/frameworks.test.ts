// Real Express 4 and 5, Connect and Koa apps, exported unchanged from a module and run in the legacy
// pool's worker threads (legacy(url, { pool }) on albany's server): the same checks as in process
// (test/interop/framework-checks.ts), streaming arrival times and aborted downloads included.
import test from 'ava';
import { legacy } from '../../legacy-adapter/index.js';
import { createPool, type LegacyPool } from '../../src/pool/pool.js';
import {
  checkAbortedDownload,
  checkBasics,
  checkDownload,
  checkFiles,
  checkKoaDestroy,
  checkPipe,
  checkRedirectsAndErrors,
  checkServerSentEvents,
  type Framework,
} from '../interop/framework-checks.js';
import { withAlbany } from '../interop/helpers.js';

const modules: Record<Framework, URL> = {
  express5: new URL('../fixtures/interop/pool-express5.ts', import.meta.url),
  express4: new URL('../fixtures/interop/pool-express4.ts', import.meta.url),
  connect: new URL('../fixtures/interop/pool-connect.ts', import.meta.url),
  koa: new URL('../fixtures/interop/pool-koa.ts', import.meta.url),
};

// One pool for the file: two threads, so a streaming request never waits behind another one.
let pool: LegacyPool;
const logged: string[] = [];
test.before(() => {
  pool = createPool({ minThreads: 2, maxThreads: 2, taskTimeoutMs: 20_000 }, { log: (m) => logged.push(m) });
});
test.after.always(async () => {
  await pool.close();
});

const mount = (framework: Framework) =>
  legacy(modules[framework], { pool, log: (m, e) => logged.push(`${m} ${String(e)}`) });

for (const framework of Object.keys(modules) as Framework[]) {
  test.serial(`${framework} in the pool: body parsers, cookies, redirects, errors and the 404`, async (t) => {
    await withAlbany(mount(framework), async (url) => {
      await checkBasics(t, url, framework);
      await checkRedirectsAndErrors(t, url, framework);
    });
  });

  test.serial(
    `${framework} in the pool: SSE after flushHeaders() and a piped stream arrive chunk by chunk`,
    async (t) => {
      await withAlbany(mount(framework), async (url) => {
        await Promise.all([checkServerSentEvents(t, url), checkPipe(t, url)]);
      });
    },
  );
}

for (const framework of ['express5', 'express4'] as const) {
  test.serial(
    `${framework} in the pool: express.static, res.sendFile, a 32 MB download, and an aborted one calls back with an error and closes its file`,
    async (t) => {
      await withAlbany(mount(framework), async (url, server) => {
        await checkFiles(t, url);
        await checkDownload(t, url);
        await checkAbortedDownload(t, server.port);
      });
    },
  );
}

test.serial('koa in the pool: ctx.socket.destroy(err) cuts the connection and app.on("error") hears err', async (t) => {
  await withAlbany(mount('koa'), (_url, server) => checkKoaDestroy(t, server.port));
});

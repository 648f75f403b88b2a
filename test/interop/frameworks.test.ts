// Real Express 4 and 5, Connect and Koa apps with their middleware, run in process through
// fromNodeHandler on albany's server: bodies, statuses, headers, files, streaming arrival times,
// aborted downloads and Koa's socket.destroy(err). The same checks run in the pool in
// test/legacy/frameworks.test.ts.
import test from 'ava';
import express5 from 'express';
// @ts-expect-error express4 is Express 4 installed under another name; it has no type declarations.
import express4 from 'express4';
import { fromNodeHandler, type NodeHandler } from '../../src/interop/node.js';
import { createConnect, createExpress, createKoa } from '../fixtures/interop/apps.js';
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
} from './framework-checks.js';
import { withAlbany } from './helpers.js';

const apps: Record<Framework, () => NodeHandler> = {
  express5: () => createExpress(express5, 'express 5') as unknown as NodeHandler,
  express4: () => createExpress(express4 as never, 'express 4') as unknown as NodeHandler,
  connect: () => createConnect() as unknown as NodeHandler,
  koa: () => createKoa().callback() as unknown as NodeHandler,
};

for (const framework of Object.keys(apps) as Framework[]) {
  const app = fromNodeHandler(apps[framework]());

  test(`${framework}: body parsers, cookies and the request's own view through fromNodeHandler`, async (t) => {
    await withAlbany(app, (url) => checkBasics(t, url, framework));
  });

  test(`${framework}: redirects, error handling and the 404 through fromNodeHandler`, async (t) => {
    await withAlbany(app, (url) => checkRedirectsAndErrors(t, url, framework));
  });

  test(`${framework}: SSE after flushHeaders() arrives event by event through fromNodeHandler`, async (t) => {
    await withAlbany(app, (url) => checkServerSentEvents(t, url));
  });

  test(`${framework}: a piped stream arrives chunk by chunk through fromNodeHandler`, async (t) => {
    await withAlbany(app, (url) => checkPipe(t, url));
  });
}

for (const framework of ['express5', 'express4'] as const) {
  const app = fromNodeHandler(apps[framework]());

  test(`${framework}: express.static and res.sendFile through fromNodeHandler`, async (t) => {
    await withAlbany(app, (url) => checkFiles(t, url));
  });

  // Serial: the fd check counts every descriptor open on the download file in this process.
  test.serial(
    `${framework}: a 32 MB res.sendFile download arrives whole, and an aborted one calls back with an error and closes its file`,
    async (t) => {
      await withAlbany(app, async (url, server) => {
        await checkDownload(t, url);
        await checkAbortedDownload(t, server.port);
      });
    },
  );
}

test('koa: ctx.socket.destroy(err) cuts the connection and app.on("error") hears err', async (t) => {
  await withAlbany(fromNodeHandler(apps.koa()), (_url, server) => checkKoaDestroy(t, server.port));
});

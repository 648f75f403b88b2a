// Issue #14's error rule in the interop layer: what albany itself throws there is an AlbanyError
// with a stable code and a message naming what was wrong (errors that imitate node's or the fetch
// standard's own, such as ECONNRESET or a used body's TypeError, stay as those are).
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AlbanyError, ErrorCodes, hasCode } from '../../src/errors.js';
import { fromFetch, toFetch } from '../../src/interop/fetch.js';
import { fromNodeHandler } from '../../src/interop/node.js';
import { NativeResponse } from '../../src/interop/light-response.js';
import { Communicator, httpScope } from '../../src/testing/communicator.js';

test('fromFetch: a response body stream that yields a number fails the app with ERR_ALBANY_INTERFACE', async (t) => {
  const app = fromFetch(
    () =>
      new NativeResponse(
        new ReadableStream<unknown>({
          start(c) {
            c.enqueue(42);
            c.close();
          },
        }) as ReadableStream<Uint8Array>,
      ),
  );
  const c = new Communicator(app, httpScope({ headers: [['host', 'x']] }));
  const error = await t.throwsAsync(c.done);
  t.true(AlbanyError.is(error));
  t.true(hasCode(error, ErrorCodes.ERR_ALBANY_INTERFACE));
  t.regex(String(error?.message), /response body stream yielded number; expected Uint8Array chunks/);
});

test('toFetch: an app that fails after starting its response cuts the body with ERR_ALBANY_ABORTED', async (t) => {
  const handler = toFetch(
    async (_scope, _receive, send) => {
      await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
      await send({ type: 'http.response.body', body: new TextEncoder().encode('part'), moreBody: true });
      throw new Error('app broke');
    },
    { logError: () => {} },
  );
  const res = await handler(new Request('http://x/'));
  t.is(res.status, 200);
  const error = await t.throwsAsync(res.text());
  // undici may wrap the stream's error; the AlbanyError is the error or its cause.
  const albany = AlbanyError.is(error) ? error : (error as Error & { cause?: unknown }).cause;
  t.true(hasCode(albany, ErrorCodes.ERR_ALBANY_ABORTED), String(error));
  t.regex((albany as Error).message, /failed after starting its response/);
});

test('toFetch: http.response.pathsend of a directory answers 404 and is refused with ERR_ALBANY_INVALID_MESSAGE naming the path', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'albany-errors-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let refused: unknown;
  const handler = toFetch(
    async (_scope, _receive, send) => {
      await send({ type: 'http.response.start', status: 200, headers: [] });
      try {
        await send({ type: 'http.response.pathsend', path: dir });
      } catch (error) {
        refused = error;
        throw error;
      }
    },
    { logError: () => {} },
  );
  const res = await handler(new Request('http://x/'));
  t.is(res.status, 404);
  t.is(await res.text(), 'Not Found');
  t.true(hasCode(refused, ErrorCodes.ERR_ALBANY_INVALID_MESSAGE), String(refused));
  t.true((refused as Error).message.includes(`${dir} is not a regular file`));
});

test('fromNodeHandler: a handler that destroys its response fails the app with ERR_ALBANY_HANDLER', async (t) => {
  const app = fromNodeHandler((_req, res) => {
    res.write('partial');
    res.destroy();
  });
  const c = new Communicator(app, httpScope({ headers: [['host', 'x']] }));
  const error = await t.throwsAsync(c.done);
  t.true(AlbanyError.is(error), String(error));
  t.true(hasCode(error, ErrorCodes.ERR_ALBANY_HANDLER), String(error));
});

// The demo's async routes: plain gateway apps answering text, JSON, a stream and an echo.
import type { App, HttpScope, Send } from '../../src/index.js';

const enc = new TextEncoder();

async function reply(send: Send, status: number, contentType: string, body: string | Uint8Array): Promise<void> {
  await send({ type: 'http.response.start', status, headers: [['content-type', contentType]] });
  await send({ type: 'http.response.body', body: typeof body === 'string' ? enc.encode(body) : body });
}

/** GET /hello → text. */
export const hello: App = async (_scope, _receive, send) =>
  reply(send, 200, 'text/plain; charset=utf-8', 'Hello from an async route!\n');

/** GET /json → the request as JSON. */
export const json: App = async (scope, _receive, send) => {
  const s = scope as HttpScope;
  const body = JSON.stringify({
    method: s.method,
    path: s.path,
    rootPath: s.rootPath,
    query: Object.fromEntries(new URLSearchParams(s.queryString)),
    client: s.client,
  });
  await reply(send, 200, 'application/json', body);
};

/** GET /stream?n=5 → n lines, one every 100 ms, as a chunked response. */
export const stream: App = async (scope, _receive, send) => {
  const n = Math.min(50, Number(new URLSearchParams((scope as HttpScope).queryString).get('n') ?? 5) || 5);
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain; charset=utf-8']] });
  for (let i = 1; i <= n; i++) {
    await send({ type: 'http.response.body', body: enc.encode(`line ${i} of ${n}\n`), moreBody: i < n });
    if (i < n) await new Promise((r) => setTimeout(r, 100));
  }
};

/** POST /echo → the request body streamed back chunk by chunk as it arrives. */
export const echo: App = async (scope, receive, send) => {
  const type = (scope as HttpScope).headers.find(([k]) => k === 'content-type')?.[1] ?? 'application/octet-stream';
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', type]] });
  for (;;) {
    const m = await receive();
    if (m.type !== 'http.request') return; // client gone
    await send({ type: 'http.response.body', body: m.body, moreBody: m.moreBody });
    if (!m.moreBody) return;
  }
};

/** GET /health → 200 "ok", answered on the event loop even while every legacy worker is busy. */
export const health: App = async (_scope, _receive, send) => reply(send, 200, 'text/plain', 'ok\n');

/** Anything else → 404. */
export const notFound: App = async (scope, _receive, send) => {
  if (scope.type !== 'http') return;
  await reply(send, 404, 'text/plain; charset=utf-8', `no route for ${scope.method} ${scope.path}\n`);
};

/** GET / → a short index of the demo's routes. */
export const index: App = async (_scope, _receive, send) =>
  reply(
    send,
    200,
    'text/plain; charset=utf-8',
    [
      'albany demo: async and blocking code in one service',
      '',
      '  GET  /hello          async text',
      '  GET  /json?x=1       async JSON',
      '  GET  /stream?n=5     async streamed response',
      '  POST /echo           async echo of the request body',
      '  GET  /health         async health check',
      '  WS   /ws             WebSocket echo ("/all text" broadcasts)',
      '  GET  /block?ms=200   CPU-bound work on the event loop: the blocking detector logs it (see stderr)',
      '  GET  /unblocked?ms=200  the same work moved to the pool with offload(): not reported',
      '',
      '  GET  /legacy/notes   blocking better-sqlite3 handler in the worker pool (POST {"text": "..."} adds)',
      '  GET  /legacy/report  old synchronous (req, res) handler: readFileSync + CPU-bound work',
      '  GET  /legacy/wsgi    WSGI-style handler',
      '  GET  /legacy/visits/PAGE  blocking handler calling a main-thread async service with runSync',
      '',
    ].join('\n'),
  );

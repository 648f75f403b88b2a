// Behaviours every real framework app in test/fixtures/interop/apps.ts must show through albany,
// written once and run both in process (test/interop/frameworks.test.ts) and in the legacy pool
// (test/legacy/frameworks.test.ts). Real sockets, real clients; streaming checks record arrival times.
import type { ExecutionContext } from 'ava';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DOWNLOAD_PATH, DOWNLOAD_SIZE, STREAM_EVENTS, STREAM_INTERVAL_MS } from '../fixtures/interop/apps.js';

/** Which framework a check runs against (their routes differ in small ways). */
export type Framework = 'express5' | 'express4' | 'connect' | 'koa';

const greeting: Record<Framework, string> = {
  express5: 'hi from express 5',
  express4: 'hi from express 4',
  connect: 'hi from connect',
  koa: 'hi from koa',
};

/** One response as a node:http client saw it, with arrival times (ms after the request was sent). */
export interface Timed {
  status: number;
  headers: http.IncomingHttpHeaders;
  headAt: number;
  chunks: Array<{ at: number; text: string }>;
  body: string;
}

/** GETs `url` and records when the head and each body chunk arrived. */
export function timedGet(url: string): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    http
      .get(url, (res) => {
        const headAt = performance.now() - t0;
        const chunks: Timed['chunks'] = [];
        res.setEncoding('utf8');
        res.on('data', (text: string) => chunks.push({ at: performance.now() - t0, text }));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            headers: res.headers,
            headAt,
            chunks,
            body: chunks.map((c) => c.text).join(''),
          }),
        );
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

/** When the chunk holding `needle` arrived. */
function arrivalOf(t: ExecutionContext, timed: Timed, needle: string): number {
  let text = '';
  for (const chunk of timed.chunks) {
    text += chunk.text;
    if (text.includes(needle)) return chunk.at;
  }
  t.fail(`"${needle}" never arrived (got ${JSON.stringify(timed.body)})`);
  return NaN;
}

/**
 * Each of `needles` (written STREAM_INTERVAL_MS apart) arrived on its own: well after the one
 * before. A bridge that holds a chunk back until the next write (or end) delivers the last two
 * together and fails this.
 */
function assertSpaced(t: ExecutionContext, timed: Timed, needles: string[]): number[] {
  const at = needles.map((needle) => arrivalOf(t, timed, needle));
  for (let i = 1; i < at.length; i++) {
    t.true(
      at[i]! - at[i - 1]! > STREAM_INTERVAL_MS / 3,
      `"${needles[i]}" arrived ${(at[i]! - at[i - 1]!).toFixed(0)} ms after "${needles[i - 1]}" (arrivals: ${at.map((a) => a.toFixed(0)).join(', ')} ms)`,
    );
  }
  return at;
}

/** Plain text, JSON and urlencoded bodies through the framework's parsers, cookies, the request's view of itself. */
export async function checkBasics(t: ExecutionContext, url: string, framework: Framework): Promise<void> {
  const hello = await fetch(`${url}/hello`);
  t.is(hello.status, 200);
  t.is(await hello.text(), greeting[framework]);
  if (framework.startsWith('express')) {
    t.is(hello.headers.get('x-powered-by'), 'Express');
    t.regex(hello.headers.get('etag') ?? '', /^W\/"/);
  }

  const json = await fetch(`${url}/json`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ a: [1, 2], b: 'ü' }),
  });
  t.is(json.status, 201);
  t.regex(json.headers.get('content-type')!, /^application\/json/);
  t.deepEqual(await json.json(), { got: { a: [1, 2], b: 'ü' }, type: 'application/json' });

  if (framework !== 'connect') {
    const form = await fetch(`${url}/form`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'x=1&y=two+words',
    });
    t.is(form.status, 200);
    t.deepEqual(await form.json(), { got: { x: '1', y: 'two words' } });
  }

  const cookies = await fetch(`${url}/cookies`, { headers: { cookie: 'a=1; b=two' } });
  t.regex(cookies.headers.getSetCookie()[0] ?? '', /^visited=yes; path=\//i);
  t.deepEqual(await cookies.json(), { cookies: { a: '1', b: 'two' } });

  if (framework === 'express5' || framework === 'express4' || framework === 'koa') {
    const who = await fetch(`${url}/whoami?q=1`);
    t.deepEqual(await who.json(), { ip: '127.0.0.1', protocol: 'http', host: '127.0.0.1', url: '/whoami?q=1' });
  }
}

/** Redirects, error middleware (or ctx.throw), the framework's 404. */
export async function checkRedirectsAndErrors(t: ExecutionContext, url: string, framework: Framework): Promise<void> {
  const redirect = await fetch(`${url}/redirect`, { redirect: 'manual' });
  t.is(redirect.status, 302);
  t.is(redirect.headers.get('location'), '/hello');

  const boom = await fetch(`${url}/boom`);
  if (framework === 'koa') {
    t.is(boom.status, 418);
    t.is(await boom.text(), 'teapot');
  } else {
    t.is(boom.status, 500);
    t.deepEqual(await boom.json(), { error: 'route failed' });
  }

  const missing = await fetch(`${url}/nowhere`);
  t.is(missing.status, 404);
  if (framework.startsWith('express')) t.regex(await missing.text(), /Cannot GET \/nowhere/);
  else await missing.arrayBuffer();
}

/** express.static and res.sendFile (small file, with a callback). */
export async function checkFiles(t: ExecutionContext, url: string): Promise<void> {
  const expected = readFileSync(new URL('../fixtures/interop/hello.txt', import.meta.url), 'utf8');
  const stat = await fetch(`${url}/static/hello.txt`);
  t.is(stat.status, 200);
  t.regex(stat.headers.get('content-type')!, /^text\/plain/);
  t.is(stat.headers.get('content-length'), String(Buffer.byteLength(expected)));
  t.truthy(stat.headers.get('last-modified'));
  t.is(await stat.text(), expected);
  const file = await fetch(`${url}/file`);
  t.is(file.status, 200);
  t.is(await file.text(), expected);
  // node:http rather than fetch: undici's fetch asks for a fresh copy, which send() honours.
  const conditional = await new Promise<number>((resolve, reject) => {
    http
      .get(`${url}/static/hello.txt`, { headers: { 'if-none-match': stat.headers.get('etag')! } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      })
      .on('error', reject);
  });
  t.is(conditional, 304);
}

/** A full download of the large file through res.sendFile. */
export async function checkDownload(t: ExecutionContext, url: string): Promise<void> {
  const res = await fetch(`${url}/download`);
  t.is(res.status, 200);
  t.is(res.headers.get('content-length'), String(DOWNLOAD_SIZE));
  t.is((await res.arrayBuffer()).byteLength, DOWNLOAD_SIZE);
}

/**
 * SSE: flushHeaders() sends the head at once, then each event arrives when written (one every
 * STREAM_INTERVAL_MS), not held back until the next write or end().
 */
export async function checkServerSentEvents(t: ExecutionContext, url: string): Promise<void> {
  const timed = await timedGet(`${url}/sse`);
  t.is(timed.status, 200);
  t.is(timed.headers['content-type'], 'text/event-stream');
  t.is(timed.body, Array.from({ length: STREAM_EVENTS }, (_, i) => `data: ${i}\n\n`).join(''));
  const [first] = assertSpaced(
    t,
    timed,
    Array.from({ length: STREAM_EVENTS }, (_, i) => `data: ${i}`),
  );
  // The head left with flushHeaders(), an interval before the first event was even written.
  t.true(
    timed.headAt < first! - STREAM_INTERVAL_MS / 3,
    `head at ${timed.headAt.toFixed(0)} ms, first event at ${first!.toFixed(0)} ms`,
  );
}

/** stream.pipe(res) (or a Koa stream body): each line arrives as the stream yields it. */
export async function checkPipe(t: ExecutionContext, url: string): Promise<void> {
  const timed = await timedGet(`${url}/pipe`);
  t.is(timed.status, 200);
  t.regex(String(timed.headers['content-type']), /^text\/plain/);
  t.is(timed.body, Array.from({ length: STREAM_EVENTS }, (_, i) => `line ${i}\n`).join(''));
  assertSpaced(
    t,
    timed,
    Array.from({ length: STREAM_EVENTS }, (_, i) => `line ${i}`),
  );
}

/** File descriptors of this process (every thread's) open on `path`. */
export function openFds(path: string): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === path) n++;
    } catch {
      // closed while we looked
    }
  }
  return n;
}

/** Polls `probe` every 20 ms until it returns something other than undefined, or `ms` pass. */
export async function eventually<T>(probe: () => T | undefined, ms = 5000): Promise<T | undefined> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A fresh file name the fixture app writes its report to. */
export function markerPath(): string {
  return join(tmpdir(), `albany-nodeapps-marker-${process.pid}-${Math.random().toString(36).slice(2)}`);
}

function readMarker(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

/**
 * A client that reads the head of a large res.sendFile download and hangs up: Express's callback
 * gets an error (on-finished saw the connection close) and the file's descriptor is closed.
 */
export async function checkAbortedDownload(t: ExecutionContext, port: number): Promise<void> {
  const marker = markerPath();
  try {
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () =>
        socket.write(`GET /download?marker=${encodeURIComponent(marker)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`),
      );
      socket.once('data', (data) => {
        t.regex(data.toString('latin1'), /^HTTP\/1\.1 200/);
        socket.destroy();
        resolve();
      });
      socket.on('error', reject);
    });
    const report = await eventually(() => readMarker(marker));
    t.truthy(report, 'the sendFile callback never ran');
    t.regex(report ?? '', /^error /);
    const open = await eventually(() => (openFds(DOWNLOAD_PATH) === 0 ? 0 : undefined), 3000);
    t.is(open, 0, 'the download file is still open');
  } finally {
    rmSync(marker, { force: true });
  }
}

/** Koa's ctx.socket.destroy(err): the client's connection is cut (no response) and app.on('error') hears err. */
export async function checkKoaDestroy(t: ExecutionContext, port: number): Promise<void> {
  const marker = markerPath();
  try {
    const got = await new Promise<{ data: string; error: string | undefined }>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () =>
        socket.write(`GET /destroy HTTP/1.1\r\nHost: 127.0.0.1\r\nx-marker: ${marker}\r\n\r\n`),
      );
      let data = '';
      let error: string | undefined;
      socket.on('data', (d) => (data += d.toString('latin1')));
      socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code));
      socket.on('close', () => resolve({ data, error }));
    });
    t.is(got.data, '', 'the client got a response instead of a cut connection');
    t.is(await eventually(() => readMarker(marker)), 'koa error cut by koa');
  } finally {
    rmSync(marker, { force: true });
  }
}

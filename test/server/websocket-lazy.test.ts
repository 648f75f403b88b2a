// The ws package is loaded at the first upgrade, not with the server (loading it at start-up made
// node's per-request constructors slower once the blocking detector's Worker runs too). A child
// process serves the echo app, so this test's own `ws` client cannot be what loaded the package.
import test from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';

// The child: serve, then answer "loaded?" on stdin with whether ws is in the CommonJS cache.
const CHILD = `
import { createRequire } from 'node:module';
import { serve } from ${JSON.stringify(new URL('../../src/server/http.ts', import.meta.url).href)};
import { echoApp } from ${JSON.stringify(new URL('../../examples/websocket/echo.ts', import.meta.url).href)};
const cache = createRequire(import.meta.url).cache;
const server = await serve(echoApp, { host: '127.0.0.1', port: 0, logLevel: 'silent', lifespan: 'off' });
process.stdout.write(JSON.stringify({ port: server.port }) + '\\n');
process.stdin.on('data', () => {
  const loaded = Object.keys(cache).some((p) => p.includes('/node_modules/ws/'));
  process.stdout.write(JSON.stringify({ loaded }) + '\\n');
});
`;

/** One masked client text frame (RFC 6455 §5.3) with a short payload. */
function maskedText(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = Buffer.from([1, 2, 3, 4]);
  const masked = payload.map((b, i) => b ^ mask[i % 4]!);
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
}

test('serving HTTP leaves ws unloaded; the first upgrade loads it and keeps a frame sent with it', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  t.teardown(() => child.kill());
  const lines: string[] = [];
  let buffered = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    buffered += d;
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    lines.push(...parts);
    child.stdout.emit('line');
  });
  const nextLine = async (): Promise<Record<string, unknown>> => {
    while (lines.length === 0) await once(child.stdout, 'line');
    return JSON.parse(lines.shift()!) as Record<string, unknown>;
  };
  const { port } = (await nextLine()) as { port: number };
  const base = `http://127.0.0.1:${port}`;

  const res = await fetch(`${base}/ws`);
  t.is(res.status, 426);
  t.is(await res.text(), 'connect with a WebSocket client\n');
  child.stdin.write('loaded?\n');
  t.deepEqual(await nextLine(), { loaded: false });

  // The handshake and a first frame in one write: the frame waits in the socket while ws loads.
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const handshake =
    'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';
  socket.write(Buffer.concat([Buffer.from(handshake), maskedText('hello')]));
  let got = Buffer.alloc(0);
  const echo = Buffer.from([0x81, 5, ...Buffer.from('hello')]);
  while (!got.includes(echo)) {
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    got = Buffer.concat([got, chunk]);
  }
  const head = got.subarray(0, got.indexOf('\r\n\r\n')).toString();
  t.regex(head, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
  t.regex(head, /\r\nsec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/i);
  t.true(got.subarray(got.indexOf('\r\n\r\n') + 4).equals(echo));
  socket.destroy();
  child.stdin.write('loaded?\n');
  t.deepEqual(await nextLine(), { loaded: true });
});

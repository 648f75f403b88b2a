// The events a (req, res) handler hears when a connection ends early, through fromNodeHandler and on
// a real node:http server side by side: same events, same order (req 'aborted', res 'close',
// socket 'close', req 'error' ECONNRESET, req 'close'), so on-finished, Express and Koa react alike.
import test from 'ava';
import type { EventEmitter } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { fromNodeHandler } from '../../src/interop/node.js';
import { sleep, withAlbany } from './helpers.js';

type Scenario = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** Runs `scenario` behind `serveOn`, sends `request` and hangs up after the first response byte (or at once). */
async function eventsOf(
  scenario: Scenario,
  request: string,
  hangUp: 'after-head' | 'at-once' | 'never',
  serveOn: 'node' | 'albany',
): Promise<string[]> {
  const log: string[] = [];
  const tap = (name: string, ee: EventEmitter, events: string[]) => {
    for (const e of events) {
      ee.on(e, (x: unknown) =>
        log.push(`${name}.${e}${x instanceof Error ? `(${(x as NodeJS.ErrnoException).code ?? x.message})` : ''}`),
      );
    }
  };
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    tap('req', req, ['aborted', 'error', 'end', 'close']);
    tap('res', res, ['error', 'finish', 'close']);
    tap('socket', req.socket, ['error', 'close']);
    scenario(req, res);
  };
  const exchange = async (port: number) => {
    await new Promise<void>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
      socket.on('error', () => {});
      // Read whatever comes, so the client sees the server's end of the connection.
      socket.resume();
      socket.on('close', () => resolve());
      if (hangUp === 'at-once') setTimeout(() => socket.destroy(), 100);
      else if (hangUp === 'after-head') socket.once('data', () => socket.destroy());
    });
    await sleep(150);
  };
  if (serveOn === 'node') {
    const server = http.createServer(handler);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    await exchange((server.address() as net.AddressInfo).port);
    server.closeAllConnections();
    server.close();
  } else {
    await withAlbany(fromNodeHandler(handler), (_url, server) => exchange(server.port));
  }
  return log;
}

const cases: Array<[string, Scenario, string, 'after-head' | 'at-once' | 'never']> = [
  [
    'the client leaves while the response streams (body never read)',
    (_req, res) => res.write('x'),
    'GET / HTTP/1.1\r\nHost: x\r\n\r\n',
    'after-head',
  ],
  [
    'the client leaves mid-upload while the handler reads',
    (req) => req.resume(),
    'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab',
    'at-once',
  ],
  [
    'the client leaves after the body was read, before any response',
    (req) => req.resume(),
    'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab',
    'at-once',
  ],
  [
    "the handler destroys the socket with an error (Koa's ctx.socket.destroy(err))",
    (req) => setTimeout(() => req.socket.destroy(new Error('cut')), 20),
    'GET / HTTP/1.1\r\nHost: x\r\n\r\n',
    'never',
  ],
  [
    'the handler destroys the response mid-stream',
    (_req, res) => {
      res.write('x');
      setTimeout(() => res.destroy(), 20);
    },
    'GET / HTTP/1.1\r\nHost: x\r\n\r\n',
    'never',
  ],
  [
    'the handler destroys the request mid-upload',
    (req) => {
      req.once('data', () => req.destroy());
    },
    'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab',
    'never',
  ],
  [
    'a normal response (the unread request is discarded and closes too)',
    (_req, res) => res.end('ok'),
    'GET / HTTP/1.1\r\nHost: x\r\n\r\n',
    'after-head',
  ],
];

for (const [name, scenario, request, hangUp] of cases) {
  test.serial(`${name}: the same events in the same order as node:http`, async (t) => {
    // A real socket also reports its parser's view of a cut upload (HPE_*); the stand-in has no parser.
    // After a complete response the connection belongs to the host (keep-alive): the per-request
    // stand-in socket does not hear of the client leaving later.
    const finished = (events: string[]) => events.includes('res.finish');
    let nodeEvents = (await eventsOf(scenario, request, hangUp, 'node')).filter(
      (e) => !e.startsWith('socket.error(HPE_'),
    );
    if (finished(nodeEvents)) nodeEvents = nodeEvents.filter((e) => e !== 'socket.close');
    const albanyEvents = await eventsOf(scenario, request, hangUp, 'albany');
    t.true(nodeEvents.length > 0);
    t.deepEqual(albanyEvents, nodeEvents);
  });
}

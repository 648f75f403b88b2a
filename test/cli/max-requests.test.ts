// --max-requests hands a worker over to its successor without losing a request: past its limit a
// worker answers with connection: close, and its graceful close does not cut connections it kept
// alive (a client may be sending its next request on one at that instant).
import http from 'node:http';
import test from 'ava';
import { albany, fixture, listening, type CliRun } from './helpers.js';

const app = fixture('ops-app.mjs');

function serveRecycling(maxRequests: number): CliRun {
  const args = ['serve', app, '--port', '0', '--lifespan', 'off', '--workers', '1'];
  return albany([...args, '--max-requests', String(maxRequests), '--no-access-log'], { timeoutMs: 90_000 });
}

async function stop(run: CliRun): Promise<number | null> {
  run.child.kill('SIGTERM');
  return (await run.exit).code;
}

interface Answer {
  status: number;
  body: string;
  connection: string | undefined;
  reusedSocket: boolean;
}

/** One GET through node:http's client, so the response's own Connection header is seen as sent. */
function get(url: string, agent: http.Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (d: string) => (body += d));
      res.on('error', reject);
      res.on('end', () =>
        resolve({ status: res.statusCode!, body, connection: res.headers.connection, reusedSocket: req.reusedSocket }),
      );
    });
    req.on('error', reject);
  });
}

test.serial(
  '--max-requests 3: the response that reaches the limit, and every one after it, says connection: close',
  async (t) => {
    const run = serveRecycling(3);
    t.teardown(() => run.child.kill('SIGKILL'));
    const url = await listening(run);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    t.teardown(() => agent.destroy());
    const answers: Answer[] = [];
    for (let i = 0; i < 4; i++) answers.push(await get(`${url}/pid`, agent));
    const [a, b, c, d] = answers as [Answer, Answer, Answer, Answer];
    t.deepEqual(
      answers.map((x) => x.status),
      [200, 200, 200, 200],
    );
    t.regex(a.body, /^\d+$/);
    t.is(b.body, a.body);
    t.is(c.body, a.body, 'the third request is still the first worker');
    // The first two keep the connection; the third is the limit: the client must not reuse the socket.
    t.deepEqual(
      answers.map((x) => x.connection),
      ['keep-alive', 'keep-alive', 'close', 'close'],
      answers.map((x) => `${x.body} ${x.connection}`).join(', '),
    );
    t.deepEqual(
      answers.map((x) => x.reusedSocket),
      [false, true, true, false],
    );
    // The fourth came on a new connection; until the successor is ready, the old worker answers it.
    t.regex(d.body, /^\d+$/);
    t.is(await stop(run), 0);
  },
);

test.serial(
  '--max-requests 4: concurrent keep-alive clients across several replacements, no request fails',
  async (t) => {
    const run = serveRecycling(4);
    t.teardown(() => run.child.kill('SIGKILL'));
    const url = await listening(run);
    const pids = new Set<string>();
    const failures: string[] = [];
    let answered = 0;
    let slowAnswered = 0;
    // Enough replacements that each hand-over meets clients between requests and requests in flight.
    const wanted = 5;
    const deadline = Date.now() + 60_000;
    const client = async (slow: boolean): Promise<void> => {
      while (pids.size < wanted && Date.now() < deadline) {
        // One client's requests take 150 ms, so the hand-over also finds requests still running.
        const path = slow ? '/slow?ms=150' : '/pid';
        try {
          const res = await fetch(`${url}${path}`);
          const body = await res.text();
          if (res.status !== 200) failures.push(`${path}: status ${res.status}: ${body}`);
          else if (slow) {
            if (body === 'ok /slow') slowAnswered++;
            else failures.push(`${path}: body ${JSON.stringify(body)}`);
          } else if (/^\d+$/.test(body)) pids.add(body);
          else failures.push(`${path}: body ${JSON.stringify(body)}`);
          answered++;
        } catch (error) {
          const cause = (error as Error & { cause?: Error & { code?: string } }).cause;
          failures.push(`${path}: ${(error as Error).message} (${cause?.code ?? ''} ${cause?.message ?? ''})`);
        }
      }
    };
    // undici's fetch pools keep-alive connections per origin: four clients keep about four open.
    await Promise.all([client(false), client(false), client(false), client(true)]);
    t.deepEqual(failures, [], `${failures.length} of ${answered + failures.length} requests failed`);
    t.true(pids.size >= wanted, `pids that answered: ${[...pids].join(' ')}`);
    t.true(slowAnswered > 0);
    t.is((run.stderr().match(/reached its request limit; replacing it/g) ?? []).length >= wanted - 1, true);
    t.is(await stop(run), 0);
  },
);

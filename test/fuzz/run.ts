// Fuzz target for the HTTP server and the FastCGI front (`npm run fuzz -- --seconds 60 --seed 42`):
// feeds random bytes and mutated valid requests to in-process servers on 127.0.0.1, checks with a
// canary request every couple of seconds that both still answer, and treats an uncaught exception or
// a dead canary as a crash: the recent cases are saved under test/fuzz/crashes/ and the exit code is 1.
// Not part of `npm test` (ava only picks up *.test.ts).
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { parseArgs } from 'node:util';
import type { App } from '../../src/gateway/types.js';
import { RecordParser, RecordType } from '../../src/server/fastcgi-records.js';
import { serveFastCGI } from '../../src/server/fastcgi.js';
import { serve } from '../../src/server/http.js';
import type { Logger } from '../../src/server/options.js';
import { prng } from '../reliability/helpers.js';
import { FCGI_SEEDS, nextCase, splitWrites } from './corpus.js';

type Target = 'http' | 'fastcgi';
interface Case {
  n: number;
  target: Target;
  bytes: Buffer;
  parts: number[];
}

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '30' },
    seed: { type: 'string' },
    concurrency: { type: 'string', default: '8' },
  },
});
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);
const seed = values.seed !== undefined ? Number(values.seed) >>> 0 : (Date.now() ^ (process.pid << 16)) >>> 0;
if (!(seconds > 0) || !(concurrency >= 1)) {
  process.stderr.write('usage: npm run fuzz -- [--seconds N (default 30)] [--seed S] [--concurrency C (default 8)]\n');
  process.exit(2);
}
const crashDir = new URL('./crashes/', import.meta.url);
process.stdout.write(
  `fuzz: seed ${seed}, ${seconds} s, ${concurrency} connections at a time (replay with --seed ${seed})\n`,
);

// What the servers log at error level: not crashes by themselves, but worth a look.
const logged: string[] = [];
const logger: Logger = { debug() {}, info() {}, warn() {}, error: (m) => void logged.push(m) };

// An app that reads the whole body (bounded by maxBodySize) and answers with what it saw.
const app: App = async (scope, receive, send) => {
  if (scope.type === 'websocket') {
    await receive();
    await send({ type: 'websocket.close', code: 1000 });
    return;
  }
  if (scope.type !== 'http') return;
  let size = 0;
  for (;;) {
    const m = await receive();
    if (m.type !== 'http.request') return;
    size += m.body?.length ?? 0;
    if (!m.moreBody) break;
  }
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
  await send({ type: 'http.response.body', body: Buffer.from(`${scope.method} ${scope.path} ${size}`) });
};

const limits = {
  host: '127.0.0.1',
  port: 0,
  lifespan: 'off' as const,
  logger,
  maxBodySize: 64 * 1024,
  headersTimeoutMs: 2000,
  requestTimeoutMs: 4000,
  keepAliveTimeoutMs: 1000,
  gracefulTimeoutMs: 1000,
};
const http = await serve(app, limits);
const fcgi = await serveFastCGI(app, limits);
const ports: Record<Target, number> = { http: http.port, fastcgi: fcgi.port };

// Crashes: an exception nothing caught, or a canary that got no answer.
const crashes: Array<{ kind: string; detail: string }> = [];
const recent: Case[] = [];
const RECENT = 64;
process.on('uncaughtException', (error) =>
  crashes.push({ kind: 'uncaught-exception', detail: String(error.stack ?? error) }),
);
process.on('unhandledRejection', (error) =>
  crashes.push({ kind: 'unhandled-rejection', detail: String((error as Error)?.stack ?? error) }),
);

/** Sends one case on a fresh connection and reports how it ended. */
function runCase(c: Case, rnd: () => number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(ports[c.target], '127.0.0.1');
    const got: Buffer[] = [];
    let done = false;
    const finish = (how: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const head = Buffer.concat(got).subarray(0, 16).toString('latin1');
      const status =
        c.target === 'http' ? /^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] : got.length ? 'records' : undefined;
      resolve(status ?? how);
    };
    const timer = setTimeout(() => finish('open'), 300);
    socket.on('data', (d: Buffer) => got.push(d));
    socket.on('error', () => finish('reset'));
    socket.on('close', () => finish('closed'));
    socket.on('connect', async () => {
      let offset = 0;
      for (const len of c.parts) {
        if (socket.destroyed) return;
        socket.write(c.bytes.subarray(offset, offset + len));
        offset += len;
        await new Promise((r) => setImmediate(r));
      }
      if (rnd() < 0.5 && !socket.destroyed) socket.end();
    });
  });
}

/** One canary per front; resolves with an error text when it did not answer within 3 s. */
async function canary(): Promise<string | undefined> {
  try {
    const res = await fetch(`${http.url}/canary`, { signal: AbortSignal.timeout(3000) });
    if (res.status !== 200 || (await res.text()) !== 'GET /canary 0') return `http canary answered ${res.status}`;
  } catch (error) {
    return `http canary: ${(error as Error).message}`;
  }
  const ok = await new Promise<boolean>((resolve) => {
    const socket = net.connect(ports.fastcgi, '127.0.0.1');
    const parser = new RecordParser();
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(false);
    }, 3000);
    socket.on('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
    socket.on('data', (d: Buffer) => {
      for (const r of parser.push(d)) {
        if (r.type === RecordType.END_REQUEST) {
          clearTimeout(timer);
          socket.destroy();
          resolve(true);
        }
      }
    });
    socket.write(FCGI_SEEDS[0]!);
  });
  return ok ? undefined : 'fastcgi canary got no END_REQUEST within 3 s';
}

function saveReproducers(kind: string, detail: string): string {
  const dir = new URL(`./${new Date().toISOString().replace(/[:.]/g, '-')}-${kind}-seed${seed}/`, crashDir);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    new URL('README.txt', dir),
    `${kind}\nseed ${seed}\n\n${detail}\n\nThe ${recent.length} most recent cases (any may be the culprit) are case-<n>-<target>.bin;\nsend one with: node -e "require('net').connect(PORT,'127.0.0.1').end(require('fs').readFileSync(FILE))"\n`,
  );
  for (const c of recent) writeFileSync(new URL(`case-${c.n}-${c.target}.bin`, dir), c.bytes);
  return dir.pathname;
}

const started = Date.now();
const deadline = started + seconds * 1000;
const outcomes: Record<Target, Record<string, number>> = { http: {}, fastcgi: {} };
let cases = 0;
let lastReport = started;
let lastReportCases = 0;
let lastCanary = started;
let stopReason: string | undefined;

async function worker(lane: number): Promise<void> {
  while (Date.now() < deadline && stopReason === undefined && crashes.length === 0) {
    const n = cases++;
    // Each case has its own PRNG derived from (seed, n), so the case can be regenerated from the seed alone.
    const rnd = prng((seed ^ Math.imul(n + 1, 0x9e3779b1)) >>> 0);
    const target: Target = rnd() < 0.5 ? 'http' : 'fastcgi';
    const bytes = nextCase(rnd, target);
    const c: Case = { n, target, bytes, parts: splitWrites(rnd, bytes).map((p) => p.length) };
    recent.push(c);
    if (recent.length > RECENT) recent.shift();
    const outcome = await runCase(c, rnd);
    outcomes[target][outcome] = (outcomes[target][outcome] ?? 0) + 1;
    if (lane === 0) await periodic();
  }
}

async function periodic(): Promise<void> {
  const now = Date.now();
  if (now - lastCanary >= 2000) {
    lastCanary = now;
    const failed = await canary();
    if (failed !== undefined) stopReason = failed;
  }
  if (now - lastReport >= 5000) {
    const rate = ((cases - lastReportCases) * 1000) / (now - lastReport);
    process.stdout.write(
      `fuzz: ${Math.round((now - started) / 1000)} s, ${cases} cases (${rate.toFixed(0)}/s), http ${JSON.stringify(outcomes.http)}, fastcgi ${JSON.stringify(outcomes.fastcgi)}, server error lines ${logged.length}\n`,
    );
    lastReport = now;
    lastReportCases = cases;
  }
}

await Promise.all(Array.from({ length: concurrency }, (_, lane) => worker(lane)));
if (stopReason === undefined && crashes.length === 0) {
  const failed = await canary();
  if (failed !== undefined) stopReason = failed;
}
if (stopReason !== undefined) crashes.push({ kind: 'hang', detail: stopReason });

const elapsed = (Date.now() - started) / 1000;
process.stdout.write(
  `fuzz: done, ${cases} cases in ${elapsed.toFixed(1)} s (${(cases / elapsed).toFixed(0)}/s), seed ${seed}\n`,
);
process.stdout.write(
  `fuzz: http outcomes ${JSON.stringify(outcomes.http)}\nfuzz: fastcgi outcomes ${JSON.stringify(outcomes.fastcgi)}\n`,
);
if (logged.length) {
  const kinds = new Map<string, number>();
  for (const l of logged)
    kinds.set(l.split('\n')[0]!.slice(0, 120), (kinds.get(l.split('\n')[0]!.slice(0, 120)) ?? 0) + 1);
  process.stdout.write(
    `fuzz: ${logged.length} server error lines (not crashes):\n${[...kinds]
      .slice(0, 10)
      .map(([k, v]) => `  ${v}× ${k}`)
      .join('\n')}\n`,
  );
}
if (crashes.length) {
  const dir = saveReproducers(crashes[0]!.kind, crashes.map((c) => `${c.kind}: ${c.detail}`).join('\n\n'));
  for (const c of crashes) process.stdout.write(`fuzz: CRASH (${c.kind}): ${c.detail.split('\n')[0]}\n`);
  process.stdout.write(`fuzz: reproducers in ${dir}\n`);
}
await Promise.race([Promise.all([http.close(), fcgi.close()]), new Promise((r) => setTimeout(r, 3000))]);
process.stdout.write(crashes.length ? `fuzz: ${crashes.length} crash(es)\n` : 'fuzz: no crashes\n');
process.exit(crashes.length ? 1 : 0);

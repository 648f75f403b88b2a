// Legacy demo route: a notes table in better-sqlite3 (a synchronous driver). Every worker opens the
// same database file (ALBANY_DEMO_DB), or its own in-memory one when that is unset (tests).
import Database from 'better-sqlite3';
import { threadId } from 'node:worker_threads';

// Module scope runs once per worker: each worker thread owns its connection, as a WSGI process would.
const db = new Database(process.env.ALBANY_DEMO_DB ?? ':memory:');
// WAL and a busy timeout let several worker threads share one file without "database is locked".
db.pragma('journal_mode = WAL');
db.pragma('busy_timeout = 2000');
db.exec(
  'create table if not exists notes (id integer primary key, text text not null, created_at text not null ' +
    "default (datetime('now')))",
);
const insert = db.prepare('insert into notes (text) values (?)');
const list = db.prepare('select id, text, created_at as createdAt from notes order by id');

/**
 * Plain-style handler. `GET` lists this worker's notes; `POST` with a JSON `{ "text": "…" }` body adds
 * one. Answers include the worker's thread id, since every worker has its own database.
 */
export function handle(req: { method: string; json(): unknown }) {
  if (req.method === 'POST') {
    const { text } = (req.json() ?? {}) as { text?: unknown };
    if (typeof text !== 'string' || text === '')
      return { status: 400, body: { error: 'body must be JSON { "text": "…" }' } };
    const { lastInsertRowid } = insert.run(text);
    return { status: 201, body: { id: Number(lastInsertRowid), text, worker: threadId } };
  }
  if (req.method !== 'GET') return { status: 405, headers: { allow: 'GET, POST' }, body: 'method not allowed' };
  return { status: 200, body: { worker: threadId, notes: list.all() } };
}

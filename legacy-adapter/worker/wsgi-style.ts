// Worker side: the full WSGI environ of one request — the CGI strings (environ.ts) plus the
// `wsgi.*` keys: the blocking body input, the error stream to the main thread's log, the flags.
import type { BatchItem } from '../../src/pool/protocol.js';
import { buildEnviron } from './environ.js';
import type { BodyInput } from './input.js';
import type { WorkerLink } from './link.js';

/** `wsgi.errors`: text goes to the main thread's log. */
class WsgiErrors {
  constructor(private readonly link: WorkerLink) {}
  write(text: unknown): void {
    this.link.post({ type: 'legacy.log', id: this.link.id, text: String(text) });
  }
  writelines(lines: Iterable<unknown>): void {
    this.link.post({ type: 'legacy.log', id: this.link.id, text: [...lines].map(String).join('') });
  }
  flush(): void {}
}

const WSGI_VERSION: readonly number[] = Object.freeze([1, 0]);

/** The environ a WSGI-style handler is called with, for one request of a batch. */
export function wsgiEnviron(item: BatchItem, input: BodyInput, link: WorkerLink): Record<string, unknown> {
  const environ: Record<string, unknown> = buildEnviron(item.request);
  environ['wsgi.input'] = input;
  environ['wsgi.errors'] = new WsgiErrors(link);
  environ['wsgi.version'] = WSGI_VERSION;
  environ['wsgi.multithread'] = true;
  environ['wsgi.multiprocess'] = false;
  environ['wsgi.run_once'] = false;
  return environ;
}

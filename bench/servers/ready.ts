// Shared by every bench server entry: announce the port on stdout (one JSON line the parent waits
// for) and exit cleanly on SIGTERM so --cpu-prof can write its profile.
export function announce(port: number, close: () => Promise<void> | void): void {
  process.stdout.write(`${JSON.stringify({ port })}\n`);
  const stop = () => {
    // Close, but never hang: the parent SIGKILLs after its grace period anyway.
    setTimeout(() => process.exit(0), 1000).unref();
    void Promise.resolve(close()).finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/** The one response every peer sends: same status, headers and bytes. */
export const HELLO = 'Hello World!';
export const CONTENT_TYPE = 'text/plain; charset=UTF-8';

#!/usr/bin/env node
// The `albany` command: runs the compiled CLI from dist/, or the TypeScript sources through tsx in a
// checkout that has not been built (a child node with --import tsx, so worker threads get tsx too).
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const dist = new URL('../dist/src/cli.js', import.meta.url);
if (existsSync(dist)) {
  const { main } = await import(dist.href);
  await main(process.argv.slice(2));
} else {
  const source = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', source, ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

// The `albany` command as a bench entry: bundled by lib/build-servers.ts, `node albany-cli.mjs serve APP
// --workers 2 …` runs the real CLI (src/cli.ts runs its main() when it is the process entry, and in the
// bundle this file is; node:cluster forks the workers from the same file and arguments). Built from the
// sources with the same esbuild options as every other bench server, so it is never a stale dist/.
// block-clock-scale.ts comes first: under callgrind it stretches the blocking detector's clock.
import './block-clock-scale.js';
import '../../src/cli.js';

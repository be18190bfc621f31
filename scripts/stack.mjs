// `npm start`: brings the local stack up (see scripts/stack.ts). Plain Node so it also works
// before dependencies are installed: it installs them and generates the contracts first, then runs
// the stack as its child with SIGINT/SIGTERM/SIGHUP forwarded, so stopping `npm start` stops it all.
import { ensureReady, runTypeScript } from "./ensure-installed.mjs";

await ensureReady();
await runTypeScript("scripts/stack.ts", process.argv.slice(2));

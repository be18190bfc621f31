// `npm start`: brings the local stack up (`tributary stack up`, apps/cli/src/stack/stack-up.ts).
// Plain Node so it also works before dependencies are installed: it installs them and generates
// the contracts first, then runs the CLI as its child with SIGINT/SIGTERM/SIGHUP forwarded, so
// stopping `npm start` stops it all.
import { ensureReady, runTypeScript } from "./ensure-installed.mjs";

await ensureReady();
await runTypeScript("apps/cli/src/main.ts", ["stack", "up", ...process.argv.slice(2)]);

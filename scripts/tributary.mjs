// `npm run tributary -- <command>`: the tributary CLI (apps/cli). Installs and generates first, so it
// works on a fresh clone; signals are forwarded to the CLI.
import { ensureReady, runTypeScript } from "./ensure-installed.mjs";

await ensureReady();
await runTypeScript("apps/cli/src/main.ts", process.argv.slice(2));

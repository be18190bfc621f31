// `npm start`: brings the local stack up (see scripts/stack.ts). Plain Node so it also works
// before dependencies are installed: it installs them first.
import { ensureInstalled, run } from "./ensure-installed.mjs";

ensureInstalled();
run("npx", ["tsx", "--conditions=source", "scripts/stack.ts", ...process.argv.slice(2)]);

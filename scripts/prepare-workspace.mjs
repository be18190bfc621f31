// A workspace's own `npm start` (e.g. `npm start -w @tributary/order`) runs this first as its
// `prestart`: the same install + generate step as the root commands, so a service starts on a fresh
// clone with nothing run before it.
import { ensureReady } from "./ensure-installed.mjs";

await ensureReady();

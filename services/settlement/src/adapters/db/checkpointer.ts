import type { Logger } from "@tributary/telemetry";
import type { Pool } from "pg";
import { takeCheckpoint } from "./pg-ledger.js";

/**
 * Takes a balance checkpoint every `intervalMs`, so a "now" balance sums at most one interval of
 * postings after its checkpoint. Any number of instances may run one: the checkpoint's advisory
 * lock makes them take turns, and a failed round is logged and retried at the next tick.
 */
export function startCheckpointer(options: { readonly pool: Pool; readonly intervalMs: number; readonly logger?: Logger }): { stop(): Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(async () => {
      try {
        await takeCheckpoint(options.pool);
      } catch (error) {
        options.logger?.warn({ err: error }, "settlement: balance checkpoint failed; retrying at the next interval");
      }
    });
  }, options.intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

import { PROVIDER_IDS } from "@tributary/contracts";
import type { Logger } from "@tributary/telemetry";
import type { Pool } from "pg";
import { closeBusinessDay } from "../../app/close-business-day.js";
import type { SettlementDeps } from "../../app/ports.js";
import { addDays, shanghaiBusinessDate, shanghaiDayBounds } from "../../domain/business-date.js";

/** Options of the scheduled close. */
export interface DayCloserOptions {
  readonly pool: Pool;
  readonly deps: SettlementDeps;
  /** How often to look for days to close. */
  readonly intervalMs: number;
  /** How long after a day's cut-off it is closed (late notifications still land in it). */
  readonly graceMs: number;
  /** How many past days are looked at, so a service that was down catches up, oldest first. */
  readonly lookbackDays?: number;
  readonly logger?: Logger;
}

/**
 * Closes each provider's business days once their cut-off plus a grace period has passed: every
 * `intervalMs`, the last `lookbackDays` days not closed yet, oldest first (a batch takes in the
 * previous batch's carried-forward net, so order matters). Any number of instances may run it:
 * closing is idempotent and serialised per provider in the database.
 */
export function startDayCloser(options: DayCloserOptions): { stop(): Promise<void> } {
  const lookback = options.lookbackDays ?? 7;
  let running: Promise<void> = Promise.resolve();
  const tick = async (): Promise<void> => {
    const now = options.deps.clock();
    const today = shanghaiBusinessDate(now);
    for (let back = lookback; back >= 1; back -= 1) {
      const day = addDays(today, -back);
      if (now.getTime() < shanghaiDayBounds(day).cutoff.getTime() + options.graceMs) continue;
      const { rows } = await options.pool.query<{ provider: string }>("SELECT provider FROM business_day_close WHERE business_date = $1", [day]);
      const closed = new Set(rows.map((r) => r.provider));
      for (const provider of PROVIDER_IDS) {
        if (closed.has(provider)) continue;
        const client = await options.pool.connect();
        try {
          await client.query("BEGIN");
          const result = await closeBusinessDay(options.deps, client, { provider, businessDate: day });
          await client.query("COMMIT");
          if (result.ok && !result.value.alreadyClosed) {
            options.logger?.info({ provider, businessDate: day, batches: result.value.batches.length }, "settlement: business day closed");
          }
        } catch (error) {
          await client.query("ROLLBACK").catch(() => undefined);
          throw error;
        } finally {
          client.release();
        }
      }
    }
  };
  const timer = setInterval(() => {
    running = running.then(tick).catch((error: unknown) => {
      options.logger?.warn({ err: error }, "settlement: closing business days failed; retrying at the next interval");
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

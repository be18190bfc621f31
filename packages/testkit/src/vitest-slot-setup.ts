/**
 * Setup file of the integration project: before a test file runs, its process takes a worker slot
 * (integration-workers.ts) — a session-level Postgres advisory lock on a connection it keeps until
 * it exits — and puts the slot in `TRIBUTARY_TEST_SLOT`, which `testKafkaBrokers()` and
 * `testDatabaseUrl()` read. The lock is released by the server when the process is gone, however
 * it ends (a SIGKILLed worker included), and a file waits while every slot is held.
 *
 * Why a lock and not vitest's `VITEST_POOL_ID`: with the unit project in the same run, vitest 4.1
 * gave two integration files that ran at the same time the same pool id (measured: six probe
 * files, two at a time, all with `VITEST_POOL_ID=1`, each seeing the other's consumer in its
 * group). And a finished file's process is stopped without being awaited, so it may still be
 * shutting its services down when the next file starts; holding the slot until the process has
 * exited keeps that tail off the next file's broker too.
 */
import { inject } from "vitest";
import pg from "pg";
import "./provided-context.js";

const slots = inject("kafkaBrokersBySlot").length;
const runKey = inject("slotLockKey");
const lockClient = new pg.Client({ connectionString: inject("postgresServerUrl"), application_name: `tributary-test-slot-${process.pid}` });
await lockClient.connect();
// The connection lives as long as the process; it must not be what keeps a finished worker alive.
(lockClient as unknown as { connection?: { stream?: { unref?: () => void } } }).connection?.stream?.unref?.();
lockClient.on("error", () => {
  // The server went away at the end of the run: nothing to hold any more.
});

const waitUntil = Date.now() + 15 * 60_000;
let slot: number | undefined;
while (slot === undefined) {
  for (let candidate = 0; candidate < slots && slot === undefined; candidate += 1) {
    const result = await lockClient.query<{ locked: boolean }>("SELECT pg_try_advisory_lock($1, $2) AS locked", [runKey, candidate]);
    if (result.rows[0]?.locked === true) slot = candidate;
  }
  if (slot === undefined) {
    if (Date.now() > waitUntil) throw new Error(`testkit: no free worker slot of ${slots} after 15 minutes`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
process.env["TRIBUTARY_TEST_SLOT"] = String(slot);

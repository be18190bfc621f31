/**
 * How many integration test files run at once (worker slots), and which slot a test file holds.
 *
 * Each slot gets infrastructure of its own from the global setup — its own Kafka broker and its
 * own set of service databases — so two files that run side by side never see each other's
 * events, rows, consumer groups or outbox backlog. A file therefore needs no care about what
 * the others do; it only has to reach its broker and databases through `testKafkaBrokers()` and
 * `testDatabaseUrl()`.
 *
 * `TRIBUTARY_TEST_WORKERS` sets the count (default 2, the machine's cores). With `KAFKA_BROKERS`
 * naming a cluster of the user's, every file shares its topics, so the files run one at a time.
 */
export const DEFAULT_INTEGRATION_WORKERS = 2;

export function integrationWorkers(env: Readonly<Record<string, string | undefined>> = process.env): number {
  const brokers = env["KAFKA_BROKERS"];
  if (brokers !== undefined && brokers.trim() !== "") return 1;
  const raw = env["TRIBUTARY_TEST_WORKERS"];
  if (raw === undefined || raw.trim() === "") return DEFAULT_INTEGRATION_WORKERS;
  const workers = Number(raw);
  if (!Number.isInteger(workers) || workers < 1 || workers > 8) {
    throw new Error(`TRIBUTARY_TEST_WORKERS must be a whole number from 1 to 8 (got "${raw}")`);
  }
  return workers;
}

/**
 * The 0-based slot the current test file holds: `TRIBUTARY_TEST_SLOT`, set by the integration
 * project's setup file (vitest-slot-setup.ts) once the file's process has locked that slot.
 * Outside a test file (a script, a REPL) it is slot 0.
 */
export function workerSlot(slots: number, env: Readonly<Record<string, string | undefined>> = process.env): number {
  const raw = env["TRIBUTARY_TEST_SLOT"];
  if (raw === undefined) return 0;
  const slot = Number(raw);
  if (!Number.isInteger(slot) || slot < 0 || slot >= slots) {
    throw new Error(`TRIBUTARY_TEST_SLOT is not a worker slot of ${slots}: "${raw}"`);
  }
  return slot;
}

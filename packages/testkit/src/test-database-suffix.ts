import pg from "pg";
import { dropDatabase } from "@tributary/local-postgres";

/** Test databases are named `<service database>_test_<pid>`: one set per test run. */
const suffixPattern = /_test_(\d+)$/;

/**
 * The database-name suffix of this test run. Each run gets its own databases, so two runs on
 * one machine (two terminals, two engineers) never drop each other's databases mid-test.
 */
export function testDatabaseSuffix(pid: number = process.pid): string {
  return `_test_${pid}`;
}

/**
 * Drops the test databases of runs whose process is gone (killed before their teardown), so
 * crashed runs do not pile databases up on the server.
 */
export async function dropAbandonedTestDatabases(serverUrl: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  let names: string[];
  try {
    const result = await client.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE '%\\_test\\_%'");
    names = result.rows.map((row) => row.datname);
  } finally {
    await client.end();
  }
  const abandoned = names.filter((name) => {
    const pid = suffixPattern.exec(name)?.[1];
    return pid !== undefined && !processAlive(Number.parseInt(pid, 10));
  });
  for (const name of abandoned) await dropDatabase(serverUrl, name);
  return abandoned;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive but not ours to signal.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

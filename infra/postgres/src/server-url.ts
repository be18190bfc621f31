/** The development default: the Postgres server our machines run, trust auth. */
export const defaultPostgresServerUrl = "postgresql://postgres@127.0.0.1:5432/postgres";

/**
 * The admin URL of the Postgres server, from `POSTGRES_URL` or the default. Only composition
 * roots and CLIs call this with `process.env`.
 */
export function postgresServerUrl(env: Readonly<Record<string, string | undefined>>): string {
  return env["POSTGRES_URL"] ?? defaultPostgresServerUrl;
}

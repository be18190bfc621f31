/**
 * What the global setup hands to every integration test through vitest's provide/inject.
 * Imported for its type augmentation by both sides.
 */
declare module "vitest" {
  export interface ProvidedContext {
    /** Bootstrap servers of each worker slot's broker (integration-workers.ts). */
    kafkaBrokersBySlot: string[][];
    postgresServerUrl: string;
    /** Each worker slot's database-name suffix, `_w<slot>_test_<pid>`. */
    databaseSuffixBySlot: string[];
    /** The first key of this run's slot locks (pg_advisory_lock(key, slot)): the global setup's pid. */
    slotLockKey: number;
  }
}

export {};

import { AsyncLocalStorage } from "node:async_hooks";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaClient, type Prisma } from "../../gen/prisma/client.js";

/** A Prisma interactive transaction and the pg connection it runs on. */
export interface PrismaTransaction {
  readonly prisma: Prisma.TransactionClient;
  /** The same connection, inside the same transaction, for `appendToOutbox` (it takes a pg client). */
  readonly connection: pg.PoolClient;
}

/**
 * Payment-routing's cold-path database access: Prisma Client (policy versions, audit, admin reads)
 * on `@prisma/adapter-pg`, with its own small pg pool, no engine binary.
 */
export interface PrismaDatabase {
  readonly prisma: PrismaClient;
  /**
   * Runs `work` in one interactive transaction and hands it the pg connection underneath too, so
   * Prisma's writes and `@tributary/events`' outbox append commit as one.
   */
  transaction<T>(work: (tx: PrismaTransaction) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

interface ConnectionSlot {
  connection: pg.PoolClient | undefined;
}

const slots = new AsyncLocalStorage<ConnectionSlot>();

type ConnectCallback = (error: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void;

/**
 * A pg pool that notes which connection an interactive transaction checked out. The adapter
 * opens a Prisma transaction by taking a connection from the pool it was given (promise-style
 * `connect()`) and sending BEGIN on it; plain queries go through `pool.query`, which connects
 * callback-style and is left alone. Run inside {@link slots}, the transaction's connection lands
 * in the caller's slot, so the caller can send its own statements on it. An integration test
 * (an outbox row rolled back with the Prisma writes) fails if an adapter version stops doing this.
 */
class TransactionTrackingPool extends pg.Pool {
  override connect(): Promise<pg.PoolClient>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<pg.PoolClient> | void {
    if (callback !== undefined) {
      super.connect(callback);
      return;
    }
    const slot = slots.getStore();
    return super.connect().then((connection) => {
      if (slot !== undefined && slot.connection === undefined) slot.connection = connection;
      return connection;
    });
  }
}

/** Options of {@link createPrismaDatabase}. */
export interface PrismaDatabaseOptions {
  readonly databaseUrl: string;
  /** Connections of the cold-path pool; the hot path has its own. Default 3. */
  readonly poolSize?: number;
  /** How long an interactive transaction may run, ms. Default 10 s. */
  readonly transactionTimeoutMs?: number;
  /** Told about a pooled connection that failed while idle (the pool replaces it). */
  readonly onPoolError?: (error: Error) => void;
}

/** Opens the cold-path database: a pg pool and Prisma Client over it. Connects lazily. */
export function createPrismaDatabase(options: PrismaDatabaseOptions): PrismaDatabase {
  const pool = new TransactionTrackingPool({ connectionString: options.databaseUrl, max: options.poolSize ?? 3 });
  pool.on("error", (error) => options.onPoolError?.(error));
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool, { onPoolError: (error) => options.onPoolError?.(error) }) });
  const timeout = options.transactionTimeoutMs ?? 10_000;
  return {
    prisma,
    transaction(work) {
      const slot: ConnectionSlot = { connection: undefined };
      return slots.run(slot, () =>
        prisma.$transaction(
          async (tx) => {
            const connection = slot.connection;
            if (connection === undefined) throw new Error("payment-routing: the Prisma transaction's connection was not seen");
            return work({ prisma: tx, connection });
          },
          { timeout, maxWait: timeout },
        ),
      );
    },
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

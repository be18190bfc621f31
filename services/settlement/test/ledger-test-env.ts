/**
 * Shared set-up of the settlement tests that drive the ledger directly: a pool on the migrated
 * test database, a transaction helper, unique merchants, and capture/refund builders.
 */
import type { ProviderId } from "@tributary/contracts";
import { newEventId } from "@tributary/events";
import { money } from "@tributary/money";
import { testDatabaseUrl } from "@tributary/testkit/vitest";
import type pg from "pg";
import { v7 as uuidv7 } from "uuid";
import type { SettlementDeps } from "../src/app/ports.js";
import type { Capture } from "../src/domain/capture-entry.js";
import { DEFAULT_FEE_TERMS, type FeeTerms } from "../src/domain/fee-terms.js";

/** The settlement test database's URL. */
export function settlementDatabaseUrl(): string {
  return testDatabaseUrl("tributary_settlement");
}

/** Runs `work` in one transaction on its own connection; rolls back on failure. */
export async function inTransaction<T>(pool: pg.Pool, work: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Use-case dependencies with the given terms (the public default rates unless told). */
export function testDeps(terms: FeeTerms = DEFAULT_FEE_TERMS): SettlementDeps {
  return { terms, newId: () => uuidv7(), clock: () => new Date() };
}

/** A unique merchant id per test, so tests sharing the database never see each other's accounts. */
export function uniqueMerchant(label: string): string {
  return `m-${label}-${newEventId().slice(-12)}`;
}

/** A capture of `amountMinor` CNY fen for a fresh order and payment. */
export function captureOf(merchantId: string, amountMinor: bigint, options: { provider?: ProviderId; at?: Date } = {}): Capture {
  const paymentId = `pay-${newEventId()}`;
  return {
    eventId: newEventId(),
    paymentId,
    orderId: `order-${newEventId()}`,
    merchantId,
    provider: options.provider ?? "wechat_pay",
    providerTransactionId: `tx-${paymentId.slice(-12)}`,
    amount: money(amountMinor, "CNY"),
    reportedFee: undefined,
    capturedAt: options.at ?? new Date(),
  };
}

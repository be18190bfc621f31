import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { providerIdToProto, settlementTopic } from "@tributary/contracts";
import { BatchStatus as ProtoBatchStatus, SettlementBatchSchema, type SettlementBatch as ProtoBatch } from "@tributary/contracts/settlement/v1/settlement";
import {
  PayoutInstructedSchema,
  SettlementBatchClosedSchema,
  SettlementBatchHeldSchema,
  SettlementBatchReconciledSchema,
} from "@tributary/contracts/settlement/v1/settlement_events";
import { appendToOutbox } from "@tributary/events";
import type { PoolClient } from "pg";
import type { StoredPayout } from "../db/pg-payouts.js";
import type { BatchStatus, SettlementBatch } from "../../domain/settlement-batch.js";
import type { OpenBatch } from "../../app/close-business-day.js";

/** The outbox producer name (the service's name). */
export const SETTLEMENT_OUTBOX_PRODUCER = "settlement";

/** The wire status. */
export function batchStatusToProto(status: BatchStatus): ProtoBatchStatus {
  switch (status) {
    case "closed":
      return ProtoBatchStatus.CLOSED;
    case "reconciled":
      return ProtoBatchStatus.RECONCILED;
    case "paid_out":
      return ProtoBatchStatus.PAID_OUT;
    case "held":
      return ProtoBatchStatus.HELD;
  }
}

/** What an open and a stored batch say alike on the wire: who, which rail, which day, the totals. */
function batchTotalsToProto(batch: OpenBatch | SettlementBatch) {
  const m = (amountMinor: bigint) => ({ currency: batch.currency, amountMinor });
  return {
    merchantId: batch.merchantId,
    provider: providerIdToProto(batch.provider),
    settlementDate: batch.businessDate,
    gross: m(batch.grossMinor),
    refunds: m(batch.refundsMinor),
    fees: m(batch.providerFeesMinor),
    adjustments: m(batch.adjustmentsMinor),
    net: m(batch.netMinor),
    paymentCount: batch.paymentCount,
    refundCount: batch.refundCount,
  };
}

/** An open batch on the wire: status OPEN, no batch id and no close time yet. */
export function openBatchToProto(batch: OpenBatch): ProtoBatch {
  return create(SettlementBatchSchema, { ...batchTotalsToProto(batch), status: ProtoBatchStatus.OPEN });
}

/**
 * A batch on the wire. `settlement_date` in the contract is the provider's bill day — our business
 * date; `fees` the provider fees net of fees returned; `net` the signed net before carrying a
 * negative one forward.
 */
export function batchToProto(batch: SettlementBatch): ProtoBatch {
  return create(SettlementBatchSchema, {
    batchId: batch.batchId,
    ...batchTotalsToProto(batch),
    status: batchStatusToProto(batch.status),
    closedAt: timestampFromDate(batch.closedAt),
  });
}

export async function appendBatchesClosed(tx: PoolClient, batches: readonly SettlementBatch[]): Promise<void> {
  if (batches.length === 0) return;
  await appendToOutbox(
    tx,
    SETTLEMENT_OUTBOX_PRODUCER,
    settlementTopic,
    batches.map((batch) => ({ key: batch.batchId, schema: SettlementBatchClosedSchema, message: create(SettlementBatchClosedSchema, { batch: batchToProto(batch) }) })),
  );
}

/** Appends `SettlementBatchReconciled` or `SettlementBatchHeld` for a batch. */
export async function appendBatchDecided(
  tx: PoolClient,
  batchId: string,
  decision: { readonly status: "reconciled" } | { readonly status: "held"; readonly discrepancyCount: bigint },
  reconciliationId: string,
): Promise<void> {
  if (decision.status === "reconciled") {
    await appendToOutbox(tx, SETTLEMENT_OUTBOX_PRODUCER, settlementTopic, [
      { key: batchId, schema: SettlementBatchReconciledSchema, message: create(SettlementBatchReconciledSchema, { batchId, reconciliationId }) },
    ]);
    return;
  }
  await appendToOutbox(tx, SETTLEMENT_OUTBOX_PRODUCER, settlementTopic, [
    {
      key: batchId,
      schema: SettlementBatchHeldSchema,
      message: create(SettlementBatchHeldSchema, { batchId, reconciliationId, discrepancyCount: decision.discrepancyCount }),
    },
  ]);
}

/** Appends `PayoutInstructed` for a batch's payout (key: batch id), in the caller's transaction. */
export async function appendPayoutInstructed(tx: PoolClient, batch: SettlementBatch, payout: StoredPayout): Promise<void> {
  await appendToOutbox(tx, SETTLEMENT_OUTBOX_PRODUCER, settlementTopic, [
    {
      key: batch.batchId,
      schema: PayoutInstructedSchema,
      message: create(PayoutInstructedSchema, {
        payoutId: payout.payoutId,
        batchId: batch.batchId,
        merchantId: batch.merchantId,
        provider: providerIdToProto(batch.provider),
        businessDate: batch.businessDate,
        settlementDate: batch.settlementDate,
        amount: { currency: batch.currency, amountMinor: payout.amountMinor },
        accountReference: payout.accountReference,
        instructedBy: payout.instructedBy,
        instructedAt: timestampFromDate(payout.instructedAt),
      }),
    },
  ]);
}

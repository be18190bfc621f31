import { timestampMs } from "@bufbuild/protobuf/wkt";
import { providerIdToProto, type ProviderId } from "@tributary/contracts";
import { RecordKind, type SettlementRecord } from "@tributary/contracts/settlement/v1/settlement";
import { SettlementService } from "@tributary/contracts/settlement/v1/settlement_service";
import { closeClient, createClient } from "@tributary/grpc";
import { parseCurrencyCode } from "@tributary/money";
import type { LedgerRecordsSource } from "../../app/ports.js";
import type { LedgerRecord } from "../../domain/ledger-record.js";

/** Where settlement's read API is and the worker's token (`settlement:records`, bound to its provider). */
export interface SettlementLedgerRecordsOptions {
  readonly address: string;
  readonly bearerToken: string;
  /** Deadline of one day's stream; a day of a million records streams in well under this. */
  readonly deadlineMs?: number;
}

/**
 * Our side of the match from the settlement service: `SettlementService.StreamRecords(provider,
 * business date)` mapped onto {@link LedgerRecord}. A payment keeps the provider's transaction
 * id and our payment id (the `out_trade_no` we sent); a refund's provider id is the provider's
 * refund id. Amounts and fees come positive with a kind, and are signed here in the bill's
 * convention (refunds negative). The contract carries no refund reference of ours, so
 * `merchantRefundRef` is empty (an Alipay refund, whose bill has no refund id, cannot match yet).
 */
export function createSettlementLedgerRecords(options: SettlementLedgerRecordsOptions): LedgerRecordsSource {
  return {
    async *recordsFor(provider: ProviderId, businessDate: string): AsyncIterable<LedgerRecord> {
      const client = createClient(SettlementService, options.address, { bearerToken: options.bearerToken });
      try {
        const stream = client.streamRecords(
          { provider: providerIdToProto(provider), settlementDate: businessDate },
          { deadlineMs: options.deadlineMs ?? 10 * 60_000 },
        );
        let index = 0;
        for await (const response of stream) {
          index += 1;
          if (response.record === undefined) throw new Error(`settlement StreamRecords ${provider} ${businessDate}: message ${index} has no record`);
          yield ledgerRecordOf(response.record, businessDate);
        }
      } finally {
        closeClient(client);
      }
    },
  };
}

/** One settlement record as a ledger record of the match; a record settlement should never send throws. */
export function ledgerRecordOf(record: SettlementRecord, businessDate: string): LedgerRecord {
  const what = `settlement record ${record.paymentId}/${record.providerTransactionId}`;
  const currency = parseCurrencyCode(record.amount?.currency ?? "");
  if (!currency.ok) throw new Error(`${what}: currency ${JSON.stringify(record.amount?.currency)} is not ISO 4217`);
  if (record.bookedAt === undefined) throw new Error(`${what}: no booked_at`);
  const amountMinor = record.amount?.amountMinor ?? 0n;
  const feeMinor = record.fee?.amountMinor ?? 0n;
  const bookedAtMs = timestampMs(record.bookedAt);
  switch (record.kind) {
    case RecordKind.PAYMENT:
      return {
        recordId: `payment:${record.paymentId}:${record.providerTransactionId}`,
        kind: "payment",
        providerTxnId: record.providerTransactionId,
        merchantOrderRef: record.paymentId,
        providerRefundId: "",
        merchantRefundRef: "",
        amountMinor,
        feeMinor,
        currency: currency.value,
        status: "succeeded",
        bookedAtMs,
        businessDate,
      };
    case RecordKind.REFUND:
      return {
        recordId: `refund:${record.paymentId}:${record.providerTransactionId}`,
        kind: "refund",
        providerTxnId: "",
        merchantOrderRef: record.paymentId,
        providerRefundId: record.providerTransactionId,
        merchantRefundRef: "",
        amountMinor: -amountMinor,
        feeMinor: -feeMinor,
        currency: currency.value,
        status: "refund_succeeded",
        bookedAtMs,
        businessDate,
      };
    case RecordKind.UNSPECIFIED:
      throw new Error(`${what}: kind unspecified`);
    default:
      throw new Error(`${what}: unknown kind ${String(record.kind)}`);
  }
}

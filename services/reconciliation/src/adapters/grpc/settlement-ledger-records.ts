import { timestampMs } from "@bufbuild/protobuf/wkt";
import { providerIdToProto, type ProviderId } from "@tributary/contracts";
import { RecordKind, type SettlementRecord } from "@tributary/contracts/settlement/v1/settlement";
import { SettlementService } from "@tributary/contracts/settlement/v1/settlement_service";
import { closeClient, createClient } from "@tributary/grpc";
import { parseCurrencyCode, type CurrencyCode } from "@tributary/money";
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
 * {@link LedgerRecordsSource} over settlement, with the chunks as they came off the wire too: a
 * caller that takes `chunksFor` pays one await per message (a thousand records) instead of one per
 * record.
 */
export interface SettlementLedgerRecords extends LedgerRecordsSource {
  /** The same records as `recordsFor`, in the same order, one array per settlement message. */
  chunksFor(provider: ProviderId, businessDate: string): AsyncIterable<readonly LedgerRecord[]>;
}

/**
 * Our side of the match from the settlement service: `SettlementService.StreamPaymentsForReconciliation
 * (provider, business date)` — the day's records in booking order, many per message — mapped onto
 * {@link LedgerRecord}. A payment keeps the provider's transaction id and our payment id (the
 * `out_trade_no` we sent); a refund's provider id is the provider's refund id. Amounts and fees
 * come positive with a kind, and are signed here in the bill's convention (refunds negative). The
 * contract carries no refund reference of ours, so `merchantRefundRef` is empty (an Alipay refund,
 * whose bill has no refund id, cannot match yet). An empty message is a broken promise of the
 * contract and fails the stream.
 */
export function createSettlementLedgerRecords(options: SettlementLedgerRecordsOptions): SettlementLedgerRecords {
  async function* chunksFor(provider: ProviderId, businessDate: string): AsyncIterable<readonly LedgerRecord[]> {
    // grpc-js's default HTTP/2 window (64 KiB): a 4 MiB window (`grpc-node.flow_control_window`)
    // was measured slower — 80k against 230k–425k records/s drained from the bench's stand-in.
    const client = createClient(SettlementService, options.address, { bearerToken: options.bearerToken });
    try {
      const stream = client.streamPaymentsForReconciliation(
        { provider: providerIdToProto(provider), businessDate },
        { deadlineMs: options.deadlineMs ?? 10 * 60_000 },
      );
      let index = 0;
      for await (const response of stream) {
        index += 1;
        if (response.records.length === 0) throw new Error(`settlement StreamPaymentsForReconciliation ${provider} ${businessDate}: message ${index} has no record`);
        yield ledgerRecordsOf(response.records, businessDate);
      }
    } finally {
      closeClient(client);
    }
  }
  return {
    chunksFor,
    async *recordsFor(provider: ProviderId, businessDate: string): AsyncIterable<LedgerRecord> {
      for await (const chunk of chunksFor(provider, businessDate)) yield* chunk;
    },
  };
}

/** One message's records as ledger records, in order. */
export function ledgerRecordsOf(records: readonly SettlementRecord[], businessDate: string): LedgerRecord[] {
  const out = new Array<LedgerRecord>(records.length);
  const currencies = new CurrencyTexts();
  for (let i = 0; i < records.length; i++) out[i] = ledgerRecordOf(records[i] as SettlementRecord, businessDate, currencies);
  return out;
}

/**
 * The currency codes of one message: each record's `currency` is a fresh string off the wire, and a
 * ledger record is held for the matching window, so records of the same currency share the first
 * record's checked code instead of holding a copy each.
 */
class CurrencyTexts {
  private text = "";
  private code: CurrencyCode | undefined;
  of(text: string): CurrencyCode | undefined {
    if (this.code !== undefined && text === this.text) return this.code;
    const parsed = parseCurrencyCode(text);
    if (!parsed.ok) return undefined;
    this.text = text;
    this.code = parsed.value;
    return parsed.value;
  }
}

/** One settlement record as a ledger record of the match; a record settlement should never send throws. */
export function ledgerRecordOf(record: SettlementRecord, businessDate: string, currencies: CurrencyTexts = new CurrencyTexts()): LedgerRecord {
  const what = `settlement record ${record.paymentId}/${record.providerTransactionId}`;
  const currency = currencies.of(record.amount?.currency ?? "");
  if (currency === undefined) throw new Error(`${what}: currency ${JSON.stringify(record.amount?.currency)} is not ISO 4217`);
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
        currency,
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
        currency,
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

import { create, createFileRegistry, type DescMessage, type DescMethodServerStreaming, type DescService } from "@bufbuild/protobuf";
import { FieldDescriptorProto_Label, FieldDescriptorProto_Type, FileDescriptorProtoSchema, timestampMs } from "@bufbuild/protobuf/wkt";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { providerIdToProto, type ProviderId } from "@tributary/contracts";
import { RecordKind, type SettlementRecord } from "@tributary/contracts/settlement/v1/settlement";
import { SettlementService, type StreamPaymentsForReconciliationRequestSchema } from "@tributary/contracts/settlement/v1/settlement_service";
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
 * come positive with a kind, and are signed here in the bill's convention (refunds negative). A
 * refund's `refund_ref` (our refund request number, e.g. Alipay's `out_request_no`) is its
 * `merchantRefundRef`, the key a bill without the provider's refund id (Alipay's) matches it by.
 * An empty message is a broken promise of the contract and fails the stream.
 */
export function createSettlementLedgerRecords(options: SettlementLedgerRecordsOptions): SettlementLedgerRecords {
  async function* chunksFor(provider: ProviderId, businessDate: string): AsyncIterable<readonly LedgerRecord[]> {
    // grpc-js's default HTTP/2 window (64 KiB): a 4 MiB window (`grpc-node.flow_control_window`)
    // was measured slower — 80k against 230k–425k records/s drained from the bench's stand-in.
    const client = createClient(SettlementRecordsWireService, options.address, { bearerToken: options.bearerToken });
    try {
      const stream = client.streamPaymentsForReconciliation(
        // Our merchantOrderRef is the payment id (the out_trade_no we sent); the upstream order
        // reference is not read, so settlement need not look it up for each record.
        { provider: providerIdToProto(provider), businessDate, omitMerchantOrderRef: true },
        { deadlineMs: options.deadlineMs ?? 10 * 60_000 },
      );
      let index = 0;
      for await (const response of stream) {
        index += 1;
        const { records } = response as unknown as SettlementRecordsWire;
        if (records.length === 0) throw new Error(`settlement StreamPaymentsForReconciliation ${provider} ${businessDate}: message ${index} has no record`);
        yield ledgerRecordsFromWire(records, businessDate);
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

/**
 * `StreamPaymentsForReconciliationResponse` as its wire format also reads: `repeated bytes
 * records = 1`, each element one record's encoded `SettlementRecord` (a view into the message's
 * bytes, not a copy). Field 1 is length-delimited either way, so the bytes on the wire are the
 * same; what changes is that protobuf-es does not build a `SettlementRecord`, two `Money`s and a
 * `Timestamp` per record only for them to be dropped a moment later — on a day of a million
 * records that decoding (its reflective field loop and `create`) and the garbage it leaves were
 * the largest costs on the matching thread after the match itself. Each record is then read by
 * {@link ledgerRecordFromWire} straight into a {@link LedgerRecord}.
 */
const recordsWireFile = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: "tributary/reconciliation/internal/settlement_records_wire.proto",
    package: "tributary.reconciliation.internal",
    syntax: "proto3",
    messageType: [
      { name: "SettlementRecordsWire", field: [{ name: "records", jsonName: "records", number: 1, label: FieldDescriptorProto_Label.REPEATED, type: FieldDescriptorProto_Type.BYTES }] },
    ],
  }),
  () => undefined,
);
const SettlementRecordsWireSchema = recordsWireFile.getMessage("tributary.reconciliation.internal.SettlementRecordsWire") as DescMessage;

/** The shape of {@link SettlementRecordsWireSchema}'s messages. */
interface SettlementRecordsWire {
  readonly records: readonly Uint8Array[];
}

/**
 * `SettlementService` with only `StreamPaymentsForReconciliation`, its response read as
 * {@link SettlementRecordsWireSchema}: the same path, request and bytes, so the client (deadline,
 * token, tracing, error mapping) is `@tributary/grpc`'s own.
 */
const SettlementRecordsWireService = (() => {
  const method = SettlementService.method.streamPaymentsForReconciliation;
  const wireMethod = { ...method, output: SettlementRecordsWireSchema } as unknown as DescMethodServerStreaming<typeof StreamPaymentsForReconciliationRequestSchema, DescMessage>;
  return { ...SettlementService, methods: [wireMethod], method: { streamPaymentsForReconciliation: wireMethod } } as unknown as DescService & {
    readonly method: { readonly streamPaymentsForReconciliation: typeof wireMethod };
  };
})();

/** One message's records, each its encoded `SettlementRecord`, as ledger records in order. */
export function ledgerRecordsFromWire(records: readonly Uint8Array[], businessDate: string): LedgerRecord[] {
  const out = new Array<LedgerRecord>(records.length);
  const currencies = new CurrencyTexts();
  for (let i = 0; i < records.length; i++) out[i] = ledgerRecordFromWire(records[i] as Uint8Array, businessDate, currencies);
  return out;
}

// Field numbers of tributary.settlement.v1.SettlementRecord, tributary.common.v1.Money and
// google.protobuf.Timestamp that the match reads; every other field is skipped.
const RECORD_PROVIDER_TRANSACTION_ID = 2;
const RECORD_PAYMENT_ID = 3;
const RECORD_KIND = 6;
const RECORD_AMOUNT = 7;
const RECORD_FEE = 8;
const RECORD_BOOKED_AT = 9;
const RECORD_REFUND_REF = 10;
const MONEY_CURRENCY = 1;
const MONEY_AMOUNT_MINOR = 2;
const TIMESTAMP_SECONDS = 1;
const TIMESTAMP_NANOS = 2;

/**
 * One encoded `SettlementRecord` as a ledger record: what `ledgerRecordOf(fromBinary(…))` gives,
 * the same checks and the same errors, without the intermediate messages. Proto3 semantics as
 * protobuf-es reads them: an absent scalar is its zero, an absent `amount` / `fee` /
 * `booked_at` is unset (amount: no currency, so it fails; fee: zero), a repeated scalar's last
 * value wins and a repeated message field merges; unknown fields are skipped, and so is a known
 * field of the wrong wire type. A truncated record throws (protobuf-es's reader does the bounds
 * checks).
 */
export function ledgerRecordFromWire(bytes: Uint8Array, businessDate: string, currencies: CurrencyTexts = new CurrencyTexts()): LedgerRecord {
  return plainRecordFromWire(bytes, businessDate, currencies) ?? generalRecordFromWire(bytes, businessDate, currencies);
}

/** `Buffer#utf8Slice`, which also reads a plain Uint8Array: a native copy, no TextDecoder call, no view. */
const utf8Slice = (Buffer.prototype as unknown as { utf8Slice(this: Uint8Array, start: number, end: number): string }).utf8Slice;

/** Bytes `start`…`end` as text when all are ASCII (every id settlement sends); undefined otherwise. */
function asciiAt(bytes: Uint8Array, start: number, end: number): string | undefined {
  if (end === start) return "";
  for (let i = start; i < end; i++) if ((bytes[i] as number) >= 0x80) return undefined;
  return utf8Slice.call(bytes, start, end);
}

/** Scratch of {@link plainRecordFromWire}'s varint reads: the value and the position after it. */
let varintValue = 0;
let varintEnd = 0;

/**
 * Reads a varint at `at` into {@link varintValue} / {@link varintEnd}; false when it is not a
 * non-negative number below 2^53 inside `end` (a negative int64, a huge value, a truncation).
 */
function readVarint(bytes: Uint8Array, at: number, end: number): boolean {
  let value = 0;
  let scale = 1;
  for (let i = at; i < end && i < at + 8; i++) {
    const byte = bytes[i] as number;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      if (value > Number.MAX_SAFE_INTEGER) return false;
      varintValue = value;
      varintEnd = i + 1;
      return true;
    }
    scale *= 128;
  }
  return false;
}

/**
 * The record as settlement writes it, read without protobuf-es's reader: every field at most once,
 * known fields with their own wire types, ASCII ids, amounts and times of 0…2^53. Anything else —
 * an unknown or repeated field, a negative amount, a non-ASCII id, a truncation — is undefined,
 * and {@link generalRecordFromWire} reads the record with every rule of the format. On a day of a
 * million records the general reader's per-record reader object, TextDecoder calls and int64
 * conversions were most of the decode.
 */
function plainRecordFromWire(bytes: Uint8Array, businessDate: string, currencies: CurrencyTexts): LedgerRecord | undefined {
  let providerTransactionId = "";
  let paymentId = "";
  let refundRef = "";
  let kind = 0;
  let currencyText: string | undefined;
  let amountMinor = 0;
  let feeMinor = 0;
  let bookedAtMs: number | undefined;
  let seen = 0;
  const end = bytes.length;
  let at = 0;
  while (at < end) {
    const tag = bytes[at] as number;
    if (tag >= 0x80) return undefined;
    at++;
    const fieldNo = tag >>> 3;
    if ((seen & (1 << fieldNo)) !== 0) return undefined;
    seen |= 1 << fieldNo;
    const wireType = (tag & 7) as WireType;
    if (wireType === WireType.Varint) {
      if (!readVarint(bytes, at, end)) return undefined;
      at = varintEnd;
      if (fieldNo === RECORD_KIND) kind = varintValue;
      else if (fieldNo !== 1) return undefined; // provider, not read
      continue;
    }
    if (wireType !== WireType.LengthDelimited || !readVarint(bytes, at, end)) return undefined;
    const start = varintEnd;
    const fieldEnd = start + varintValue;
    if (fieldEnd > end) return undefined;
    at = fieldEnd;
    switch (fieldNo) {
      case RECORD_PROVIDER_TRANSACTION_ID:
      case RECORD_PAYMENT_ID:
      case RECORD_REFUND_REF: {
        const text = asciiAt(bytes, start, fieldEnd);
        if (text === undefined) return undefined;
        if (fieldNo === RECORD_PROVIDER_TRANSACTION_ID) providerTransactionId = text;
        else if (fieldNo === RECORD_PAYMENT_ID) paymentId = text;
        else refundRef = text;
        break;
      }
      case RECORD_AMOUNT:
      case RECORD_FEE: {
        // Money: currency (1, string) then amount_minor (2, varint), each at most once.
        let minor = 0;
        let currency = "";
        let moneySeen = 0;
        let p = start;
        while (p < fieldEnd) {
          const moneyTag = bytes[p++] as number;
          if (moneyTag === ((MONEY_CURRENCY << 3) | WireType.LengthDelimited) && (moneySeen & 1) === 0) {
            if (!readVarint(bytes, p, fieldEnd) || varintEnd + varintValue > fieldEnd) return undefined;
            const text = asciiAt(bytes, varintEnd, varintEnd + varintValue);
            if (text === undefined) return undefined;
            currency = text;
            p = varintEnd + varintValue;
            moneySeen |= 1;
          } else if (moneyTag === ((MONEY_AMOUNT_MINOR << 3) | WireType.Varint) && (moneySeen & 2) === 0) {
            if (!readVarint(bytes, p, fieldEnd)) return undefined;
            minor = varintValue;
            p = varintEnd;
            moneySeen |= 2;
          } else {
            return undefined;
          }
        }
        if (fieldNo === RECORD_AMOUNT) {
          amountMinor = minor;
          currencyText = currency;
        } else {
          feeMinor = minor;
        }
        break;
      }
      case RECORD_BOOKED_AT: {
        let seconds = 0;
        let nanos = 0;
        let timeSeen = 0;
        let p = start;
        while (p < fieldEnd) {
          const timeTag = bytes[p++] as number;
          const which = timeTag === ((TIMESTAMP_SECONDS << 3) | WireType.Varint) ? 1 : timeTag === ((TIMESTAMP_NANOS << 3) | WireType.Varint) ? 2 : 0;
          if (which === 0 || (timeSeen & which) !== 0 || !readVarint(bytes, p, fieldEnd)) return undefined;
          if (which === 1) seconds = varintValue;
          else if (varintValue > 0x7fffffff) return undefined;
          else nanos = varintValue;
          p = varintEnd;
          timeSeen |= which;
        }
        // As protobuf-es's `timestampMs`.
        bookedAtMs = seconds * 1000 + Math.round(nanos / 1_000_000);
        if (!Number.isSafeInteger(bookedAtMs)) return undefined;
        break;
      }
      case 4:
      case 5:
      case 11:
        break; // merchant id, merchant order ref, original provider transaction id: not read
      default:
        return undefined;
    }
  }
  return ledgerRecordFrom(providerTransactionId, paymentId, refundRef, kind, currencyText, BigInt(amountMinor), BigInt(feeMinor), bookedAtMs, businessDate, currencies);
}

/** {@link ledgerRecordFromWire} by protobuf-es's reader, for any record the format allows. */
function generalRecordFromWire(bytes: Uint8Array, businessDate: string, currencies: CurrencyTexts): LedgerRecord {
  const reader = new BinaryReader(bytes);
  let providerTransactionId = "";
  let paymentId = "";
  let refundRef = "";
  let kind = 0;
  let currencyText: string | undefined;
  let amountMinor = 0n;
  let feeMinor = 0n;
  let bookedAtSeconds: number | undefined;
  let bookedAtNanos = 0;
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const fieldNo = tag >>> 3;
    const wireType = (tag & 7) as WireType;
    if (fieldNo === RECORD_PROVIDER_TRANSACTION_ID && wireType === WireType.LengthDelimited) providerTransactionId = reader.string();
    else if (fieldNo === RECORD_PAYMENT_ID && wireType === WireType.LengthDelimited) paymentId = reader.string();
    else if (fieldNo === RECORD_KIND && wireType === WireType.Varint) kind = reader.int32();
    else if (fieldNo === RECORD_REFUND_REF && wireType === WireType.LengthDelimited) refundRef = reader.string();
    else if ((fieldNo === RECORD_AMOUNT || fieldNo === RECORD_FEE) && wireType === WireType.LengthDelimited) {
      const end = reader.uint32() + reader.pos;
      let minor = fieldNo === RECORD_AMOUNT ? amountMinor : feeMinor;
      if (fieldNo === RECORD_AMOUNT) currencyText ??= "";
      while (reader.pos < end) {
        const moneyTag = reader.uint32();
        const moneyWireType = (moneyTag & 7) as WireType;
        if (moneyTag >>> 3 === MONEY_CURRENCY && moneyWireType === WireType.LengthDelimited) {
          const text = reader.string();
          if (fieldNo === RECORD_AMOUNT) currencyText = text;
        } else if (moneyTag >>> 3 === MONEY_AMOUNT_MINOR && moneyWireType === WireType.Varint) {
          minor = BigInt(reader.int64());
        } else {
          reader.skip(moneyWireType, moneyTag >>> 3);
        }
      }
      if (reader.pos !== end) throw new Error("premature EOF");
      if (fieldNo === RECORD_AMOUNT) amountMinor = minor;
      else feeMinor = minor;
    } else if (fieldNo === RECORD_BOOKED_AT && wireType === WireType.LengthDelimited) {
      const end = reader.uint32() + reader.pos;
      // Set even when empty (a Timestamp of zero); a later copy merges into the earlier one.
      bookedAtSeconds ??= 0;
      while (reader.pos < end) {
        const timeTag = reader.uint32();
        const timeWireType = (timeTag & 7) as WireType;
        if (timeTag >>> 3 === TIMESTAMP_SECONDS && timeWireType === WireType.Varint) bookedAtSeconds = Number(reader.int64());
        else if (timeTag >>> 3 === TIMESTAMP_NANOS && timeWireType === WireType.Varint) bookedAtNanos = reader.int32();
        else reader.skip(timeWireType, timeTag >>> 3);
      }
      if (reader.pos !== end) throw new Error("premature EOF");
    } else {
      reader.skip(wireType, fieldNo);
    }
  }
  // As protobuf-es's `timestampMs`.
  const bookedAtMs = bookedAtSeconds === undefined ? undefined : bookedAtSeconds * 1000 + Math.round(bookedAtNanos / 1_000_000);
  return ledgerRecordFrom(providerTransactionId, paymentId, refundRef, kind, currencyText, amountMinor, feeMinor, bookedAtMs, businessDate, currencies);
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
  return ledgerRecordFrom(
    record.providerTransactionId,
    record.paymentId,
    record.refundRef,
    record.kind,
    record.amount?.currency,
    record.amount?.amountMinor ?? 0n,
    record.fee?.amountMinor ?? 0n,
    record.bookedAt === undefined ? undefined : timestampMs(record.bookedAt),
    businessDate,
    currencies,
  );
}

/** A record as errors name it (built only for an error: a closure per record cost a defineProperty under tsx). */
function recordName(paymentId: string, providerTransactionId: string): string {
  return `settlement record ${paymentId}/${providerTransactionId}`;
}

/**
 * The mapping both readers share, from the fields the match uses (`currencyText` undefined when
 * the record has no `amount`, `bookedAtMs` when it has no `booked_at`): positional, so the wire
 * reader builds nothing but the ledger record.
 */
function ledgerRecordFrom(
  providerTransactionId: string,
  paymentId: string,
  refundRef: string,
  kind: RecordKind,
  currencyText: string | undefined,
  amountMinor: bigint,
  feeMinor: bigint,
  bookedAtMs: number | undefined,
  businessDate: string,
  currencies: CurrencyTexts,
): LedgerRecord {
  const currency = currencies.of(currencyText ?? "");
  if (currency === undefined) throw new Error(`${recordName(paymentId, providerTransactionId)}: currency ${JSON.stringify(currencyText)} is not ISO 4217`);
  if (bookedAtMs === undefined) throw new Error(`${recordName(paymentId, providerTransactionId)}: no booked_at`);
  switch (kind) {
    case RecordKind.PAYMENT:
      return {
        recordId: `payment:${paymentId}:${providerTransactionId}`,
        kind: "payment",
        providerTxnId: providerTransactionId,
        merchantOrderRef: paymentId,
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
        recordId: `refund:${paymentId}:${providerTransactionId}`,
        kind: "refund",
        providerTxnId: "",
        merchantOrderRef: paymentId,
        providerRefundId: providerTransactionId,
        merchantRefundRef: refundRef,
        amountMinor: -amountMinor,
        feeMinor: -feeMinor,
        currency,
        status: "refund_succeeded",
        bookedAtMs,
        businessDate,
      };
    case RecordKind.UNSPECIFIED:
      throw new Error(`${recordName(paymentId, providerTransactionId)}: kind unspecified`);
    default:
      throw new Error(`${recordName(paymentId, providerTransactionId)}: unknown kind ${String(kind)}`);
  }
}

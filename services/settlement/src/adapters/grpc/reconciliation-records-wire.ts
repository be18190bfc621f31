import { StreamPaymentsForReconciliationResponseSchema } from "@tributary/contracts/settlement/v1/settlement_service";
import { encodedMessage, type EncodedMessage } from "@tributary/grpc";

/**
 * `StreamPaymentsForReconciliationResponse` messages written straight from Postgres's binary COPY
 * of the day's records (db/pg-records-copy.ts), without JS strings or protobuf-es objects: a
 * reconciliation worker streams a million records a day, and reading rows through node-postgres,
 * making a `SettlementRecord` (two `Money`, a `Timestamp`) per record and `toBinary` cost
 * settlement ~12–17 µs of CPU a record, more than the worker's whole parse. Text fields are copied
 * byte for byte (COPY's binary text is UTF-8, as protobuf's strings). The bytes are exactly what
 * `toBinary(create(…))` writes for the same record (field order, proto3 defaults left out, both
 * `Money` always present, `booked_at` to the millisecond as StreamRecords sends it);
 * reconciliation-records-wire.test.ts compares them byte for byte.
 */

/**
 * Records per message. A record is about 120 bytes on the wire, so a full message is ~120 kB:
 * per-message costs (HTTP/2 frame, grpc-js stream write, the client's async iteration) are paid
 * once per thousand records instead of once per record.
 */
export const RECORDS_CHUNK_MAX = 1000;

/** Encoded bytes per message at most (far below grpc-js's 4 MiB default receive limit). */
export const RECORDS_CHUNK_BYTES_MAX = 1 << 20;

/** PGCOPY binary's signature, flags and header-extension length: 11 + 4 + 4 bytes. */
const COPY_SIGNATURE = Buffer.from("PGCOPY\n\xff\r\n\0", "latin1");
const COPY_FIELDS = 10;
/** 2000-01-01T00:00:00Z (PG's timestamp epoch) in Unix milliseconds. */
const PG_EPOCH_MS = 946_684_800_000;
const TWO_32 = 4_294_967_296;

function varintSize(value: number): number {
  let size = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    size += 1;
  }
  return size;
}

/** Size of an int64 field's varint: 10 bytes for a negative value (two's complement). */
function int64Size(value: number | bigint): number {
  if (typeof value === "number") return varintSize(value);
  let v = BigInt.asUintN(64, value);
  let size = 1;
  while (v >= 128n) {
    v >>= 7n;
    size += 1;
  }
  return size;
}

/** A big-endian int8 as a Number when it is a non-negative safe integer, else a BigInt. */
function readInt8(bytes: Buffer, at: number): number | bigint {
  const high = bytes.readUInt32BE(at);
  if (high < 0x200000) return high * TWO_32 + bytes.readUInt32BE(at + 4);
  return bytes.readBigInt64BE(at);
}

function isZero(value: number | bigint): boolean {
  return value === 0 || value === 0n;
}

function lengthDelimitedSize(length: number): number {
  return 1 + varintSize(length) + length;
}

/** Where one tuple's fields are in the input: start and length per field, -1 for NULL. */
interface Tuple {
  readonly starts: Int32Array;
  readonly lengths: Int32Array;
}

class MessageWriter {
  private bytes: Buffer;
  private offset = 0;
  count = 0;

  constructor(private readonly capacity: number) {
    this.bytes = Buffer.allocUnsafe(capacity);
  }

  get size(): number {
    return this.offset;
  }

  /** Room for `bytes` more; a record larger than the buffer gets a buffer of its own size. */
  reserve(bytes: number): void {
    if (this.offset + bytes <= this.bytes.length) return;
    const larger = Buffer.allocUnsafe(Math.max(this.capacity, this.offset + bytes));
    this.bytes.copy(larger, 0, 0, this.offset);
    this.bytes = larger;
  }

  /** The message so far (a copy), and an empty writer again. */
  take(): Buffer {
    const message = Buffer.from(this.bytes.subarray(0, this.offset));
    this.offset = 0;
    this.count = 0;
    if (this.bytes.length > this.capacity) this.bytes = Buffer.allocUnsafe(this.capacity);
    return message;
  }

  byte(value: number): void {
    this.bytes[this.offset++] = value;
  }

  varint(value: number): void {
    while (value >= 128) {
      this.bytes[this.offset++] = (value % 128) | 128;
      value = Math.floor(value / 128);
    }
    this.bytes[this.offset++] = value;
  }

  int64(value: number | bigint): void {
    if (typeof value === "number") {
      this.varint(value);
      return;
    }
    let v = BigInt.asUintN(64, value);
    while (v >= 128n) {
      this.bytes[this.offset++] = Number(v & 127n) | 128;
      v >>= 7n;
    }
    this.bytes[this.offset++] = Number(v);
  }

  /** A length-delimited field copied from `source` (omitted when empty, as proto3 does). */
  copied(tag: number, source: Buffer, start: number, length: number): void {
    if (length <= 0) return;
    this.bytes[this.offset++] = tag;
    this.varint(length);
    if (length <= 48) {
      // Ids are short: a byte loop beats Buffer#copy's native call for them (measured).
      const bytes = this.bytes;
      let o = this.offset;
      for (let i = start, end = start + length; i < end; i += 1) bytes[o++] = source[i]!;
      this.offset = o;
    } else {
      source.copy(this.bytes, this.offset, start, start + length);
      this.offset += length;
    }
  }

  utf8(tag: number, text: string, length: number): void {
    if (length === 0) return;
    this.bytes[this.offset++] = tag;
    this.varint(length);
    this.offset += this.bytes.write(text, this.offset, length, "utf8");
  }
}

/** The provider transaction id of each refunded payment, by our payment id (refunds' field 11). */
export type RefundedPaymentReferences = ReadonlyMap<string, string>;

/**
 * Turns the binary COPY of a provider's day into response messages of at most
 * {@link RECORDS_CHUNK_MAX} records and {@link RECORDS_CHUNK_BYTES_MAX} bytes each (a single
 * record larger than that still goes, alone), never empty, in the COPY's order. `provider` is the
 * proto enum number of the day's provider (every record's field 1). A stream that is not a
 * complete PGCOPY binary of the expected fields is an error, never a short day.
 */
export async function* recordsResponsesFromCopy(
  chunks: AsyncIterable<Buffer>,
  provider: number,
  refunded: RefundedPaymentReferences,
): AsyncGenerator<EncodedMessage<typeof StreamPaymentsForReconciliationResponseSchema>> {
  const message = new MessageWriter(Math.min(RECORDS_CHUNK_BYTES_MAX, 256 * 1024));
  const tuple: Tuple = { starts: new Int32Array(COPY_FIELDS), lengths: new Int32Array(COPY_FIELDS) };
  let input: Buffer = Buffer.alloc(0);
  let at = 0;
  let headerRead = false;
  let trailerRead = false;
  for await (const chunk of chunks) {
    input = at < input.length ? Buffer.concat([input.subarray(at), chunk]) : chunk;
    at = 0;
    if (!headerRead) {
      if (input.length < COPY_SIGNATURE.length + 8) continue;
      if (!input.subarray(0, COPY_SIGNATURE.length).equals(COPY_SIGNATURE)) throw new Error("records COPY: not a PGCOPY binary stream");
      const extension = input.readUInt32BE(COPY_SIGNATURE.length + 4);
      if (input.length < COPY_SIGNATURE.length + 8 + extension) continue;
      at = COPY_SIGNATURE.length + 8 + extension;
      headerRead = true;
    }
    for (;;) {
      if (trailerRead) {
        if (at < input.length) throw new Error("records COPY: bytes after the trailer");
        break;
      }
      const end = readTuple(input, at, tuple);
      if (end === undefined) break;
      at = end;
      if (end === -1) {
        trailerRead = true;
        at = input.length;
        continue;
      }
      const ready = addRecord(message, input, tuple, provider, refunded);
      if (ready !== undefined) yield encodedMessage(StreamPaymentsForReconciliationResponseSchema, ready);
    }
  }
  if (!trailerRead) throw new Error("records COPY: the stream ended before its trailer");
  if (message.count > 0) yield encodedMessage(StreamPaymentsForReconciliationResponseSchema, message.take());
}

/**
 * Reads one tuple at `at` into `tuple`: its end, -1 past the trailer, or undefined when the input
 * does not hold the whole tuple yet.
 */
function readTuple(input: Buffer, at: number, tuple: Tuple): number | undefined {
  if (at + 2 > input.length) return undefined;
  const fields = input.readInt16BE(at);
  if (fields === -1) return -1;
  if (fields !== COPY_FIELDS) throw new Error(`records COPY: a tuple of ${fields} fields, expected ${COPY_FIELDS}`);
  let p = at + 2;
  for (let i = 0; i < COPY_FIELDS; i += 1) {
    if (p + 4 > input.length) return undefined;
    const length = input.readInt32BE(p);
    p += 4;
    tuple.starts[i] = p;
    tuple.lengths[i] = length;
    if (length > 0) p += length;
    if (p > input.length) return undefined;
  }
  return p;
}

/** Field lengths of a tuple, fixed-width ones checked. */
function checkFixed(tuple: Tuple): void {
  if (tuple.lengths[0] !== 2 || tuple.lengths[7] !== 8 || tuple.lengths[8] !== 8 || tuple.lengths[9] !== 8) {
    throw new Error("records COPY: a kind, amount, fee or booked_at field of the wrong width (or NULL)");
  }
}

function textLength(tuple: Tuple, field: number): number {
  const length = tuple.lengths[field]!;
  return length > 0 ? length : 0;
}

function moneySize(currencyLength: number, value: number | bigint): number {
  return (currencyLength === 0 ? 0 : lengthDelimitedSize(currencyLength)) + (isZero(value) ? 0 : 1 + int64Size(value));
}

function writeMoney(message: MessageWriter, tag: number, size: number, input: Buffer, tuple: Tuple, currencyLength: number, value: number | bigint): void {
  message.byte(tag);
  message.varint(size);
  message.copied(0x0a, input, tuple.starts[6]!, currencyLength);
  if (!isZero(value)) {
    message.byte(0x10);
    message.int64(value);
  }
}

/**
 * Adds one record to the message; when the message is full first, returns it (taken) and starts
 * the next with this record. No allocation per record on the payment path (this runs a million
 * times a day).
 */
function addRecord(message: MessageWriter, input: Buffer, tuple: Tuple, provider: number, refunded: RefundedPaymentReferences): Buffer | undefined {
  checkFixed(tuple);
  const starts = tuple.starts;
  const kind = input.readInt16BE(starts[0]);
  const amount = readInt8(input, starts[7]!);
  const fee = readInt8(input, starts[8]!);
  const bookedUs = readInt8(input, starts[9]!);
  const ms = typeof bookedUs === "number" ? Math.floor(bookedUs / 1000) + PG_EPOCH_MS : Number(bookedUs / 1000n - (bookedUs < 0n && bookedUs % 1000n !== 0n ? 1n : 0n)) + PG_EPOCH_MS;
  const seconds = Math.floor(ms / 1000);
  const nanos = (ms - seconds * 1000) * 1_000_000;
  const txnLength = textLength(tuple, 1);
  const paymentLength = textLength(tuple, 2);
  const merchantLength = textLength(tuple, 3);
  const orderRefLength = textLength(tuple, 4);
  const refundRefLength = textLength(tuple, 5);
  const currencyLength = textLength(tuple, 6);
  // Refunds: the refunded payment's provider transaction id, from the day's map.
  const original = kind === 2 ? (refunded.get(input.toString("utf8", starts[2], starts[2]! + paymentLength)) ?? "") : "";
  const originalLength = original === "" ? 0 : Buffer.byteLength(original, "utf8");

  const amountSize = moneySize(currencyLength, amount);
  const feeSize = moneySize(currencyLength, fee);
  const secondsValue = seconds < 0 ? BigInt(seconds) : seconds;
  const timestampSize = (seconds === 0 ? 0 : 1 + int64Size(secondsValue)) + (nanos === 0 ? 0 : 1 + varintSize(nanos));
  let size = provider === 0 ? 0 : 1 + varintSize(provider);
  if (txnLength > 0) size += lengthDelimitedSize(txnLength);
  if (paymentLength > 0) size += lengthDelimitedSize(paymentLength);
  if (merchantLength > 0) size += lengthDelimitedSize(merchantLength);
  if (orderRefLength > 0) size += lengthDelimitedSize(orderRefLength);
  if (kind !== 0) size += 1 + varintSize(kind);
  size += lengthDelimitedSize(amountSize) + lengthDelimitedSize(feeSize) + lengthDelimitedSize(timestampSize);
  if (refundRefLength > 0) size += lengthDelimitedSize(refundRefLength);
  if (originalLength > 0) size += lengthDelimitedSize(originalLength);
  const total = lengthDelimitedSize(size);

  let full: Buffer | undefined;
  if (message.count > 0 && (message.count === RECORDS_CHUNK_MAX || message.size + total > RECORDS_CHUNK_BYTES_MAX)) full = message.take();
  message.reserve(total);
  message.byte(0x0a); // StreamPaymentsForReconciliationResponse.records = 1
  message.varint(size);
  if (provider !== 0) {
    message.byte(0x08);
    message.varint(provider);
  }
  message.copied(0x12, input, starts[1]!, txnLength); // provider_transaction_id = 2
  message.copied(0x1a, input, starts[2]!, paymentLength); // payment_id = 3
  message.copied(0x22, input, starts[3]!, merchantLength); // merchant_id = 4
  message.copied(0x2a, input, starts[4]!, orderRefLength); // merchant_order_ref = 5
  if (kind !== 0) {
    message.byte(0x30); // kind = 6
    message.varint(kind);
  }
  writeMoney(message, 0x3a, amountSize, input, tuple, currencyLength, amount); // amount = 7
  writeMoney(message, 0x42, feeSize, input, tuple, currencyLength, fee); // fee = 8
  message.byte(0x4a); // booked_at = 9
  message.varint(timestampSize);
  if (seconds !== 0) {
    message.byte(0x08);
    message.int64(secondsValue);
  }
  if (nanos !== 0) {
    message.byte(0x10);
    message.varint(nanos);
  }
  message.copied(0x52, input, starts[5]!, refundRefLength); // refund_ref = 10
  message.utf8(0x5a, original, originalLength); // original_provider_transaction_id = 11
  message.count += 1;
  return full;
}

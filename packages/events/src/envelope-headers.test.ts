import { describe, expect, it } from "vitest";
import fc from "fast-check";
import type { IHeaders } from "kafkajs";
import { err, ok, type Result } from "@tributary/result";
import {
  createEnvelopeReader,
  envelopeHeaders,
  kafkaHeadersGetter,
  kafkaHeadersToRecord,
  occurredAtMillisForTest,
  parseEnvelope,
  protobufContentType,
  type Envelope,
  type EnvelopeError,
  type EnvelopeFields,
  type EnvelopeReader,
} from "./envelope-headers.js";
import { newEventId } from "./new-event-id.js";

const envelope = {
  eventId: "0190f3c2-7b1a-7cc0-8d7e-1b2c3d4e5f60",
  eventType: "tributary.order.v1.OrderAccepted",
  schemaVersion: "1",
  producer: "order",
  occurredAt: new Date("2026-11-24T10:00:00.123Z"),
  contentType: protobufContentType,
};

describe("envelope headers", () => {
  it("writes the contract's header names as strings and reads them back", () => {
    const headers = envelopeHeaders(envelope);
    expect(headers).toEqual({
      "event-id": envelope.eventId,
      "event-type": "tributary.order.v1.OrderAccepted",
      "schema-version": "1",
      producer: "order",
      "occurred-at": "2026-11-24T10:00:00.123Z",
      "content-type": "application/x-protobuf",
    });
    expect(parseEnvelope(headers)).toEqual({ ok: true, value: envelope });
  });

  it("rejects a missing header by name", () => {
    const { ["event-type"]: _dropped, ...headers } = envelopeHeaders(envelope);
    expect(parseEnvelope(headers)).toEqual({ ok: false, error: { code: "missing_header", header: "event-type" } });
  });

  it.each([
    ["event-id", "not-a-uuid"],
    ["occurred-at", "2026-11-24 10:00"],
    ["occurred-at", "2026-11-24T10:00:00+01:00"],
    ["content-type", "application/json"],
  ])("rejects %s = %s", (header, value) => {
    const headers = { ...envelopeHeaders(envelope), [header]: value };
    expect(parseEnvelope(headers)).toEqual({ ok: false, error: { code: "invalid_header", header, value } });
  });

  it("flattens kafkajs headers, last value winning", () => {
    expect(
      kafkaHeadersToRecord({ a: Buffer.from("x"), b: "y", c: [Buffer.from("1"), Buffer.from("2")], d: undefined }),
    ).toEqual({ a: "x", b: "y", c: "2" });
    expect(kafkaHeadersToRecord(undefined)).toEqual({});
  });
});

/** kafkajs' shape of the envelope's headers: every value a Buffer. */
function asKafkaHeaders(headers: Readonly<Record<string, string>>): IHeaders {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, Buffer.from(value, "utf8")]));
}

/** The reader's answer in `parseEnvelope`'s shape, the time as a `Date`, to compare the two. */
function asResult(read: EnvelopeFields | EnvelopeError): Result<Envelope, EnvelopeError> {
  if ("code" in read) return err(read);
  const { occurredAtMs, ...fields } = read;
  return ok({ ...fields, occurredAt: new Date(occurredAtMs) });
}

/** A reader whose answers are in `parseEnvelope`'s shape. */
function resultReader(read: EnvelopeReader = createEnvelopeReader()): (headers: IHeaders | undefined) => Result<Envelope, EnvelopeError> {
  return (headers) => asResult(read(headers));
}

describe("the consumer's envelope reader", () => {
  const valid = asKafkaHeaders({ ...envelopeHeaders(envelope), traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" });
  const cases: [string, IHeaders | undefined][] = [
    ["a valid envelope", valid],
    ["string values", { ...envelopeHeaders(envelope) }],
    ["an upper-case event id", { ...valid, "event-id": Buffer.from(envelope.eventId.toUpperCase()) }],
    ["a repeated header (the last value wins)", { ...valid, producer: [Buffer.from("old"), Buffer.from("settlement")] }],
    ["a repeated header whose last value is invalid", { ...valid, "content-type": [Buffer.from(protobufContentType), Buffer.from("text/plain")] }],
    ["an empty repeated header", { ...valid, "schema-version": [] }],
    ["no headers", undefined],
    ["no event id", { ...valid, "event-id": undefined }],
    ["no occurred-at and no producer", { ...valid, "occurred-at": undefined, producer: undefined }],
    ["a bad event id", { ...valid, "event-id": Buffer.from("not-a-uuid") }],
    ["an event id with a non-hex digit", { ...valid, "event-id": Buffer.from("0190f3c2-7b1a-7cc0-8d7e-1b2c3d4e5f6g") }],
    ["an event id with a dash out of place", { ...valid, "event-id": Buffer.from("0190f3c27-b1a-7cc0-8d7e-1b2c3d4e5f60") }],
    ["an event id one byte long", { ...valid, "event-id": Buffer.from("0190f3c2-7b1a-7cc0-8d7e-1b2c3d4e5f601") }],
    ["an event id with multi-byte characters", { ...valid, "event-id": Buffer.from("0190f3c2-7b1a-7cc0-8d7e-1b2c3d4e5fé") }],
    ["a mixed-case event id", { ...valid, "event-id": Buffer.from("0190F3c2-7B1A-7cc0-8D7E-1b2C3d4e5f60") }],
    ["an upper-case event id as a string", { ...envelopeHeaders(envelope), "event-id": envelope.eventId.toUpperCase() }],
    ["a bad time", { ...valid, "occurred-at": Buffer.from("2026-13-24T10:00:00Z") }],
    ["a non-UTF-8 content type", { ...valid, "content-type": Buffer.from([0xff, 0xfe]) }],
    ["an empty event type", { ...valid, "event-type": Buffer.alloc(0) }],
    ["a non-ASCII producer", { ...valid, producer: Buffer.from("zahlungsverkehr-ä", "utf8") }],
  ];

  it.each(cases)("reads %s as parseEnvelope reads the flattened headers", (_name, headers) => {
    expect(resultReader()(headers)).toEqual(parseEnvelope(kafkaHeadersToRecord(headers)));
  });

  it("gives each message its own values when the repeated headers change between messages", () => {
    // One reader for all: a cached value must be handed out only for the same bytes.
    const read = resultReader();
    const types = ["tributary.order.v1.OrderAccepted", "tributary.order.v1.OrderPaid", "tributary.order.v1.OrderAccepted"];
    const producers = ["order", "order-x", "orde"];
    for (let i = 0; i < 9; i += 1) {
      const headers = asKafkaHeaders({ ...envelopeHeaders(envelope), "event-type": types[i % 3]!, producer: producers[(i * 2) % 3]! });
      const envelopeRead = read(headers);
      expect(envelopeRead).toEqual(parseEnvelope(kafkaHeadersToRecord(headers)));
      expect(envelopeRead.ok && envelopeRead.value.eventType).toBe(types[i % 3]);
      expect(envelopeRead.ok && envelopeRead.value.producer).toBe(producers[(i * 2) % 3]);
    }
  });

  it("does not keep a view of the message's bytes: a reused buffer does not change a cached value", () => {
    const read = resultReader();
    const headers = asKafkaHeaders(envelopeHeaders(envelope));
    const eventType = headers["event-type"] as Buffer;
    expect(read(headers)).toMatchObject({ ok: true, value: { eventType: envelope.eventType } });
    // kafkajs' Buffers are views of the fetch response; the next response may reuse that memory.
    eventType.write("tributary.order.v1.OrderRejected");
    const again = read(headers);
    expect(again).toEqual(parseEnvelope(kafkaHeadersToRecord(headers)));
    expect(again).toMatchObject({ ok: true, value: { eventType: "tributary.order.v1.OrderRejected" } });
  });

  it.each([
    ["no fraction", "2026-11-24T10:00:00Z"],
    ["one fraction digit", "2026-11-24T10:00:00.1Z"],
    ["two fraction digits", "2026-11-24T10:00:00.12Z"],
    ["six fraction digits (the string path)", "2026-11-24T10:00:00.123456Z"],
    ["24:00:00 (the string path)", "2026-11-24T24:00:00Z"],
    ["24:00:01", "2026-11-24T24:00:01Z"],
    ["February 30 (a day past the month, as V8 reads it)", "2026-02-30T00:00:00Z"],
    ["month 0", "2026-00-24T10:00:00Z"],
    ["day 0", "2026-11-00T10:00:00Z"],
    ["second 60", "2026-11-24T10:00:60Z"],
    ["a two-digit year (the string path)", "0050-11-24T10:00:00Z"],
    ["a dot without digits", "2026-11-24T10:00:00.Z"],
    ["a lower-case z", "2026-11-24T10:00:00.123z"],
    ["an offset", "2026-11-24T10:00:00.123+00:00"],
    ["a non-digit year", "2O26-11-24T10:00:00.123Z"],
  ])("reads an occurred-at with %s as parseEnvelope does", (_name, occurredAt) => {
    const headers = asKafkaHeaders({ ...envelopeHeaders(envelope), "occurred-at": occurredAt });
    expect(resultReader()(headers)).toEqual(parseEnvelope(kafkaHeadersToRecord(headers)));
  });

  it("reads every occurred-at on its bytes as the regex and new Date read its string", () => {
    const digits = (n: number) => fc.array(fc.constantFrom(..."0123456789"), { minLength: n, maxLength: n }).map((d) => d.join(""));
    // Mostly the shape producers write, with each field's digits free (so out of range too) and
    // now and then a byte that does not belong, or a fraction of another length.
    const part = (n: number) => fc.oneof({ weight: 9, arbitrary: digits(n) }, { weight: 1, arbitrary: fc.string({ minLength: n, maxLength: n }) });
    const sep = (c: string) => fc.oneof({ weight: 19, arbitrary: fc.constant(c) }, { weight: 1, arbitrary: fc.constantFrom("-", ":", "T", "Z", ".", " ", "t") });
    const fraction = fc.oneof(fc.constant(""), fc.integer({ min: 0, max: 7 }).chain((n) => digits(n)).map((d) => `.${d}`));
    const text = fc
      .tuple(part(4), sep("-"), part(2), sep("-"), part(2), sep("T"), part(2), sep(":"), part(2), sep(":"), part(2), fraction, sep("Z"))
      .map((pieces) => pieces.join(""));
    const stringPath = (t: string) => (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(t) ? new Date(t).getTime() : Number.NaN);
    fc.assert(
      fc.property(text, (t) => {
        expect(occurredAtMillisForTest(Buffer.from(t, "utf8"))).toBe(stringPath(t));
        expect(occurredAtMillisForTest(t)).toBe(stringPath(t));
      }),
      { numRuns: 20_000 },
    );
  });

  it("reads trace headers from kafkajs' values as the flattened record has them", () => {
    const headers: IHeaders = { ...valid, tracestate: [Buffer.from("a=1"), Buffer.from("b=2")], absent: undefined };
    const record = kafkaHeadersToRecord(headers);
    expect(kafkaHeadersGetter.keys(headers).sort()).toEqual(Object.keys(record).sort());
    for (const name of [...Object.keys(record), "absent", "missing"]) expect(kafkaHeadersGetter.get(headers, name)).toBe(record[name]);
    expect(kafkaHeadersGetter.keys(undefined)).toEqual([]);
    expect(kafkaHeadersGetter.get(undefined, "traceparent")).toBeUndefined();
  });
});

describe("newEventId", () => {
  it("is a version-7 RFC 9562 UUID, increasing in creation order", () => {
    const ids = Array.from({ length: 1_000 }, () => newEventId());
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

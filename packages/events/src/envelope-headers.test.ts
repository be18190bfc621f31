import { describe, expect, it } from "vitest";
import { envelopeHeaders, kafkaHeadersToRecord, parseEnvelope, protobufContentType } from "./envelope-headers.js";
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

describe("newEventId", () => {
  it("is a version-7 RFC 9562 UUID, increasing in creation order", () => {
    const ids = Array.from({ length: 1_000 }, () => newEventId());
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

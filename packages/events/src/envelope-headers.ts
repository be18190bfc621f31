import type { IHeaders } from "kafkajs";
import { err, ok, type Result } from "@tributary/result";

/**
 * The Kafka header names of the event envelope, as agreed in the events contract. All values
 * are strings; the key is the aggregate id and the value the protobuf bytes.
 */
export const envelopeHeaderNames = {
  eventId: "event-id",
  eventType: "event-type",
  schemaVersion: "schema-version",
  producer: "producer",
  occurredAt: "occurred-at",
  contentType: "content-type",
  traceparent: "traceparent",
  tracestate: "tracestate",
} as const;

/** The only content type we put on Kafka: the value is a binary protobuf message. */
export const protobufContentType = "application/x-protobuf";

/** The envelope of one event, read from or written to Kafka headers. */
export interface Envelope {
  /** UUIDv7: unique, and ordered by creation time. */
  readonly eventId: string;
  /** The protobuf full name, e.g. `tributary.order.v1.OrderAccepted`. */
  readonly eventType: string;
  readonly schemaVersion: string;
  /** The service that produced the event. */
  readonly producer: string;
  readonly occurredAt: Date;
  readonly contentType: string;
}

/** Why headers are not a valid envelope; such a message is dead-lettered, never guessed at. */
export type EnvelopeError =
  | { readonly code: "missing_header"; readonly header: string }
  | { readonly code: "invalid_header"; readonly header: string; readonly value: string };

/** Builds the string headers of an envelope (trace headers are added by the propagator). */
export function envelopeHeaders(envelope: Envelope): Record<string, string> {
  return {
    [envelopeHeaderNames.eventId]: envelope.eventId,
    [envelopeHeaderNames.eventType]: envelope.eventType,
    [envelopeHeaderNames.schemaVersion]: envelope.schemaVersion,
    [envelopeHeaderNames.producer]: envelope.producer,
    [envelopeHeaderNames.occurredAt]: envelope.occurredAt.toISOString(),
    [envelopeHeaderNames.contentType]: envelope.contentType,
  };
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const rfc3339Utc = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** The headers every envelope must carry, in the order their absence is reported. */
const requiredHeaders = [
  envelopeHeaderNames.eventId,
  envelopeHeaderNames.eventType,
  envelopeHeaderNames.schemaVersion,
  envelopeHeaderNames.producer,
  envelopeHeaderNames.occurredAt,
  envelopeHeaderNames.contentType,
] as const;

/** Reads an envelope from string headers; a missing or malformed field is an error value. */
export function parseEnvelope(headers: Readonly<Record<string, string>>): Result<Envelope, EnvelopeError> {
  // Runs for every consumed message: each header is read once, and nothing is allocated on the
  // happy path but the envelope, its date and its result.
  for (let i = 0; i < requiredHeaders.length; i += 1) {
    const header = requiredHeaders[i]!;
    if (headers[header] === undefined) return err({ code: "missing_header", header });
  }
  const names = envelopeHeaderNames;
  const eventId = headers[names.eventId]!;
  const occurredAtText = headers[names.occurredAt]!;
  const contentType = headers[names.contentType]!;
  if (!uuidPattern.test(eventId)) return err({ code: "invalid_header", header: names.eventId, value: eventId });
  const occurredAt = new Date(occurredAtText);
  if (!rfc3339Utc.test(occurredAtText) || Number.isNaN(occurredAt.getTime())) {
    return err({ code: "invalid_header", header: names.occurredAt, value: occurredAtText });
  }
  if (contentType !== protobufContentType) {
    return err({ code: "invalid_header", header: names.contentType, value: contentType });
  }
  return ok({
    eventId: eventId.toLowerCase(),
    eventType: headers[names.eventType]!,
    schemaVersion: headers[names.schemaVersion]!,
    producer: headers[names.producer]!,
    occurredAt,
    contentType,
  });
}

/**
 * Flattens kafkajs headers (Buffer, string, or arrays of them) to one string per name; for a
 * repeated header the last value wins, as in Kafka's own `lastHeader`.
 */
export function kafkaHeadersToRecord(headers: IHeaders | undefined): Record<string, string> {
  const record: Record<string, string> = {};
  if (headers === undefined) return record;
  // Runs for every consumed message: `for…in` over kafkajs' plain header object, without the
  // arrays `Object.entries` would allocate for each header.
  for (const name in headers) {
    if (!Object.hasOwn(headers, name)) continue;
    const value = headers[name];
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (last === undefined) continue;
    record[name] = typeof last === "string" ? last : last.toString("utf8");
  }
  return record;
}

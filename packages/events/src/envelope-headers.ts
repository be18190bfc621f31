import type { IHeaders } from "kafkajs";
import type { TextMapGetter } from "@opentelemetry/api";
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

/** One header's value as kafkajs gives it: a Buffer or string, an array of them for a repeated header. */
type KafkaHeaderValue = IHeaders[string];

/** The last value of a header (Kafka's `lastHeader`), undefined when absent. */
function lastValue(value: KafkaHeaderValue): Buffer | string | undefined {
  return Array.isArray(value) ? value[value.length - 1] : value;
}

/** A header value as a string, decoded as UTF-8 when kafkajs gives bytes. */
function headerText(value: Buffer | string): string {
  return typeof value === "string" ? value : value.toString("utf8");
}

/**
 * The last string decoded for one header, kept to be handed out again when the next message
 * carries the same bytes: event type, schema version, producer and content type repeat from one
 * message to the next, and a comparison of a few dozen bytes costs less than a new string that
 * lives as long as the event.
 */
interface RepeatedHeader {
  bytes: Buffer | undefined;
  text: string;
}

/** The string of a header value, the cached one if its bytes are those of the last decoded value. */
function repeatedText(cache: RepeatedHeader, value: Buffer | string): string {
  if (typeof value === "string") return value;
  const bytes = cache.bytes;
  if (bytes !== undefined && bytes.length === value.length) {
    let same = true;
    for (let i = 0; i < bytes.length; i += 1) {
      if (bytes[i] !== value[i]) {
        same = false;
        break;
      }
    }
    if (same) return cache.text;
  }
  // A copy: kafkajs' header Buffers are views of the whole fetch response, which a cached view would keep alive.
  cache.bytes = Buffer.from(value);
  cache.text = value.toString("utf8");
  return cache.text;
}

/** Whether a byte is an ASCII hex digit. */
function isHexByte(byte: number): boolean {
  return (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66) || (byte >= 0x41 && byte <= 0x46);
}

/**
 * An event id header in lower case if it is a UUID (the pattern `parseEnvelope` checks), else
 * undefined: checked on the bytes, which are then ASCII, so no UTF-8 decoding and no regex per message.
 */
function uuidText(value: Buffer | string): string | undefined {
  if (typeof value === "string") return uuidPattern.test(value) ? value.toLowerCase() : undefined;
  if (value.length !== 36) return undefined;
  let upper = false;
  for (let i = 0; i < 36; i += 1) {
    const byte = value[i]!;
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (byte !== 0x2d) return undefined;
    } else if (!isHexByte(byte)) {
      return undefined;
    } else if (byte >= 0x41 && byte <= 0x46) {
      upper = true;
    }
  }
  const text = value.toString("latin1", 0, 36);
  return upper ? text.toLowerCase() : text;
}

/**
 * Reads the envelope straight from kafkajs' header values; the result is the one
 * `parseEnvelope(kafkaHeadersToRecord(headers))` gives, errors included, without copying every
 * header to a string first.
 */
export type EnvelopeReader = (headers: IHeaders | undefined) => Result<Envelope, EnvelopeError>;

/**
 * Makes an {@link EnvelopeReader} for one consumer. Internal to the idempotent consumer, which reads
 * an envelope for every message it consumes: the record of all headers is built only when a handler
 * asks for it, and the headers that repeat between messages are decoded once while they do.
 */
export function createEnvelopeReader(): EnvelopeReader {
  const eventTypes: RepeatedHeader = { bytes: undefined, text: "" };
  const schemaVersions: RepeatedHeader = { bytes: undefined, text: "" };
  const producers: RepeatedHeader = { bytes: undefined, text: "" };
  const contentTypes: RepeatedHeader = { bytes: undefined, text: "" };
  const names = envelopeHeaderNames;
  return (headers) => {
    const eventIdValue = headers === undefined ? undefined : lastValue(headers[names.eventId]);
    const eventTypeValue = headers === undefined ? undefined : lastValue(headers[names.eventType]);
    const schemaVersionValue = headers === undefined ? undefined : lastValue(headers[names.schemaVersion]);
    const producerValue = headers === undefined ? undefined : lastValue(headers[names.producer]);
    const occurredAtValue = headers === undefined ? undefined : lastValue(headers[names.occurredAt]);
    const contentTypeValue = headers === undefined ? undefined : lastValue(headers[names.contentType]);
    // Missing headers are reported in the order of `requiredHeaders`, as `parseEnvelope` does.
    if (eventIdValue === undefined) return err({ code: "missing_header", header: names.eventId });
    if (eventTypeValue === undefined) return err({ code: "missing_header", header: names.eventType });
    if (schemaVersionValue === undefined) return err({ code: "missing_header", header: names.schemaVersion });
    if (producerValue === undefined) return err({ code: "missing_header", header: names.producer });
    if (occurredAtValue === undefined) return err({ code: "missing_header", header: names.occurredAt });
    if (contentTypeValue === undefined) return err({ code: "missing_header", header: names.contentType });
    const eventId = uuidText(eventIdValue);
    if (eventId === undefined) return err({ code: "invalid_header", header: names.eventId, value: headerText(eventIdValue) });
    const occurredAtText = headerText(occurredAtValue);
    const occurredAt = new Date(occurredAtText);
    if (!rfc3339Utc.test(occurredAtText) || Number.isNaN(occurredAt.getTime())) {
      return err({ code: "invalid_header", header: names.occurredAt, value: occurredAtText });
    }
    const contentType = repeatedText(contentTypes, contentTypeValue);
    if (contentType !== protobufContentType) {
      return err({ code: "invalid_header", header: names.contentType, value: contentType });
    }
    return ok({
      eventId,
      eventType: repeatedText(eventTypes, eventTypeValue),
      schemaVersion: repeatedText(schemaVersions, schemaVersionValue),
      producer: repeatedText(producers, producerValue),
      occurredAt,
      contentType,
    });
  };
}

/**
 * Reads trace context straight from kafkajs' header values (the last value of a repeated header,
 * as {@link kafkaHeadersToRecord} keeps it), so that extracting the producer's span does not build
 * the record of every header. Internal to the idempotent consumer.
 */
export const kafkaHeadersGetter: TextMapGetter<IHeaders | undefined> = {
  keys(carrier) {
    const keys: string[] = [];
    if (carrier === undefined) return keys;
    for (const name in carrier) {
      if (Object.hasOwn(carrier, name) && lastValue(carrier[name]) !== undefined) keys.push(name);
    }
    return keys;
  },
  get(carrier, key) {
    if (carrier === undefined || !Object.hasOwn(carrier, key)) return undefined;
    const value = lastValue(carrier[key]);
    return value === undefined ? undefined : headerText(value);
  },
};

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

/**
 * An event id header in lower case if it is a UUID (the pattern `parseEnvelope` checks), else
 * undefined. Bytes are decoded as latin1, one character per byte, so a byte outside ASCII becomes a
 * character the pattern refuses, as the pattern refuses what UTF-8 decoding would make of it; and
 * no UTF-8 decoding is spent on the ids, which are ASCII when valid.
 */
function uuidText(value: Buffer | string): string | undefined {
  if (typeof value !== "string") {
    if (value.length !== 36) return undefined;
    value = value.toString("latin1", 0, 36);
  }
  // toLowerCase hands back the string itself when it has no upper-case letter (the usual case).
  return uuidPattern.test(value) ? value.toLowerCase() : undefined;
}

/**
 * A valid envelope as the consumer's reader gives it: {@link Envelope}'s fields, but the time as
 * epoch milliseconds, so that the consumer builds a `Date` only when a handler reads one (a `Date`
 * is one of the larger objects per event, and lives as long as the event's transaction).
 */
export interface EnvelopeFields {
  readonly eventId: string;
  readonly eventType: string;
  readonly schemaVersion: string;
  readonly producer: string;
  /** `occurredAt.getTime()` of the envelope `parseEnvelope` reads. */
  readonly occurredAtMs: number;
  readonly contentType: string;
}

/**
 * Reads the envelope straight from kafkajs' header values: what `parseEnvelope(kafkaHeadersToRecord(headers))`
 * gives, errors included (an error is told by its `code`), without copying every header to a
 * string first and without a result wrapper per message.
 */
export type EnvelopeReader = (headers: IHeaders | undefined) => EnvelopeFields | EnvelopeError;

/** The value of two ASCII digits at `at`, or -1 if either byte is not a digit. */
function twoDigits(bytes: Buffer, at: number): number {
  const tens = bytes[at]! - 0x30;
  const ones = bytes[at + 1]! - 0x30;
  return tens >= 0 && tens <= 9 && ones >= 0 && ones <= 9 ? tens * 10 + ones : -1;
}

/**
 * The epoch milliseconds of an `occurred-at` value in the form our producers write
 * (`toISOString()`: `YYYY-MM-DDTHH:MM:SS[.f{1,3}]Z`) with every field in its plain range, read on
 * the bytes; undefined for anything else, which then takes the string path (the regex and
 * `new Date`), so that the edge cases V8's parser decides (24:00:00, more than three fraction
 * digits, two-digit years, which `Date.UTC` would move to the 1900s) are decided by it as before.
 * In range, `Date.UTC` and V8's ISO parser agree, day overflow included (Feb 30 is Mar 2 in both);
 * a property test holds them to that.
 */
function utcMillisOfBytes(bytes: Buffer): number | undefined {
  const length = bytes.length;
  if (length !== 20 && (length < 22 || length > 24)) return undefined;
  if (bytes[4] !== 0x2d || bytes[7] !== 0x2d || bytes[10] !== 0x54 || bytes[13] !== 0x3a || bytes[16] !== 0x3a || bytes[length - 1] !== 0x5a) {
    return undefined;
  }
  const century = twoDigits(bytes, 0);
  const yearOfCentury = twoDigits(bytes, 2);
  const month = twoDigits(bytes, 5);
  const day = twoDigits(bytes, 8);
  const hour = twoDigits(bytes, 11);
  const minute = twoDigits(bytes, 14);
  const second = twoDigits(bytes, 17);
  if (century < 1 || yearOfCentury < 0 || month < 1 || month > 12 || day < 1 || day > 31) return undefined;
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return undefined;
  let millisecond = 0;
  if (length > 20) {
    if (bytes[19] !== 0x2e) return undefined;
    // One to three fraction digits: .1 is 100 ms, .12 is 120 ms, .123 is 123 ms.
    for (let i = 20, scale = 100; i < length - 1; i += 1, scale /= 10) {
      const digit = bytes[i]! - 0x30;
      if (digit < 0 || digit > 9) return undefined;
      millisecond += digit * scale;
    }
  }
  return Date.UTC(century * 100 + yearOfCentury, month - 1, day, hour, minute, second, millisecond);
}

/** The epoch milliseconds of an `occurred-at` value, NaN when `parseEnvelope` would refuse it. */
function occurredAtMillis(value: Buffer | string): number {
  if (typeof value !== "string") {
    const fast = utcMillisOfBytes(value);
    if (fast !== undefined) return fast;
  }
  const text = headerText(value);
  return rfc3339Utc.test(text) ? new Date(text).getTime() : Number.NaN;
}

/**
 * `occurredAtMillis`, for the tests: the byte path and the string path must agree with
 * `parseEnvelope` on every input. Internal.
 */
export const occurredAtMillisForTest = occurredAtMillis;

/**
 * Makes an {@link EnvelopeReader} for one consumer. Internal to the idempotent consumer, which reads
 * an envelope for every message it consumes: the record of all headers is built only when a handler
 * asks for it, the headers that repeat between messages are decoded once while they do, and the
 * time is read on its bytes.
 */
export function createEnvelopeReader(): EnvelopeReader {
  const eventTypes: RepeatedHeader = { bytes: undefined, text: "" };
  const schemaVersions: RepeatedHeader = { bytes: undefined, text: "" };
  const producers: RepeatedHeader = { bytes: undefined, text: "" };
  const contentTypes: RepeatedHeader = { bytes: undefined, text: "" };
  const names = envelopeHeaderNames;
  return (headers) => {
    if (headers === undefined) return { code: "missing_header", header: names.eventId };
    const eventIdValue = lastValue(headers[names.eventId]);
    const eventTypeValue = lastValue(headers[names.eventType]);
    const schemaVersionValue = lastValue(headers[names.schemaVersion]);
    const producerValue = lastValue(headers[names.producer]);
    const occurredAtValue = lastValue(headers[names.occurredAt]);
    const contentTypeValue = lastValue(headers[names.contentType]);
    // Missing headers are reported in the order of `requiredHeaders`, as `parseEnvelope` does.
    if (eventIdValue === undefined) return { code: "missing_header", header: names.eventId };
    if (eventTypeValue === undefined) return { code: "missing_header", header: names.eventType };
    if (schemaVersionValue === undefined) return { code: "missing_header", header: names.schemaVersion };
    if (producerValue === undefined) return { code: "missing_header", header: names.producer };
    if (occurredAtValue === undefined) return { code: "missing_header", header: names.occurredAt };
    if (contentTypeValue === undefined) return { code: "missing_header", header: names.contentType };
    const eventId = uuidText(eventIdValue);
    if (eventId === undefined) return { code: "invalid_header", header: names.eventId, value: headerText(eventIdValue) };
    const occurredAtMs = occurredAtMillis(occurredAtValue);
    if (Number.isNaN(occurredAtMs)) return { code: "invalid_header", header: names.occurredAt, value: headerText(occurredAtValue) };
    const contentType = repeatedText(contentTypes, contentTypeValue);
    if (contentType !== protobufContentType) return { code: "invalid_header", header: names.contentType, value: contentType };
    return {
      eventId,
      eventType: repeatedText(eventTypes, eventTypeValue),
      schemaVersion: repeatedText(schemaVersions, schemaVersionValue),
      producer: repeatedText(producers, producerValue),
      occurredAtMs,
      contentType,
    };
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

import type { TraceSpan, TraceSpanKind, TraceSpanLink, TraceSpanStatus } from "./trace-span.js";

/**
 * Decodes one OTLP/JSON `ExportTraceServiceRequest` (`{ resourceSpans: [...] }`) into spans.
 * It accepts both spellings the OTLP JSON encoding allows: enums as numbers or names, 64-bit
 * integers as numbers or strings. Ids are hex, as the encoding requires. A value that is not a
 * trace request at all is reported as a string, never half-decoded.
 */
export function decodeOtlpJsonTraces(request: unknown): TraceSpan[] | string {
  const resourceSpans = field(request, "resourceSpans");
  if (!Array.isArray(resourceSpans)) return "not an OTLP trace request (no resourceSpans array)";
  const spans: TraceSpan[] = [];
  for (const resourceSpan of resourceSpans) {
    const serviceName = stringAttribute(field(field(resourceSpan, "resource"), "attributes"), "service.name") ?? "unknown_service";
    for (const scopeSpan of arrayField(resourceSpan, "scopeSpans")) {
      for (const span of arrayField(scopeSpan, "spans")) {
        const decoded = decodeSpan(span, serviceName);
        if (typeof decoded === "string") return decoded;
        spans.push(decoded);
      }
    }
  }
  return spans;
}

function decodeSpan(span: unknown, serviceName: string): TraceSpan | string {
  const traceId = hexId(field(span, "traceId"), 32);
  const spanId = hexId(field(span, "spanId"), 16);
  if (traceId === undefined || spanId === undefined) return "a span without a valid traceId/spanId";
  const parent = field(span, "parentSpanId");
  const parentSpanId = parent === undefined || parent === "" ? undefined : hexId(parent, 16);
  const start = nanos(field(span, "startTimeUnixNano"));
  const end = nanos(field(span, "endTimeUnixNano"));
  if (start === undefined || end === undefined) return `span ${spanId}: no valid start/end time`;
  const name = field(span, "name");
  return {
    traceId,
    spanId,
    parentSpanId,
    name: typeof name === "string" ? name : "",
    kind: spanKind(field(span, "kind")),
    serviceName,
    startTimeUnixNano: start,
    endTimeUnixNano: end,
    status: spanStatus(field(span, "status")),
    attributes: attributes(field(span, "attributes")),
    links: arrayField(span, "links").flatMap((link): TraceSpanLink[] => {
      const linkTrace = hexId(field(link, "traceId"), 32);
      const linkSpan = hexId(field(link, "spanId"), 16);
      return linkTrace === undefined || linkSpan === undefined ? [] : [{ traceId: linkTrace, spanId: linkSpan }];
    }),
  };
}

function field(value: unknown, name: string): unknown {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

function arrayField(value: unknown, name: string): readonly unknown[] {
  const found = field(value, name);
  return Array.isArray(found) ? found : [];
}

function hexId(value: unknown, length: number): string | undefined {
  if (typeof value !== "string" || value.length !== length || !/^[0-9a-fA-F]+$/.test(value)) return undefined;
  return value.toLowerCase();
}

function nanos(value: unknown): bigint | undefined {
  if (typeof value === "string" && /^[0-9]+$/.test(value)) return BigInt(value);
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  return undefined;
}

const kindsByNumber: readonly TraceSpanKind[] = ["unspecified", "internal", "server", "client", "producer", "consumer"];

function spanKind(value: unknown): TraceSpanKind {
  if (typeof value === "number") return kindsByNumber[value] ?? "unspecified";
  if (typeof value === "string") {
    const named = value.replace(/^SPAN_KIND_/, "").toLowerCase();
    return kindsByNumber.find((kind) => kind === named) ?? "unspecified";
  }
  return "unspecified";
}

function spanStatus(value: unknown): TraceSpanStatus {
  const code = field(value, "code");
  const message = field(value, "message");
  const text = typeof message === "string" ? message : "";
  if (code === 1 || code === "STATUS_CODE_OK") return { code: "ok", message: text };
  if (code === 2 || code === "STATUS_CODE_ERROR") return { code: "error", message: text };
  return { code: "unset", message: text };
}

function attributes(value: unknown): Record<string, string | number | boolean> {
  const result: Record<string, string | number | boolean> = {};
  if (!Array.isArray(value)) return result;
  for (const entry of value) {
    const key = field(entry, "key");
    const decoded = anyValue(field(entry, "value"));
    if (typeof key === "string" && decoded !== undefined) result[key] = decoded;
  }
  return result;
}

function stringAttribute(value: unknown, key: string): string | undefined {
  const found = attributes(value)[key];
  return typeof found === "string" ? found : undefined;
}

/** An OTLP AnyValue as a scalar; arrays and key-value lists become their JSON text. */
function anyValue(value: unknown): string | number | boolean | undefined {
  const stringValue = field(value, "stringValue");
  if (typeof stringValue === "string") return stringValue;
  const boolValue = field(value, "boolValue");
  if (typeof boolValue === "boolean") return boolValue;
  const intValue = field(value, "intValue");
  if (typeof intValue === "number") return intValue;
  if (typeof intValue === "string" && /^-?[0-9]+$/.test(intValue)) {
    const parsed = Number.parseInt(intValue, 10);
    return Number.isSafeInteger(parsed) ? parsed : intValue;
  }
  const doubleValue = field(value, "doubleValue");
  if (typeof doubleValue === "number") return doubleValue;
  const arrayValue = field(value, "arrayValue");
  if (arrayValue !== undefined) return JSON.stringify(arrayField(arrayValue, "values").map(anyValue));
  const kvlistValue = field(value, "kvlistValue");
  if (kvlistValue !== undefined) return JSON.stringify(attributes(field(kvlistValue, "values")));
  return undefined;
}

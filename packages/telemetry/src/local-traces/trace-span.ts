/**
 * One finished span as `tributary trace` reads it back: the fields a tree needs, decoded from
 * OTLP/JSON (what the JSON-lines exporter writes, and what an OpenTelemetry collector's `file`
 * exporter writes too). Times are Unix nanoseconds as `bigint`, so nothing is lost to a float.
 */
export interface TraceSpan {
  /** 32 lowercase hex digits. */
  readonly traceId: string;
  /** 16 lowercase hex digits. */
  readonly spanId: string;
  /** The parent's span id; `undefined` for a root span. */
  readonly parentSpanId: string | undefined;
  readonly name: string;
  readonly kind: TraceSpanKind;
  /** The resource's `service.name`; `unknown_service` when the producer set none. */
  readonly serviceName: string;
  readonly startTimeUnixNano: bigint;
  readonly endTimeUnixNano: bigint;
  readonly status: TraceSpanStatus;
  /** Scalar attributes as they were set; arrays and maps are kept as their JSON text. */
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
  /** Spans this one links to (a batch consumer's `process` span links to each producer). */
  readonly links: readonly TraceSpanLink[];
}

/** The OTLP span kinds, lowercased. */
export type TraceSpanKind = "unspecified" | "internal" | "server" | "client" | "producer" | "consumer";

/** A span's final status: `unset` is the common, successful case. */
export interface TraceSpanStatus {
  readonly code: "unset" | "ok" | "error";
  readonly message: string;
}

/** A link from one span to another span, possibly in another trace. */
export interface TraceSpanLink {
  readonly traceId: string;
  readonly spanId: string;
}

/** The attribute that names the order a span worked on; every service sets it where it knows the order. */
export const orderIdAttribute = "tributary.order_id";

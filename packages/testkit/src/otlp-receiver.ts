import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";

/**
 * One span as the in-process OTLP receiver decoded it from an `ExportTraceServiceRequest`: what a
 * collector would see of it, with the ids as lowercase hex and the times as Unix nanoseconds
 * (`bigint`, so nothing is lost to a float).
 */
export interface ReceivedSpan {
  /** The `service.name` of the resource the span was exported under; `undefined` when it had none. */
  readonly serviceName: string | undefined;
  /** 32 lowercase hex digits. */
  readonly traceId: string;
  /** 16 lowercase hex digits. */
  readonly spanId: string;
  /** The parent's span id; `undefined` for a root span (the wire's empty `parent_span_id`). */
  readonly parentSpanId: string | undefined;
  readonly name: string;
  readonly kind: ReceivedSpanKind;
  readonly status: { readonly code: "unset" | "ok" | "error"; readonly message: string };
  readonly startTimeUnixNano: bigint;
  readonly endTimeUnixNano: bigint;
  /**
   * The span's scalar attributes (string, bool, double; an int as a number, or as its decimal
   * text beyond 2^53). Array, map and bytes values are left out.
   */
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
  /** The spans this one links to, possibly in other traces (a batch consumer links to each producer). */
  readonly links: readonly { readonly traceId: string; readonly spanId: string }[];
}

/** The OTLP span kinds, lowercased as `tributary trace --json` prints them. */
export type ReceivedSpanKind = "unspecified" | "internal" | "server" | "client" | "producer" | "consumer";

const spanKinds: readonly ReceivedSpanKind[] = ["unspecified", "internal", "server", "client", "producer", "consumer"];
const statusCodes = ["unset", "ok", "error"] as const;

// Field numbers from opentelemetry-proto: collector/trace/v1 (ExportTraceServiceRequest),
// trace/v1 (ResourceSpans, ScopeSpans, Span, Span.Link, Status), resource/v1, common/v1
// (KeyValue, AnyValue). Unknown fields are skipped, as protobuf readers do.

/** Calls `visit` for each field of a message; a field it does not take (returns false) is skipped. */
function fields(bytes: Uint8Array, visit: (field: number, reader: BinaryReader, wireType: WireType) => boolean): void {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (!visit(field, reader, wireType)) reader.skip(wireType, field);
  }
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");

/** An int64 as a number when it is exact, else as its decimal text. */
function intValue(value: bigint | string): number | string {
  const big = BigInt(value);
  return big <= BigInt(Number.MAX_SAFE_INTEGER) && big >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(big) : big.toString();
}

/** An AnyValue's scalar; `undefined` for arrays, maps, bytes and an empty value. */
function decodeAnyValue(bytes: Uint8Array): string | number | boolean | undefined {
  let value: string | number | boolean | undefined;
  fields(bytes, (field, reader, wireType) => {
    if (field === 1 && wireType === WireType.LengthDelimited) value = reader.string();
    else if (field === 2 && wireType === WireType.Varint) value = reader.bool();
    else if (field === 3 && wireType === WireType.Varint) value = intValue(reader.int64());
    else if (field === 4 && wireType === WireType.Bit64) value = reader.double();
    else return false;
    return true;
  });
  return value;
}

/** Adds one KeyValue to `into` when its value is a scalar. */
function decodeKeyValue(bytes: Uint8Array, into: Record<string, string | number | boolean>): void {
  let key: string | undefined;
  let value: string | number | boolean | undefined;
  fields(bytes, (field, reader) => {
    if (field === 1) key = reader.string();
    else if (field === 2) value = decodeAnyValue(reader.bytes());
    else return false;
    return true;
  });
  if (key !== undefined && value !== undefined) into[key] = value;
}

function decodeResourceServiceName(bytes: Uint8Array): string | undefined {
  const attributes: Record<string, string | number | boolean> = {};
  fields(bytes, (field, reader) => (field === 1 ? (decodeKeyValue(reader.bytes(), attributes), true) : false));
  const name = attributes["service.name"];
  return typeof name === "string" ? name : undefined;
}

function decodeLink(bytes: Uint8Array): { traceId: string; spanId: string } {
  let traceId = "";
  let spanId = "";
  fields(bytes, (field, reader) => {
    if (field === 1) traceId = hex(reader.bytes());
    else if (field === 2) spanId = hex(reader.bytes());
    else return false;
    return true;
  });
  return { traceId, spanId };
}

function decodeStatus(bytes: Uint8Array): ReceivedSpan["status"] {
  let code = 0;
  let message = "";
  fields(bytes, (field, reader) => {
    if (field === 2) message = reader.string();
    else if (field === 3) code = reader.int32();
    else return false;
    return true;
  });
  const name = statusCodes[code];
  if (name === undefined) throw new Error(`OTLP span status code ${code} is not one of opentelemetry-proto's StatusCode values`);
  return { code: name, message };
}

function decodeSpan(bytes: Uint8Array, serviceName: string | undefined): ReceivedSpan {
  let traceId = "";
  let spanId = "";
  let parentSpanId: string | undefined;
  let name = "";
  let kind = 0;
  let status: ReceivedSpan["status"] = { code: "unset", message: "" };
  let startTimeUnixNano = 0n;
  let endTimeUnixNano = 0n;
  const attributes: Record<string, string | number | boolean> = {};
  const links: { traceId: string; spanId: string }[] = [];
  fields(bytes, (field, reader) => {
    switch (field) {
      case 1:
        traceId = hex(reader.bytes());
        return true;
      case 2:
        spanId = hex(reader.bytes());
        return true;
      case 4: {
        const parent = reader.bytes();
        parentSpanId = parent.length === 0 ? undefined : hex(parent);
        return true;
      }
      case 5:
        name = reader.string();
        return true;
      case 6:
        kind = reader.int32();
        return true;
      case 7:
        startTimeUnixNano = BigInt(reader.fixed64());
        return true;
      case 8:
        endTimeUnixNano = BigInt(reader.fixed64());
        return true;
      case 9:
        decodeKeyValue(reader.bytes(), attributes);
        return true;
      case 13:
        links.push(decodeLink(reader.bytes()));
        return true;
      case 15:
        status = decodeStatus(reader.bytes());
        return true;
      default:
        return false;
    }
  });
  const kindName = spanKinds[kind];
  if (kindName === undefined) throw new Error(`OTLP span kind ${kind} is not one of opentelemetry-proto's SpanKind values`);
  // A span without its ids is not something a collector could place in a trace: a broken encoder.
  if (traceId.length !== 32 || spanId.length !== 16) throw new Error(`OTLP span "${name}" has trace id "${traceId}" and span id "${spanId}": not 16 and 8 bytes`);
  return { serviceName, traceId, spanId, parentSpanId, name, kind: kindName, status, startTimeUnixNano, endTimeUnixNano, attributes, links };
}

/**
 * Decodes an OTLP/HTTP protobuf `ExportTraceServiceRequest` into its spans, each with its
 * resource's `service.name`. Throws on bytes that are not such a request (a truncated message, a
 * span without ids, a kind or status code outside the enum).
 */
export function decodeExportTraceServiceRequest(body: Uint8Array): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  fields(body, (field, reader) => {
    if (field !== 1) return false; // resource_spans
    let serviceName: string | undefined;
    const scopeSpans: Uint8Array[] = [];
    fields(reader.bytes(), (resourceField, resource) => {
      if (resourceField === 1) serviceName = decodeResourceServiceName(resource.bytes());
      else if (resourceField === 2) scopeSpans.push(resource.bytes());
      else return false;
      return true;
    });
    // The resource may come after its scope spans on the wire, so spans are decoded once it is known.
    for (const scope of scopeSpans) {
      fields(scope, (scopeField, spansReader) => (scopeField === 2 ? (spans.push(decodeSpan(spansReader.bytes(), serviceName)), true) : false));
    }
    return true;
  });
  return spans;
}

/** A running in-process OTLP receiver; see {@link startOtlpReceiver}. */
export interface OtlpReceiver {
  /** The base URL to put in `OTEL_EXPORTER_OTLP_ENDPOINT` (the exporters add `/v1/traces`, `/v1/metrics`). */
  readonly endpoint: string;
  /** Every span received so far, in arrival order. */
  spans(): ReceivedSpan[];
  /** The body of each `/v1/metrics` request (an `ExportMetricsServiceRequest`, not decoded; gunzipped). */
  metricRequests(): Buffer[];
  /** Every request that arrived, as path, `content-encoding` (`identity` when none) and the status it got. */
  requests(): ReceivedRequest[];
  /** Each request answered with an error (undecodable body, unknown encoding or path), as one line each. */
  rejected(): string[];
  /**
   * Resolves with the spans received so far once `predicate` holds for them, checked now and after
   * each trace request. Rejects after `timeoutMs`, or as soon as a trace request could not be
   * decoded (spans would be missing), with `what` in the message.
   */
  waitFor(predicate: (spans: readonly ReceivedSpan[]) => boolean, what: string, timeoutMs?: number): Promise<ReceivedSpan[]>;
  /** Closes the server and every open connection. */
  stop(): Promise<void>;
}

/** One request the receiver answered. */
export interface ReceivedRequest {
  readonly path: string;
  readonly contentEncoding: string;
  readonly status: number;
}

const maxBodyBytes = 64 * 1024 * 1024;

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    length += buffer.length;
    if (length > maxBodyBytes) throw new Error(`body over ${maxBodyBytes} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

/** The body without its `content-encoding` (OTEL_EXPORTER_OTLP_COMPRESSION: `none`, the default, or `gzip`). */
function decodedBody(request: IncomingMessage, body: Buffer): Buffer {
  const encoding = (request.headers["content-encoding"] ?? "identity").trim().toLowerCase();
  if (encoding === "gzip") return gunzipSync(body);
  if (encoding === "identity" || encoding === "") return body;
  throw new Error(`content-encoding ${encoding} (only gzip or none)`);
}

/**
 * Starts an OTLP/HTTP receiver in this process on 127.0.0.1 (a free port), for tests that check
 * what a service exports as a collector would see it, without running a collector: `POST
 * /v1/traces` with a protobuf `ExportTraceServiceRequest` (gzipped or not) is decoded span by span
 * and answered 200 with an empty `ExportTraceServiceResponse` (full success); `POST /v1/metrics` is
 * answered the same way and kept undecoded. A body it cannot decode gets 400 and is remembered, so a
 * test waiting for spans fails instead of timing out. JSON (`application/json`) is not taken: the
 * services export protobuf.
 */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const received: ReceivedSpan[] = [];
  const rejected: string[] = [];
  const metricBodies: Buffer[] = [];
  const requests: ReceivedRequest[] = [];
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const listener of [...listeners]) listener();
  };

  const answered = (request: IncomingMessage, status: number) => {
    requests.push({ path: request.url ?? "", contentEncoding: request.headers["content-encoding"] ?? "identity", status });
  };
  const reject = (request: IncomingMessage, response: ServerResponse, status: number, line: string) => {
    answered(request, status);
    rejected.push(line);
    response.writeHead(status, { "content-type": "text/plain" }).end(`${line}\n`);
    notify();
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = (request.url ?? "").split("?")[0];
    if (request.method !== "POST" || (path !== "/v1/traces" && path !== "/v1/metrics")) {
      request.resume();
      reject(request, response, 404, `${request.method ?? "?"} ${request.url ?? ""}: not an OTLP/HTTP path this receiver serves`);
      return;
    }
    const contentType = (request.headers["content-type"] ?? "").split(";")[0]?.trim();
    if (contentType !== "application/x-protobuf") {
      request.resume();
      reject(request, response, 415, `${path}: content-type ${contentType ?? "none"}, not application/x-protobuf`);
      return;
    }
    let body: Buffer;
    try {
      body = decodedBody(request, await readBody(request));
    } catch (error) {
      reject(request, response, 400, `${path}: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    if (path === "/v1/metrics") {
      metricBodies.push(body);
    } else {
      let spans: ReceivedSpan[];
      try {
        spans = decodeExportTraceServiceRequest(body);
      } catch (error) {
        reject(request, response, 400, `${path}: not an ExportTraceServiceRequest (${error instanceof Error ? error.message : String(error)})`);
        return;
      }
      received.push(...spans);
    }
    // An empty ExportTraceServiceResponse / ExportMetricsServiceResponse: no partial_success, so all accepted.
    answered(request, 200);
    response.writeHead(200, { "content-type": "application/x-protobuf", "content-length": "0" }).end();
    notify();
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) reject(request, response, 500, `${request.url ?? ""}: ${String(error)}`);
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const waitFor = (predicate: (spans: readonly ReceivedSpan[]) => boolean, what: string, timeoutMs = 30_000): Promise<ReceivedSpan[]> =>
    new Promise((resolveWait, rejectWait) => {
      const rejectedBefore = rejected.length;
      const finish = (error?: Error) => {
        clearTimeout(timer);
        listeners.delete(check);
        if (error === undefined) resolveWait([...received]);
        else rejectWait(error);
      };
      const check = () => {
        const undecodable = rejected.slice(rejectedBefore).find((line) => line.startsWith("/v1/traces"));
        if (undecodable !== undefined) finish(new Error(`OTLP receiver: waiting for ${what}, a trace request was refused: ${undecodable}`));
        else if (predicate(received)) finish();
      };
      const timer = setTimeout(() => {
        const services = [...new Set(received.map((span) => span.serviceName ?? "(no service.name)"))].sort().join(", ");
        finish(new Error(`OTLP receiver: still waiting for ${what} after ${timeoutMs} ms (${received.length} spans received, from ${services || "no service"})`));
      }, timeoutMs);
      listeners.add(check);
      check();
    });

  return {
    endpoint,
    spans: () => [...received],
    metricRequests: () => [...metricBodies],
    requests: () => [...requests],
    rejected: () => [...rejected],
    waitFor,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolveClose, rejectClose) => server.close((error) => (error === undefined ? resolveClose() : rejectClose(error))));
    },
  };
}

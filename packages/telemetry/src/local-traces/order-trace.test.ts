import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { decodeOtlpJsonTraces } from "./decode-otlp-json.js";
import { loadOrderTrace, printTrace, traceSpansOfOrder } from "./order-trace.js";

const orderTrace = "11111111111111111111111111111111";
const batchTrace = "22222222222222222222222222222222";
const otherTrace = "33333333333333333333333333333333";
const t0 = 1_764_588_003_000_000_000n;

interface SpanInput {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly kind: number | string;
  readonly startMs: number;
  readonly durationMs: number;
  readonly attributes?: Record<string, string>;
  readonly links?: readonly { traceId: string; spanId: string }[];
  readonly status?: { code: number | string; message?: string };
}

/** One OTLP/JSON request line as a collector's file exporter writes it (64-bit values as strings). */
function requestLine(serviceName: string, spans: readonly SpanInput[]): string {
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: "service.name", value: { stringValue: serviceName } }] },
        scopeSpans: [
          {
            scope: { name: "@tributary/events" },
            spans: spans.map((s) => ({
              traceId: s.traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId ?? "",
              name: s.name,
              kind: s.kind,
              startTimeUnixNano: String(t0 + BigInt(s.startMs) * 1_000_000n),
              endTimeUnixNano: String(t0 + BigInt(s.startMs + s.durationMs) * 1_000_000n),
              attributes: Object.entries(s.attributes ?? {}).map(([key, value]) => ({ key, value: { stringValue: value } })),
              links: s.links ?? [],
              status: s.status ?? {},
            })),
          },
        ],
      },
    ],
  });
}

let dir = "";
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "tributary-order-trace-"));
  // order: the gRPC call and the outbox append for ord-1; another order's trace beside it.
  await writeFile(
    join(dir, "order-100.jsonl"),
    [
      requestLine("order", [
        { traceId: orderTrace, spanId: "0000000000000001", name: "tributary.order.v1.OrderService/CreateOrder", kind: 2, startMs: 0, durationMs: 12 },
        { traceId: orderTrace, spanId: "0000000000000002", parentSpanId: "0000000000000001", name: "create orders.v1", kind: 4, startMs: 10, durationMs: 1, attributes: { "messaging.kafka.message.key": "ord-1" } },
      ]),
      requestLine("order", [{ traceId: otherTrace, spanId: "0000000000000009", name: "tributary.order.v1.OrderService/CreateOrder", kind: 2, startMs: 5, durationMs: 3, attributes: { "tributary.order_id": "ord-2" } }]),
    ].join("\n") + "\n",
  );
  // payment-routing continues the trace; settlement's batch consumer starts its own and links to it.
  await writeFile(
    join(dir, "payment-routing-200.jsonl"),
    requestLine("payment-routing", [
      { traceId: orderTrace, spanId: "0000000000000003", parentSpanId: "0000000000000002", name: "process orders.v1", kind: "SPAN_KIND_CONSUMER", startMs: 20, durationMs: 30, attributes: { "tributary.order_id": "ord-1" } },
      { traceId: orderTrace, spanId: "0000000000000004", parentSpanId: "0000000000000003", name: "create payments.v1", kind: "SPAN_KIND_PRODUCER", startMs: 45, durationMs: 1 },
    ]) + "\n",
  );
  await writeFile(
    join(dir, "settlement-300.jsonl"),
    requestLine("settlement", [
      {
        traceId: batchTrace,
        spanId: "0000000000000005",
        name: "process payments.v1",
        kind: 5,
        startMs: 60,
        durationMs: 9,
        links: [
          { traceId: orderTrace, spanId: "0000000000000004" },
          { traceId: otherTrace, spanId: "0000000000000009" },
        ],
        status: { code: "STATUS_CODE_ERROR", message: "posting failed" },
      },
      { traceId: batchTrace, spanId: "0000000000000006", parentSpanId: "0000000000000005", name: "post ledger entries", kind: 1, startMs: 61, durationMs: 7 },
    ]) + "\n",
  );
  // Not ours: skipped by name.
  await writeFile(join(dir, "notes.txt"), "hello\n");
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("loadOrderTrace", () => {
  it("finds the order's trace across service files and the batch trace that links to it, and nothing else", async () => {
    const result = await loadOrderTrace(dir, "ord-1");
    if (!result.ok) throw new Error(result.error.message);
    expect(new Set(result.value.traceIds)).toEqual(new Set([orderTrace, batchTrace]));
    expect(result.value.spans.map((s) => s.spanId).sort()).toEqual(["0000000000000001", "0000000000000002", "0000000000000003", "0000000000000004", "0000000000000005", "0000000000000006"]);
    const lines = result.value.text.split("\n");
    expect(lines[0]).toBe(`trace ${orderTrace} · 2025-12-01T11:20:03.000Z · 50.0ms · 4 spans · order, payment-routing`);
    expect(lines.slice(2, 6).map((line) => line.replace(/(\S)\s{2,}.*$/, "$1"))).toEqual([
      "tributary.order.v1.OrderService/CreateOrder",
      "└─ create orders.v1",
      "   └─ process orders.v1",
      "      └─ create payments.v1",
    ]);
    expect(lines[4]).toMatch(/payment-routing\s+consumer\s+\+20\.0ms\s+30\.0ms\s+ok$/);
    const batch = result.value.text.split("\n\n")[1]?.split("\n") ?? [];
    expect(batch[0]).toBe(`trace ${batchTrace} · 2025-12-01T11:20:03.060Z · 9.0ms · 2 spans · settlement`);
    expect(batch[2]).toMatch(/^process payments\.v1 \(links 11111111\/00000000, 33333333\/00000000\)\s+settlement\s+consumer\s+\+0\.0ms\s+9\.0ms\s+ERROR: posting failed$/);
    expect(batch[3]).toMatch(/^└─ post ledger entries\s+settlement\s+internal\s+\+1\.0ms\s+7\.0ms\s+ok$/);
  });

  it("says so when no span names the order, and when the directory is missing", async () => {
    const missing = await loadOrderTrace(dir, "ord-404");
    expect(missing.ok).toBe(false);
    if (!missing.ok) expect(missing.error.code).toBe("order_not_found");
    const noDir = await loadOrderTrace(join(dir, "nope"), "ord-1");
    expect(noDir.ok).toBe(false);
    if (!noDir.ok) expect(noDir.error).toMatchObject({ code: "traces_dir_missing", dir: join(dir, "nope") });
  });

  it("prints the tree, or the reason, to the stream it is given", async () => {
    const chunks: string[] = [];
    const out = { write: (chunk: string) => chunks.push(chunk) > 0 } as unknown as NodeJS.WritableStream;
    expect((await printTrace("ord-2", { dir, out })).ok).toBe(true);
    expect(chunks.join("")).toMatch(new RegExp(`^trace ${otherTrace} .*\\n`));
    // ord-2's trace is linked from the settlement batch too, so that trace is shown with it.
    expect(chunks.join("")).toContain(`trace ${batchTrace}`);
    chunks.length = 0;
    expect((await printTrace("ord-404", { dir, out })).ok).toBe(false);
    expect(chunks.join("")).toMatch(/^no span in .* names order ord-404/);
  });
});

describe("traceSpansOfOrder", () => {
  it("keeps whole traces, not only the spans that name the order", () => {
    const spans = decodeOtlpJsonTraces(
      JSON.parse(
        requestLine("order", [
          { traceId: orderTrace, spanId: "0000000000000001", name: "root", kind: 2, startMs: 0, durationMs: 1 },
          { traceId: orderTrace, spanId: "0000000000000002", parentSpanId: "0000000000000001", name: "named", kind: 1, startMs: 0, durationMs: 1, attributes: { "tributary.order_id": "ord-1" } },
          { traceId: otherTrace, spanId: "0000000000000003", name: "elsewhere", kind: 1, startMs: 0, durationMs: 1 },
        ]),
      ),
    );
    if (typeof spans === "string") throw new Error(spans);
    expect(traceSpansOfOrder(spans, "ord-1").map((s) => s.name)).toEqual(["root", "named"]);
  });
});

describe("decodeOtlpJsonTraces", () => {
  it("refuses what is not a trace request, and a span without valid ids", () => {
    expect(decodeOtlpJsonTraces({ resourceMetrics: [] })).toMatch(/not an OTLP trace request/);
    expect(decodeOtlpJsonTraces({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: "xyz", spanId: "1" }] }] }] })).toMatch(/valid traceId/);
  });

  it("reads numbers sent as numbers or strings, and names a resource without service.name", () => {
    const spans = decodeOtlpJsonTraces({
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                {
                  traceId: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                  spanId: "BBBBBBBBBBBBBBBB",
                  name: "n",
                  kind: 3,
                  startTimeUnixNano: 5,
                  endTimeUnixNano: "7",
                  attributes: [
                    { key: "i", value: { intValue: "12" } },
                    { key: "d", value: { doubleValue: 1.5 } },
                    { key: "a", value: { arrayValue: { values: [{ stringValue: "x" }, { intValue: 2 }] } } },
                  ],
                  status: { code: 1 },
                },
              ],
            },
          ],
        },
      ],
    });
    expect(spans).toEqual([
      {
        traceId: "a".repeat(32),
        spanId: "b".repeat(16),
        parentSpanId: undefined,
        name: "n",
        kind: "client",
        serviceName: "unknown_service",
        startTimeUnixNano: 5n,
        endTimeUnixNano: 7n,
        status: { code: "ok", message: "" },
        attributes: { i: 12, d: 1.5, a: '["x",2]' },
        links: [],
      },
    ]);
  });
});

describe("localTracesDir", () => {
  it("is .tributary/traces in the repository, with the stack's suffix", async () => {
    const { localTracesDir } = await import("./local-traces-dir.js");
    expect(localTracesDir("/repo")).toBe("/repo/.tributary/traces");
    expect(localTracesDir("/repo", "_test_42")).toBe("/repo/.tributary/traces_test_42");
  });
});

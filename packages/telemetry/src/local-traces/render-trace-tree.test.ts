import { describe, expect, it } from "vitest";
import { buildTraceTrees, formatNanos, renderTraceTree } from "./render-trace-tree.js";
import type { TraceSpan } from "./trace-span.js";

const t0 = 1_764_588_003_120_000_000n; // 2025-12-01T11:20:03.120Z in Unix nanoseconds
const ms = (value: number): bigint => BigInt(Math.round(value * 1_000)) * 1_000n;
const traceA = "4bf92f3577b34da6a3ce929d0e0e4736";
const traceB = "0af7651916cd43dd8448eb211c80319c";

function span(fields: Partial<TraceSpan> & Pick<TraceSpan, "spanId" | "name" | "serviceName">, startMs: number, durationMs: number): TraceSpan {
  return {
    traceId: traceA,
    parentSpanId: undefined,
    kind: "internal",
    status: { code: "unset", message: "" },
    attributes: {},
    links: [],
    startTimeUnixNano: t0 + ms(startMs),
    endTimeUnixNano: t0 + ms(startMs + durationMs),
    ...fields,
  };
}

// One payment as the services record it: checkout → CreateOrder (client, server) → outbox append
// → relay send → payment-routing's process span → the provider call; the provider's notification
// arrives at the webhook as a new request continuing the trace; settlement posts the capture.
const payment: readonly TraceSpan[] = [
  span({ spanId: "a000000000000001", name: "checkout", serviceName: "shop" }, 0, 182.4),
  span({ spanId: "a000000000000002", parentSpanId: "a000000000000001", name: "tributary.order.v1.OrderService/CreateOrder", kind: "client", serviceName: "shop" }, 0.3, 12.5),
  span({ spanId: "a000000000000003", parentSpanId: "a000000000000002", name: "tributary.order.v1.OrderService/CreateOrder", kind: "server", serviceName: "order", attributes: { "rpc.grpc.status_code": 0 } }, 1, 10.2),
  span({ spanId: "a000000000000004", parentSpanId: "a000000000000003", name: "create orders.v1", kind: "producer", serviceName: "order", attributes: { "messaging.kafka.message.key": "ord-1" } }, 9.8, 0.2),
  span({ spanId: "a000000000000005", parentSpanId: "a000000000000004", name: "send orders.v1", kind: "producer", serviceName: "order" }, 14, 3.1),
  span({ spanId: "a000000000000006", parentSpanId: "a000000000000004", name: "process orders.v1", kind: "consumer", serviceName: "payment-routing", attributes: { "tributary.order_id": "ord-1" } }, 20.5, 40),
  span({ spanId: "a000000000000007", parentSpanId: "a000000000000006", name: "wechatpay POST /v3/pay/transactions/native", kind: "client", serviceName: "payment-routing" }, 22, 30),
  span({ spanId: "a000000000000008", parentSpanId: "a000000000000006", name: "POST /webhooks/wechatpay", kind: "server", serviceName: "payment-routing" }, 120, 8),
  span({ spanId: "a000000000000009", parentSpanId: "a000000000000008", name: "process payments.v1", kind: "consumer", serviceName: "settlement", status: { code: "error", message: "ledger unbalanced" } }, 150, 30),
];

/** A deterministic shuffle (the order spans reach a file in is the order their batches finish). */
function shuffled<T>(items: readonly T[]): T[] {
  return [...items].map((item, index) => ({ item, key: (index * 7919) % 13 })).sort((a, b) => a.key - b.key).map(({ item }) => item);
}

describe("renderTraceTree", () => {
  it("renders one payment across services as an indented tree, whatever order the spans came in", () => {
    const input = shuffled(payment);
    expect(input.map((s) => s.spanId)).not.toEqual(payment.map((s) => s.spanId));
    expect(renderTraceTree(input)).toBe(
      [
        `trace ${traceA} · 2025-12-01T11:20:03.120Z · 182.4ms · 9 spans · shop, order, payment-routing, settlement`,
        "OPERATION                                                  SERVICE          KIND         START  DURATION  STATUS",
        "checkout                                                   shop             internal    +0.0ms   182.4ms  ok",
        "└─ tributary.order.v1.OrderService/CreateOrder             shop             client      +0.3ms    12.5ms  ok",
        "   └─ tributary.order.v1.OrderService/CreateOrder          order            server      +1.0ms    10.2ms  ok",
        "      └─ create orders.v1                                  order            producer    +9.8ms     0.2ms  ok",
        "         ├─ send orders.v1                                 order            producer   +14.0ms     3.1ms  ok",
        "         └─ process orders.v1                              payment-routing  consumer   +20.5ms    40.0ms  ok",
        "            ├─ wechatpay POST /v3/pay/transactions/native  payment-routing  client     +22.0ms    30.0ms  ok",
        "            └─ POST /webhooks/wechatpay                    payment-routing  server    +120.0ms     8.0ms  ok",
        "               └─ process payments.v1                      settlement       consumer  +150.0ms    30.0ms  ERROR: ledger unbalanced",
      ].join("\n"),
    );
    // The same text from the spans in their natural order and reversed: arrival order never shows.
    expect(renderTraceTree([...payment].reverse())).toBe(renderTraceTree(input));
  });

  it("shows a span whose parent was not collected as an orphan root after the true root", () => {
    // payment-routing's spans arrive, the order service's never did (it exported nowhere).
    const partial = payment.filter((s) => s.serviceName !== "order");
    const [tree] = buildTraceTrees(partial);
    expect(tree?.roots.map((root) => [root.span.name, root.orphan])).toEqual([
      ["checkout", false],
      ["process orders.v1", true],
    ]);
    const text = renderTraceTree(partial);
    expect(text).toContain("process orders.v1 (parent a000000000000004 not collected)");
    // The orphan's own subtree keeps its shape under it.
    const lines = text.split("\n");
    const orphanAt = lines.findIndex((line) => line.startsWith("process orders.v1"));
    expect(lines[orphanAt + 1]).toMatch(/^├─ wechatpay POST/);
    expect(lines[orphanAt + 2]).toMatch(/^└─ POST \/webhooks\/wechatpay/);
    expect(lines[orphanAt + 3]).toMatch(/^ {3}└─ process payments\.v1 .*ERROR: ledger unbalanced$/);
  });

  it("renders several traces, earliest first, each with its own header and services", () => {
    const later = span({ traceId: traceB, spanId: "b000000000000001", name: "settlement close-day", serviceName: "settlement" }, 500, 2_345.6);
    const laterChild = span(
      {
        traceId: traceB,
        spanId: "b000000000000002",
        parentSpanId: "b000000000000001",
        name: "process payments.v1",
        kind: "consumer",
        serviceName: "settlement",
        links: [{ traceId: traceA, spanId: "a000000000000009" }],
      },
      501,
      1,
    );
    const text = renderTraceTree([laterChild, ...payment, later]);
    const headers = text.split("\n").filter((line) => line.startsWith("trace "));
    expect(headers).toEqual([
      `trace ${traceA} · 2025-12-01T11:20:03.120Z · 182.4ms · 9 spans · shop, order, payment-routing, settlement`,
      `trace ${traceB} · 2025-12-01T11:20:03.620Z · 2.35s · 2 spans · settlement`,
    ]);
    expect(text).toContain(`└─ process payments.v1 (links ${traceA.slice(0, 8)}/a0000000)`);
    // Traces are separated by one blank line; each restarts the START column at +0.0ms.
    const second = text.split("\n\n")[1]?.split("\n") ?? [];
    expect(second[2]).toMatch(/^settlement close-day\s+settlement\s+internal\s+\+0\.0ms\s+2\.35s\s+ok$/);
  });

  it("counts a span exported twice once, and cuts a parent loop instead of losing its spans", () => {
    const a = span({ spanId: "c000000000000001", parentSpanId: "c000000000000002", name: "loop a", serviceName: "x" }, 0, 1);
    const b = span({ spanId: "c000000000000002", parentSpanId: "c000000000000001", name: "loop b", serviceName: "x" }, 0.5, 1);
    const [tree] = buildTraceTrees([a, b, a, { ...b, name: "a later copy" }]);
    expect(tree?.spanCount).toBe(2);
    expect(tree?.roots).toHaveLength(1);
    expect(tree?.roots[0]?.orphan).toBe(true);
    expect(tree?.roots[0]?.span.name).toBe("loop a");
    expect(tree?.roots[0]?.children.map((child) => child.span.name)).toEqual(["loop b"]);
  });

  it("orders siblings by start time, then span id", () => {
    const root = span({ spanId: "d000000000000001", name: "root", serviceName: "x" }, 0, 10);
    const kids = [
      span({ spanId: "d000000000000004", parentSpanId: "d000000000000001", name: "third", serviceName: "x" }, 2, 1),
      span({ spanId: "d000000000000003", parentSpanId: "d000000000000001", name: "second", serviceName: "x" }, 1, 1),
      span({ spanId: "d000000000000002", parentSpanId: "d000000000000001", name: "first", serviceName: "x" }, 1, 1),
    ];
    expect(buildTraceTrees([...kids, root])[0]?.roots[0]?.children.map((c) => c.span.name)).toEqual(["first", "second", "third"]);
  });

  it("cuts an operation longer than the column with an ellipsis", () => {
    const long = span({ spanId: "e000000000000001", name: "x".repeat(40), serviceName: "svc" }, 0, 1);
    const text = renderTraceTree([long], { maxOperationWidth: 12 });
    expect(text.split("\n")[2]).toBe(`${"x".repeat(11)}…  svc      internal  +0.0ms     1.0ms  ok`);
  });
});

describe("formatNanos", () => {
  it("shows tenths of a millisecond below a second and hundredths of a second above, rounded half up", () => {
    expect(formatNanos(0n)).toBe("0.0ms");
    expect(formatNanos(49_999n)).toBe("0.0ms");
    expect(formatNanos(50_000n)).toBe("0.1ms");
    expect(formatNanos(182_449_999n)).toBe("182.4ms");
    expect(formatNanos(999_949_999n)).toBe("999.9ms");
    expect(formatNanos(999_950_000n)).toBe("1.00s");
    expect(formatNanos(2_345_600_000n)).toBe("2.35s");
    expect(formatNanos(-1_500_000n)).toBe("-1.5ms");
  });
});

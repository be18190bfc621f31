import type { TraceSpan } from "./trace-span.js";

/** One span in its trace's tree. */
export interface TraceNode {
  readonly span: TraceSpan;
  /** Children by start time (then span id, so the order never depends on arrival). */
  readonly children: readonly TraceNode[];
  /**
   * The span names a parent that was not collected (a service that exports nowhere, a file
   * lost, a span still open): it is shown as a root of its own instead of being dropped.
   */
  readonly orphan: boolean;
}

/** One trace as a forest: its true root first, then orphaned subtrees, each by start time. */
export interface TraceTree {
  readonly traceId: string;
  readonly roots: readonly TraceNode[];
  readonly startTimeUnixNano: bigint;
  readonly endTimeUnixNano: bigint;
  readonly spanCount: number;
  /** The services that contributed spans, in order of their first span. */
  readonly services: readonly string[];
}

const byStart = (a: TraceSpan, b: TraceSpan): number =>
  a.startTimeUnixNano < b.startTimeUnixNano ? -1 : a.startTimeUnixNano > b.startTimeUnixNano ? 1 : a.spanId.localeCompare(b.spanId);

/**
 * Groups spans into traces and links each span under its parent. Spans may arrive in any order
 * and more than once (an exporter retried): each span id counts once, the first copy wins. A span
 * whose parent is missing becomes an orphan root; a parent chain that loops (corrupt input) is
 * cut where it closes, so every span is shown exactly once. Traces are ordered by start time.
 */
export function buildTraceTrees(spans: readonly TraceSpan[]): TraceTree[] {
  const traces = new Map<string, Map<string, TraceSpan>>();
  for (const span of spans) {
    let trace = traces.get(span.traceId);
    if (trace === undefined) {
      trace = new Map();
      traces.set(span.traceId, trace);
    }
    if (!trace.has(span.spanId)) trace.set(span.spanId, span);
  }
  const trees = [...traces].map(([traceId, byId]) => buildTree(traceId, byId));
  return trees.sort((a, b) => (a.startTimeUnixNano < b.startTimeUnixNano ? -1 : a.startTimeUnixNano > b.startTimeUnixNano ? 1 : a.traceId.localeCompare(b.traceId)));
}

function buildTree(traceId: string, byId: ReadonlyMap<string, TraceSpan>): TraceTree {
  const ordered = [...byId.values()].sort(byStart);
  const childrenOf = new Map<string, TraceSpan[]>();
  const rootSpans: TraceSpan[] = [];
  for (const span of ordered) {
    const parentId = span.parentSpanId;
    if (parentId === undefined || !byId.has(parentId)) {
      rootSpans.push(span);
      continue;
    }
    const siblings = childrenOf.get(parentId);
    if (siblings === undefined) childrenOf.set(parentId, [span]);
    else siblings.push(span);
  }
  const placed = new Set<string>();
  const node = (span: TraceSpan, orphan: boolean): TraceNode => {
    placed.add(span.spanId);
    const children = (childrenOf.get(span.spanId) ?? []).filter((child) => !placed.has(child.spanId)).map((child) => node(child, false));
    return { span, children, orphan };
  };
  // True roots before orphans; within each, by start time.
  const roots = [
    ...rootSpans.filter((span) => span.parentSpanId === undefined).map((span) => node(span, false)),
    ...rootSpans.filter((span) => span.parentSpanId !== undefined).map((span) => node(span, true)),
  ];
  // Spans in a parent loop are reachable from no root: the earliest of each loop starts a subtree.
  for (const span of ordered) if (!placed.has(span.spanId)) roots.push(node(span, true));

  const services: string[] = [];
  for (const span of ordered) if (!services.includes(span.serviceName)) services.push(span.serviceName);
  let start = ordered[0]?.startTimeUnixNano ?? 0n;
  let end = 0n;
  for (const span of ordered) {
    if (span.startTimeUnixNano < start) start = span.startTimeUnixNano;
    if (span.endTimeUnixNano > end) end = span.endTimeUnixNano;
  }
  return { traceId, roots, startTimeUnixNano: start, endTimeUnixNano: end, spanCount: ordered.length, services };
}

/** Options of {@link renderTraceTree}. */
export interface RenderTraceTreeOptions {
  /** Longest operation column (tree and name) before it is cut with `…`; 90 unless told. */
  readonly maxOperationWidth?: number;
}

/**
 * Renders spans as one indented tree per trace, in plain text for a terminal:
 *
 * ```
 * trace 4bf92f3577b34da6a3ce929d0e0e4736 · 2026-12-01T11:20:03.120Z · 182.4 ms · 6 spans · order, payment-routing
 * OPERATION                                         SERVICE          KIND       START   DURATION  STATUS
 * checkout                                          shop             internal  +0.0ms    182.4ms  ok
 * └─ tributary.order.v1.OrderService/CreateOrder    order            server    +0.4ms     12.1ms  ok
 *    └─ create orders.v1                            order            producer  +9.8ms      0.2ms  ok
 * ```
 *
 * START is the offset from the trace's first span. A span with an error status shows
 * `ERROR: <message>`; an orphan says which parent was not collected; links are listed.
 */
export function renderTraceTree(spans: readonly TraceSpan[], options: RenderTraceTreeOptions = {}): string {
  const maxWidth = options.maxOperationWidth ?? 90;
  return buildTraceTrees(spans)
    .map((tree) => renderTree(tree, maxWidth))
    .join("\n\n");
}

interface Row {
  readonly operation: string;
  readonly service: string;
  readonly kind: string;
  readonly start: string;
  readonly duration: string;
  readonly status: string;
}

function renderTree(tree: TraceTree, maxWidth: number): string {
  const rows: Row[] = [];
  const visit = (node: TraceNode, prefix: string, connector: string): void => {
    const { span } = node;
    const notes = [
      node.orphan ? `(parent ${span.parentSpanId ?? "?"} not collected)` : "",
      span.links.length === 0 ? "" : `(links ${span.links.slice(0, 3).map((l) => `${l.traceId.slice(0, 8)}/${l.spanId.slice(0, 8)}`).join(", ")}${span.links.length > 3 ? ", …" : ""})`,
    ].filter((note) => note !== "");
    rows.push({
      operation: `${prefix}${connector}${[span.name, ...notes].join(" ")}`,
      service: span.serviceName,
      kind: span.kind,
      start: `+${formatNanos(span.startTimeUnixNano - tree.startTimeUnixNano)}`,
      duration: formatNanos(span.endTimeUnixNano - span.startTimeUnixNano),
      status: span.status.code === "error" ? `ERROR${span.status.message === "" ? "" : `: ${span.status.message}`}` : "ok",
    });
    const childPrefix = connector === "" ? prefix : `${prefix}${connector === "└─ " ? "   " : "│  "}`;
    node.children.forEach((child, index) => visit(child, childPrefix, index === node.children.length - 1 ? "└─ " : "├─ "));
  };
  for (const root of tree.roots) visit(root, "", "");

  const header: Row = { operation: "OPERATION", service: "SERVICE", kind: "KIND", start: "START", duration: "DURATION", status: "STATUS" };
  const all = [header, ...rows];
  const widthOf = (pick: (row: Row) => string): number => Math.max(...all.map((row) => [...pick(row)].length));
  const operationWidth = Math.min(widthOf((row) => row.operation), maxWidth);
  const serviceWidth = widthOf((row) => row.service);
  const kindWidth = widthOf((row) => row.kind);
  const startWidth = widthOf((row) => row.start);
  const durationWidth = widthOf((row) => row.duration);
  const line = (row: Row): string =>
    [
      fit(row.operation, operationWidth),
      row.service.padEnd(serviceWidth),
      row.kind.padEnd(kindWidth),
      row.start.padStart(startWidth),
      row.duration.padStart(durationWidth),
      row.status,
    ]
      .join("  ")
      .trimEnd();
  const started = new Date(Number(tree.startTimeUnixNano / 1_000_000n)).toISOString();
  const title = `trace ${tree.traceId} · ${started} · ${formatNanos(tree.endTimeUnixNano - tree.startTimeUnixNano)} · ${tree.spanCount} span${tree.spanCount === 1 ? "" : "s"} · ${tree.services.join(", ")}`;
  return [title, ...all.map(line)].join("\n");
}

/** Pads or cuts to exactly `width` characters (code points, so the box-drawing prefix counts as one each). */
function fit(text: string, width: number): string {
  const chars = [...text];
  if (chars.length <= width) return text + " ".repeat(width - chars.length);
  return `${chars.slice(0, width - 1).join("")}…`;
}

/** A duration in nanoseconds as `0.2ms`, `182.4ms` or `3.21s`, rounded half up (display only). */
export function formatNanos(nanos: bigint): string {
  const sign = nanos < 0n ? "-" : "";
  const magnitude = nanos < 0n ? -nanos : nanos;
  if (magnitude < 999_950_000n) {
    const tenthsMs = (magnitude + 50_000n) / 100_000n;
    return `${sign}${tenthsMs / 10n}.${tenthsMs % 10n}ms`;
  }
  const hundredthsS = (magnitude + 5_000_000n) / 10_000_000n;
  return `${sign}${hundredthsS / 100n}.${(hundredthsS % 100n).toString().padStart(2, "0")}s`;
}

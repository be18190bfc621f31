import { err, ok, type Result } from "@tributary/result";
import { readLocalSpans, type ReadLocalSpansError, type UnreadableLine } from "./read-local-spans.js";
import { renderTraceTree } from "./render-trace-tree.js";
import { orderIdAttribute, type TraceSpan } from "./trace-span.js";

/**
 * Attribute keys that name an order on a span: ours, and the Kafka message key, because every
 * order topic is keyed by the order id (a consumer's `process` span and the relay's `create`
 * span carry it without the service doing anything).
 */
const orderKeys = [orderIdAttribute, "messaging.kafka.message.key"] as const;

function mentionsOrder(span: TraceSpan, orderId: string): boolean {
  return orderKeys.some((key) => span.attributes[key] === orderId);
}

/**
 * The spans of every trace that belongs to an order: each trace with a span carrying the order's
 * id (`tributary.order_id`, or a Kafka key equal to it), plus the traces one link away in either
 * direction — a batch consumer (`handleBatch`) starts a trace of its own that links to each
 * producer span, and the settlement posting for this order lives in such a trace.
 */
export function traceSpansOfOrder(spans: readonly TraceSpan[], orderId: string): TraceSpan[] {
  const traceIds = orderTraceIds(spans, orderId);
  return spans.filter((span) => traceIds.has(span.traceId));
}

function orderTraceIds(spans: readonly TraceSpan[], orderId: string): Set<string> {
  const direct = new Set(spans.filter((span) => mentionsOrder(span, orderId)).map((span) => span.traceId));
  const traceIds = new Set(direct);
  for (const span of spans) {
    for (const link of span.links) {
      // A span elsewhere that links into the order's trace, or a span of the order's trace that links out.
      if (direct.has(link.traceId)) traceIds.add(span.traceId);
      if (direct.has(span.traceId)) traceIds.add(link.traceId);
    }
  }
  return traceIds;
}

/** An order's trace(s), read from a traces directory and rendered. */
export interface OrderTrace {
  readonly orderId: string;
  readonly traceIds: readonly string[];
  readonly spans: readonly TraceSpan[];
  /** {@link renderTraceTree} of `spans`. */
  readonly text: string;
  readonly unreadable: readonly UnreadableLine[];
}

/** Why an order's trace could not be shown. */
export type LoadOrderTraceError =
  | ReadLocalSpansError
  | { readonly code: "order_not_found"; readonly orderId: string; readonly dir: string; readonly message: string };

/**
 * Finds an order's trace(s) among the spans the local stack wrote to `dir` and renders them:
 * the work behind `tributary trace <order id>`. It reads the files in passes, each decoding only
 * the lines that mention what it looks for (the order id, then the trace ids found), so a whole
 * business day of spans is not parsed to show one order.
 */
export async function loadOrderTrace(dir: string, orderId: string): Promise<Result<OrderTrace, LoadOrderTraceError>> {
  const first = await readLocalSpans(dir, { mentioning: [orderId] });
  if (!first.ok) return first;
  const direct = [...new Set(first.value.spans.filter((span) => mentionsOrder(span, orderId)).map((span) => span.traceId))];
  if (direct.length === 0) {
    return err({
      code: "order_not_found",
      orderId,
      dir,
      message: `no span in ${dir} names order ${orderId} (as ${orderKeys.join(" or ")}): is the id right, and did the stack that handled it write there?`,
    });
  }
  // The order's traces in full, and the spans anywhere that link to them.
  const second = await readLocalSpans(dir, { mentioning: direct });
  if (!second.ok) return second;
  const traceIds = orderTraceIds(second.value.spans, orderId);
  // The traces linked from or to the order's traces, in full.
  const third = await readLocalSpans(dir, { mentioning: [...traceIds] });
  if (!third.ok) return third;
  const spans = third.value.spans.filter((span) => traceIds.has(span.traceId));
  return ok({
    orderId,
    traceIds: [...traceIds],
    spans,
    text: renderTraceTree(spans),
    unreadable: third.value.unreadable,
  });
}

/**
 * Prints an order's trace tree to `out` (stdout unless told), or the reason it cannot, and
 * returns the result so a command can choose its exit code.
 */
export async function printTrace(
  orderId: string,
  options: { readonly dir: string; readonly out?: NodeJS.WritableStream },
): Promise<Result<OrderTrace, LoadOrderTraceError>> {
  const out = options.out ?? process.stdout;
  const result = await loadOrderTrace(options.dir, orderId);
  if (!result.ok) {
    out.write(`${result.error.message}\n`);
    return result;
  }
  out.write(`${result.value.text}\n`);
  if (result.value.unreadable.length > 0) {
    out.write(`(${result.value.unreadable.length} unreadable line(s) skipped, e.g. ${result.value.unreadable[0]?.file}:${result.value.unreadable[0]?.line})\n`);
  }
  return result;
}

/**
 * `tributary day run` on the test broker and a private set of databases: a small business day
 * end to end, every process real. The summary it prints is checked against the services' own
 * rows (orders, journal entries, batches, reconciliation items), the ledger must sum to zero, each
 * discrepancy the sandbox injected into a bill is found once in its class, the WeChat Pay trial ramped
 * over four steps with its treatment orders on WeChat, and the reports parse.
 *
 * Every service process also exports over OTLP to the testkit's in-process receiver (the CLI
 * hands its environment, OTEL_EXPORTER_OTLP_ENDPOINT included, to the processes it starts): from
 * the spans a collector would get, every paid order is one trace from the order service to the
 * settlement posting, one webhook-captured order's trace is checked link by link, and
 * `tributary trace` shows that trace the same from the JSON-lines files the processes wrote.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { parse } from "csv-parse/sync";
import pg from "pg";
import { databaseUrl, dropDatabase, findServiceDatabases } from "@tributary/local-postgres";
import { startOtlpReceiver, type ReceivedSpan } from "@tributary/testkit/otlp-receiver";
import { testPostgresServerUrl } from "@tributary/testkit/vitest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const repoRoot = resolve(fileURLToPath(import.meta.url), "../../../..");
const databaseSuffix = `_test_day_${process.pid}`;
const outDir = mkdtempSync(join(tmpdir(), "day-run-out-"));
// The collector the stack's processes export to, as DESIGN.md has tests do (stopped in afterAll).
const otlp = await startOtlpReceiver();
const env = {
  ...process.env,
  // A broker of its own (the day run starts one when KAFKA_BROKERS is empty and no development stack
  // runs): on the shared test broker, the fresh settlement database replays payments.v1 from the
  // start and books every other test file's captures too.
  KAFKA_BROKERS: "",
  POSTGRES_URL: testPostgresServerUrl(),
  TRIBUTARY_DATABASE_SUFFIX: databaseSuffix,
  OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint,
  // Blank, so a developer's own per-signal endpoints cannot send the spans elsewhere.
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "",
  OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: "",
};
const cliEntry = resolve(repoRoot, "apps/cli/src/main.ts");

interface ProviderJson {
  provider: string;
  routed: number;
  captured: number;
  gross: string;
  reconciliation?: { billRows: number; ledgerRecords: number; matched: number; discrepancies: number; classes: Record<string, number> };
}
interface SummaryJson {
  runId: string;
  billDate: string;
  orders: { published: number; accepted: number; rejected: number; paid: number; paymentFailed: number };
  providers: ProviderJson[];
  routingRules: Record<string, number>;
  rollouts: { rolloutId: string; sharePercent: number }[];
  trial: {
    rolloutId: string;
    steps: { step: string; routed: number; treatment: number }[];
    guardrail: { verdict: string; reason: { code: string; text: string } };
    treatment: { attempts: number; successes: number };
    control: { attempts: number; successes: number };
  };
  batches: { batchId: string; provider: string; status: string; paymentCount: number; netMinor: string; heldFor: string[] }[];
  totals: { grossMinor: string; netMinor: string };
  ledgerSumByCurrency: Record<string, number>;
  injected: { provider: string; kind: string; paymentId: string; providerTransactionId: string }[];
  discrepancies: { provider: string; discrepancyClass: string; providerTransactionId: string }[];
  reports: string[];
}

/** A span as `tributary trace --json` prints it. */
interface TracedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  serviceName: string;
  links: { traceId: string; spanId: string }[];
}

async function query<T extends pg.QueryResultRow>(database: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: databaseUrl(testPostgresServerUrl(), `${database}${databaseSuffix}`) });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

describe("tributary day run", () => {
  /** The day run's output, once (`beforeAll`): both tests read it. */
  let day: { stdout: string; stderr: string; code: number } = { stdout: "", stderr: "", code: -1 };

  beforeAll(async () => {
    try {
      const { stdout, stderr } = await promisify(execFile)(
        process.execPath,
        ["--import", "tsx", "--conditions=source", cliEntry, "day", "run", "--orders", "40", "--seed", "7", "--json", "--out", outDir],
        { cwd: repoRoot, env, maxBuffer: 16 * 1024 * 1024 },
      );
      day = { stdout, stderr, code: 0 };
    } catch (error) {
      const failed = error as { code?: number; stdout?: string; stderr?: string };
      day = { stdout: failed.stdout ?? "", stderr: failed.stderr ?? "", code: failed.code ?? -1 };
    }
  }, 300_000);

  afterAll(async () => {
    await otlp.stop();
    for (const service of await findServiceDatabases(repoRoot)) await dropDatabase(testPostgresServerUrl(), `${service.database}${databaseSuffix}`);
  });

  /** The summary the day run printed, once it ran cleanly. */
  const daySummary = (): SummaryJson => {
    expect(day.stderr.split("\n").filter((line) => line.startsWith("✗"))).toEqual([]);
    expect(day.code).toBe(0);
    return JSON.parse(day.stdout.trim().split("\n").at(-1)!) as SummaryJson;
  };

  it("runs a small business day and its summary agrees with the databases, the ledger and the reports", async () => {
    const summary = daySummary();

    // Every order accepted and terminal, as the order service's own rows say.
    expect(summary.orders.published).toBe(40);
    expect(summary.orders.accepted + summary.orders.rejected).toBe(40);
    expect(summary.orders.paid + summary.orders.paymentFailed).toBe(summary.orders.accepted);
    const statuses = await query<{ status: string; n: string }>(
      "tributary_order",
      "SELECT status::text AS status, count(*) AS n FROM orders WHERE merchant_order_ref LIKE $1 GROUP BY 1",
      [`${summary.runId}-%`],
    );
    const byStatus = Object.fromEntries(statuses.map((row) => [row.status, Number(row.n)]));
    expect(byStatus).toEqual({ ...(summary.orders.paid > 0 ? { paid: summary.orders.paid } : {}), ...(summary.orders.paymentFailed > 0 ? { payment_failed: summary.orders.paymentFailed } : {}) });
    expect(summary.orders.paid).toBeGreaterThan(0);

    // Paid per provider = PaymentCaptured per provider = one capture entry each in the ledger
    // (plus the stack's two smoke payments), and every batch of the day holds exactly those.
    const captured = summary.providers.reduce((n, p) => n + p.captured, 0);
    const routed = summary.providers.reduce((n, p) => n + p.routed, 0);
    expect(Object.values(summary.routingRules).reduce((n, count) => n + count, 0)).toBe(routed);
    expect(summary.rollouts.map((r) => r.rolloutId)).toEqual([summary.trial.rolloutId]);
    // The roll-out story: WeChat Pay in trial over four ramp steps, its treatment orders routed by the
    // trial (as PaymentRouted's rule says), its arms as payment-routing's rows count them, and a verdict.
    expect(summary.trial.steps).toHaveLength(4);
    const treated = summary.trial.steps.reduce((n, s) => n + s.treatment, 0);
    expect(treated).toBeGreaterThan(0);
    const trialRouted = Object.entries(summary.routingRules).filter(([rule]) => rule.startsWith(`rollout:${summary.trial.rolloutId}:trial_treatment`)).reduce((n, [, count]) => n + count, 0);
    expect(trialRouted).toBeGreaterThanOrEqual(treated);
    const arms = await query<{ arm: string; provider: string; n: string }>(
      "tributary_payment_routing",
      "SELECT rollout_arm AS arm, provider::text AS provider, count(*) AS n FROM payments WHERE rollout_id = $1 GROUP BY 1, 2",
      [summary.trial.rolloutId],
    );
    expect(arms.filter((row) => row.arm === "treatment").map((row) => row.provider)).toEqual(["wechat_pay"]);
    expect(Number(arms.find((row) => row.arm === "treatment")?.n ?? 0)).toBeGreaterThanOrEqual(treated);
    expect(summary.trial.treatment.attempts).toBeLessThanOrEqual(Number(arms.find((row) => row.arm === "treatment")?.n ?? 0));
    expect(["continue", "pause"]).toContain(summary.trial.guardrail.verdict);
    expect(captured).toBe(summary.orders.paid);
    const entries = await query<{ n: string }>("tributary_settlement", "SELECT count(*) AS n FROM journal_entry WHERE source_key LIKE 'capture:%'");
    expect(Number(entries[0]!.n)).toBe(captured + 2);
    const duplicates = await query<{ n: string }>("tributary_settlement", "SELECT count(*) AS n FROM (SELECT source_key FROM journal_entry GROUP BY 1 HAVING count(*) > 1) d");
    expect(Number(duplicates[0]!.n)).toBe(0);
    expect(summary.batches.reduce((n, b) => n + b.paymentCount, 0)).toBe(captured + 2);
    const ledger = await query<{ currency: string; total: string }>("tributary_settlement", "SELECT currency, sum(amount_minor) AS total FROM ledger_posting GROUP BY 1");
    expect(ledger.map((row) => [row.currency.trim(), row.total])).toEqual([["CNY", "0"]]);
    expect(summary.ledgerSumByCurrency).toEqual({ CNY: 0 });

    // Each provider's worker reconciled the day against settlement's records; each injected
    // discrepancy is found once in its class; a batch is held exactly when its provider's bill
    // had a fee off.
    const items = await query<{ provider: string; match_class: string; disposition: string; item_key: string; description: string }>(
      "tributary_reconciliation",
      "SELECT r.provider, i.match_class, i.disposition, i.item_key, i.description FROM recon_items i JOIN recon_runs r USING (run_id) WHERE r.bill_date = $1 AND r.status = 'completed'",
      [summary.billDate],
    );
    for (const provider of summary.providers) expect(provider.reconciliation, provider.provider).toBeDefined();
    for (const injected of summary.injected) {
      const expectedClass = injected.kind === "changed_fee" ? "fee_mismatch" : "missing_in_bill";
      const found = items.filter((item) => item.provider === injected.provider && item.match_class === expectedClass && (item.item_key.includes(injected.providerTransactionId) || item.item_key.includes(injected.paymentId)));
      expect(found, `${injected.provider} ${injected.kind}`).toHaveLength(1);
    }
    const unexpected = items.filter((item) => item.match_class !== "matched" && !summary.injected.some((i) => i.provider === item.provider && (item.item_key.includes(i.providerTransactionId) || item.item_key.includes(i.paymentId))));
    expect(unexpected).toEqual([]);
    expect(summary.discrepancies.map((d) => d.discrepancyClass).sort()).toEqual(summary.injected.filter((i) => i.kind === "changed_fee").map(() => "fee_mismatch"));
    for (const batch of summary.batches) expect(["reconciled", "held"]).toContain(batch.status);

    // The reports exist and parse back; the batch CSV's nets add up to the summary's.
    const dayDir = join(outDir, summary.billDate);
    const files = readdirSync(dayDir).sort();
    expect(files).toEqual([
      "day-batches.csv",
      "day-discrepancies.csv",
      "day-providers.csv",
      "day-summary.json",
      "settlement-batches.csv",
      "settlement-detail.csv",
      "settlement-detail.json",
      "settlement-detail.xlsx",
      "settlement-overview.html",
    ]);
    const batchesCsv = readFileSync(join(dayDir, "day-batches.csv"));
    expect([...batchesCsv.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const rows = parse<Record<string, string>>(batchesCsv, { bom: true, columns: true });
    expect(rows).toHaveLength(summary.batches.length);
    const netFen = rows.reduce((sum, row) => sum + BigInt(row["net"]!.replace(".", "")), 0n);
    expect(netFen).toBe(BigInt(summary.totals.netMinor.replace(".", "")));
    const detail = parse<Record<string, string>>(readFileSync(join(dayDir, "settlement-detail.csv")), { bom: true, columns: true });
    expect(detail.filter((row) => row["record_type"] === "payment")).toHaveLength(captured + 2);
    expect((JSON.parse(readFileSync(join(dayDir, "day-summary.json"), "utf8")) as SummaryJson).runId).toBe(summary.runId);
    expect([...readFileSync(join(dayDir, "settlement-detail.xlsx")).subarray(0, 2)]).toEqual([0x50, 0x4b]); // a zip, as every XLSX is
    const html = readFileSync(join(dayDir, "settlement-overview.html"), "utf8");
    expect(html).toContain("<svg");
  }, 300_000);

  it("exports every paid order as one trace over OTLP: order service, Kafka hops, payment routing, provider call, webhook and settlement posting, each under its parent", async () => {
    const summary = daySummary();
    const paidOrders = (
      await query<{ order_id: string }>("tributary_order", "SELECT order_id::text FROM orders WHERE merchant_order_ref LIKE $1 AND status = 'paid' ORDER BY order_id", [`${summary.runId}-%`])
    ).map((row) => row.order_id);
    expect(paidOrders).toHaveLength(summary.orders.paid);
    // The events behind the hops, from the producers' outboxes: each `create` span carries its event id.
    const acceptedEvent = await eventIdsByKey("tributary_order", "tributary.order.v1.OrderAccepted");
    const capturedEvent = await eventIdsByKey("tributary_payment_routing", "tributary.payment.v1.PaymentCaptured");

    // The processes flushed their spans as the stack stopped, before the CLI exited; the wait covers
    // a last request still on its way.
    const spans = await otlp.waitFor(
      (received) => ["order", "payment-routing", "settlement"].every((service) => received.some((span) => span.serviceName === service)),
      "spans from order, payment-routing and settlement",
      10_000,
    );
    expect(otlp.rejected()).toEqual([]);
    const trees = spanTrees(spans);
    // Nothing was exported twice, and no span's parent is missing or in another trace.
    expect(trees.byId.size).toBe(spans.length);
    expect(spans.filter((span) => span.parentSpanId !== undefined && trees.byId.get(span.parentSpanId)?.traceId !== span.traceId).map(spanLabel)).toEqual([]);

    const paths = paidOrders.map((orderId) => paymentPath(trees, orderId, acceptedEvent.get(orderId) ?? [], capturedEvent.get(orderId) ?? []));
    // An Alipay app payment is created by signing its order string: no call to the provider at
    // creation (the buyer's app submits it), so its create span has no HTTP client span under it.
    const signedLocally = new Set(
      (
        await query<{ order_id: string }>("tributary_payment_routing", "SELECT order_id FROM payments WHERE status = 'captured' AND provider = 'alipay' AND channel = 'app'")
      ).map((row) => row.order_id),
    );
    // Every paid order: one trace from the order service's intake to settlement's posting of its capture.
    expect(paths.filter((path) => typeof path === "string")).toEqual([]);
    const complete = paths.filter((path): path is PaymentPath => typeof path !== "string");
    for (const path of complete) {
      expect(path.intake).toMatchObject({ serviceName: "order", parentSpanId: undefined });
      expect(["consumer", "server"]).toContain(path.intake.kind); // orders.inbound.v1, or CreateOrder over gRPC
      expect(path.accepted).toMatchObject({ serviceName: "order", name: "create orders.v1", kind: "producer", parentSpanId: path.intake.spanId });
      expect(path.routed).toMatchObject({ serviceName: "payment-routing", name: "process orders.v1", kind: "consumer", parentSpanId: path.accepted.spanId, attributes: { "tributary.order_id": path.orderId } });
      expect(path.attempt).toMatchObject({ serviceName: "payment-routing", name: "payment-routing create payment", parentSpanId: path.routed.spanId });
      expect(path.captured).toMatchObject({ serviceName: "payment-routing", name: "create payments.v1", kind: "producer" });
      expect(path.posting).toMatchObject({ serviceName: "settlement", name: "process payments.v1", kind: "consumer" });
      // The Kafka produce itself: the outbox relay's send span links to the event's create span.
      expect(path.acceptedSent).toMatchObject({ serviceName: "order", name: "send orders.v1", kind: "client" });
      expect(path.capturedSent).toMatchObject({ serviceName: "payment-routing", name: "send payments.v1", kind: "client" });
      // The call to the provider itself: an HTTP client span under the worker's span, in the same trace.
      if (signedLocally.has(path.orderId)) {
        expect(providerCallOf(trees, path), `no provider call under ${spanLabel(path.attempt)}: an Alipay app order string is signed locally`).toBeUndefined();
      } else {
        expect(providerCallOf(trees, path), `the provider call under ${spanLabel(path.attempt)}`).toMatchObject({
          serviceName: "payment-routing", kind: "client", traceId: path.accepted.traceId, attributes: { "http.request.method": "POST" },
        });
        expect(providerCallOf(trees, path)?.name).toMatch(/^POST (alipay|wechat_pay|unionpay|jd_pay|ecny) \S/);
      }
      for (const span of [path.intake, path.routed, path.attempt, path.capturedBy, path.captured]) expect(span.traceId).toBe(path.accepted.traceId);
      // Settlement's posting: in the trace under the capture's create span, or a batch's span of its own linked to it.
      if (path.posting.traceId === path.accepted.traceId) expect(path.posting.parentSpanId).toBe(path.captured.spanId);
      else expect(path.posting.links).toContainEqual({ traceId: path.accepted.traceId, spanId: path.captured.spanId });
    }

    // One order whose capture came by webhook and was posted on its own (not in a batch), link by link.
    const webhooked = complete.find(
      (path) =>
        path.capturedBy.name === "payment-routing apply payment notification" && path.posting.parentSpanId === path.captured.spanId && !signedLocally.has(path.orderId),
    );
    expect(webhooked, `a paid order captured by webhook and posted alone, among ${complete.length}`).toBeDefined();
    const path = webhooked!;
    const traceId = path.accepted.traceId;
    // The webhook's server span is a trace of its own (the provider sends no traceparent); the apply
    // span continues the payment's trace under the routing consumer, linked to that server span.
    expect(path.capturedBy).toMatchObject({ serviceName: "payment-routing", kind: "internal", traceId, parentSpanId: path.routed.spanId });
    const webhook = path.capturedBy.links.map((link) => trees.byId.get(link.spanId)).find((span) => span?.kind === "server");
    expect(webhook).toMatchObject({ serviceName: "payment-routing", kind: "server", attributes: { "http.request.method": "POST", "tributary.webhook.outcome": "applied" } });
    expect(webhook!.name).toMatch(/^POST \/webhooks\/[a-z_]+$/);
    expect(path.captured.parentSpanId).toBe(path.capturedBy.spanId);
    expect(path.posting).toMatchObject({ traceId, parentSpanId: path.captured.spanId, links: [] });
    // The provider call: the worker's span under the routing consumer and its HTTP client span, before the webhook came.
    expect(path.attempt).toMatchObject({ kind: "internal", traceId });
    const providerCall = providerCallOf(trees, path)!;
    expect(providerCall.status.code).not.toBe("error");
    const ordered = [path.intake, path.accepted, path.routed, path.attempt, providerCall, path.capturedBy, path.captured, path.posting];
    for (const [earlier, later] of ordered.slice(0, -1).map((span, i) => [span, ordered[i + 1]!] as const)) {
      expect(later.startTimeUnixNano, `${spanLabel(later)} starts after ${spanLabel(earlier)}`).toBeGreaterThanOrEqual(earlier.startTimeUnixNano);
    }
    for (const span of ordered) expect(span.endTimeUnixNano).toBeGreaterThanOrEqual(span.startTimeUnixNano);
    // The whole trace: one root (the order service's intake), every other span under a span of it, none failed.
    const inTrace = trees.byTrace.get(traceId)!;
    expect(inTrace.filter((span) => span.parentSpanId === undefined)).toEqual([path.intake]);
    expect(inTrace.filter((span) => span.status.code === "error").map(spanLabel)).toEqual([]);
    expect(new Set(inTrace.map((span) => span.serviceName))).toEqual(new Set(["order", "payment-routing", "settlement"]));

    // `tributary trace`, reading the JSON-lines files the processes also wrote, shows this trace as the
    // collector got it: every span, each with the same name, service and parent.
    const traced = await promisify(execFile)(process.execPath, ["--import", "tsx", "--conditions=source", cliEntry, "trace", path.orderId, "--json"], { cwd: repoRoot, env, maxBuffer: 64 * 1024 * 1024 });
    const fromFiles = (JSON.parse(traced.stdout) as { spans: TracedSpan[] }).spans.filter((span) => span.traceId === traceId);
    const shape = (span: { spanId: string; parentSpanId?: string | undefined; name: string; serviceName?: string | undefined }) => `${span.serviceName ?? "?"} ${span.name} ${span.spanId} ← ${span.parentSpanId ?? "root"}`;
    expect(fromFiles.map(shape).sort()).toEqual(inTrace.map(shape).sort());
  }, 60_000);

});

/** Event ids per message key of one event type, from a service's outbox (published rows stay 7 days). */
async function eventIdsByKey(database: string, eventType: string): Promise<Map<string, string[]>> {
  const rows = await query<{ event_id: string; message_key: string }>(database, "SELECT event_id::text, message_key FROM outbox WHERE event_type = $1", [eventType]);
  const byKey = new Map<string, string[]>();
  for (const row of rows) byKey.set(row.message_key, [...(byKey.get(row.message_key) ?? []), row.event_id]);
  return byKey;
}

interface SpanTrees {
  readonly byId: Map<string, ReceivedSpan>;
  readonly byTrace: Map<string, ReceivedSpan[]>;
  readonly children: Map<string, ReceivedSpan[]>;
  /** Spans that link to a span id. */
  readonly linkedFrom: Map<string, ReceivedSpan[]>;
}

function spanTrees(spans: readonly ReceivedSpan[]): SpanTrees {
  const push = (map: Map<string, ReceivedSpan[]>, key: string, span: ReceivedSpan) => map.set(key, [...(map.get(key) ?? []), span]);
  const trees: SpanTrees = { byId: new Map(), byTrace: new Map(), children: new Map(), linkedFrom: new Map() };
  for (const span of spans) {
    trees.byId.set(span.spanId, span);
    push(trees.byTrace, span.traceId, span);
    if (span.parentSpanId !== undefined) push(trees.children, span.parentSpanId, span);
    for (const link of span.links) push(trees.linkedFrom, link.spanId, span);
  }
  return trees;
}

/** The provider adapter's HTTP client span under the worker's provider call (`tracedFetch`). */
const providerCallOf = (trees: SpanTrees, path: PaymentPath): ReceivedSpan | undefined =>
  (trees.children.get(path.attempt.spanId) ?? []).find((span) => span.kind === "client" && span.attributes["tributary.provider"] !== undefined);

const spanLabel = (span: ReceivedSpan) => `${span.serviceName ?? "?"} ${span.name} (${span.kind} ${span.spanId} in ${span.traceId})`;

/** One paid order's spans from the order service's intake to settlement's posting of its capture. */
interface PaymentPath {
  readonly orderId: string;
  /** The order service's root span: `process orders.inbound.v1` (or CreateOrder). */
  readonly intake: ReceivedSpan;
  /** `create orders.v1` of its OrderAccepted, and the relay's `send orders.v1` that links to it. */
  readonly accepted: ReceivedSpan;
  readonly acceptedSent: ReceivedSpan;
  /** payment-routing's `process orders.v1` of that event. */
  readonly routed: ReceivedSpan;
  /** The worker's provider call under it (the first, if a failover made more). */
  readonly attempt: ReceivedSpan;
  /** The span the capture was appended in: the webhook's apply span, the worker's query or its create. */
  readonly capturedBy: ReceivedSpan;
  /** `create payments.v1` of its PaymentCaptured, and the relay's `send payments.v1` that links to it. */
  readonly captured: ReceivedSpan;
  readonly capturedSent: ReceivedSpan;
  /** settlement's `process payments.v1` that posted it: under it, or (a batch) linked to it. */
  readonly posting: ReceivedSpan;
}

/** The order's {@link PaymentPath} as the received spans have it, or what is missing from it. */
function paymentPath(trees: SpanTrees, orderId: string, acceptedEventIds: readonly string[], capturedEventIds: readonly string[]): PaymentPath | string {
  // The producer's `create` span of an event (a single-event consumer's `process` span carries the id too).
  const withEventId = (ids: readonly string[]) => ids.flatMap((id) => [...trees.byId.values()].filter((span) => span.kind === "producer" && span.attributes["messaging.message.id"] === id));
  const [accepted, ...moreAccepted] = withEventId(acceptedEventIds);
  if (accepted === undefined || moreAccepted.length > 0) return `${orderId}: ${acceptedEventIds.length} OrderAccepted in the outbox, ${moreAccepted.length + (accepted ? 1 : 0)} create spans`;
  const intake = accepted.parentSpanId === undefined ? undefined : trees.byId.get(accepted.parentSpanId);
  if (intake === undefined) return `${orderId}: OrderAccepted's create span has no parent span`;
  const routed = (trees.children.get(accepted.spanId) ?? []).find((span) => span.serviceName === "payment-routing");
  if (routed === undefined) return `${orderId}: no payment-routing span under OrderAccepted's create span`;
  const attempt = (trees.children.get(routed.spanId) ?? []).find((span) => span.name === "payment-routing create payment");
  if (attempt === undefined) return `${orderId}: no provider call under payment-routing's orders.v1 span`;
  const sentBy = (span: ReceivedSpan) => (trees.linkedFrom.get(span.spanId) ?? []).find((linking) => linking.name.startsWith("send "));
  const acceptedSent = sentBy(accepted);
  if (acceptedSent === undefined) return `${orderId}: no relay send span links to OrderAccepted's create span`;
  // Usually one capture; a failover whose first provider captured late makes two (one is refunded).
  const captures = withEventId(capturedEventIds);
  if (captures.length !== capturedEventIds.length || captures.length === 0) return `${orderId}: ${capturedEventIds.length} PaymentCaptured in the outbox, ${captures.length} create spans`;
  const missing: string[] = [];
  for (const captured of captures) {
    const capturedBy = captured.parentSpanId === undefined ? undefined : trees.byId.get(captured.parentSpanId);
    const posting = [...(trees.children.get(captured.spanId) ?? []), ...(trees.linkedFrom.get(captured.spanId) ?? [])].find((span) => span.serviceName === "settlement" && span.name === "process payments.v1");
    const capturedSent = sentBy(captured);
    if (captured.traceId !== accepted.traceId) missing.push("PaymentCaptured was created in another trace");
    else if (capturedBy === undefined) missing.push("PaymentCaptured's create span has no parent");
    else if (posting === undefined) missing.push("no settlement span under or linked to PaymentCaptured's create span");
    else if (capturedSent === undefined) missing.push("no relay send span links to PaymentCaptured's create span");
    else return { orderId, intake, accepted, acceptedSent, routed, attempt, capturedBy, captured, capturedSent, posting };
  }
  return `${orderId}: ${missing.join("; ")}`;
}

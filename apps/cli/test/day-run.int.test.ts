/**
 * `tributary day run` on the test broker and a private set of databases: a small business day
 * end to end, every process real. The summary it prints is checked against the services' own
 * rows (orders, journal entries, batches, reconciliation items), the ledger must sum to zero, each
 * discrepancy the sandbox injected into a bill is found once in its class, the WeChat Pay trial ramped
 * over four steps with its treatment orders on WeChat, the reports parse, and
 * one paid order's spans (read back by `tributary trace`) run from the order service through
 * payment routing's consumer, worker and capture to the settlement posting.
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
import { testPostgresServerUrl } from "@tributary/testkit/vitest";
import { afterAll, describe, expect, it } from "vitest";

const repoRoot = resolve(fileURLToPath(import.meta.url), "../../../..");
const databaseSuffix = `_test_day_${process.pid}`;
const outDir = mkdtempSync(join(tmpdir(), "day-run-out-"));
const env = {
  ...process.env,
  // A broker of its own (the day run starts one when KAFKA_BROKERS is empty and no development stack
  // runs): on the shared test broker, the fresh settlement database replays payments.v1 from the
  // start and books every other test file's captures too.
  KAFKA_BROKERS: "",
  POSTGRES_URL: testPostgresServerUrl(),
  TRIBUTARY_DATABASE_SUFFIX: databaseSuffix,
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
  afterAll(async () => {
    for (const service of await findServiceDatabases(repoRoot)) await dropDatabase(testPostgresServerUrl(), `${service.database}${databaseSuffix}`);
  });

  it("runs a small business day and its summary agrees with the databases, the ledger and the reports", async () => {
    let stdout = "";
    let stderr = "";
    let code = 0;
    try {
      ({ stdout, stderr } = await promisify(execFile)(
        process.execPath,
        ["--import", "tsx", "--conditions=source", cliEntry, "day", "run", "--orders", "40", "--seed", "7", "--json", "--out", outDir],
        { cwd: repoRoot, env, maxBuffer: 16 * 1024 * 1024 },
      ));
    } catch (error) {
      const failed = error as { code?: number; stdout?: string; stderr?: string };
      code = failed.code ?? -1;
      stdout = failed.stdout ?? "";
      stderr = failed.stderr ?? "";
    }
    expect(stderr.split("\n").filter((line) => line.startsWith("✗"))).toEqual([]);
    expect(code).toBe(0);
    const summary = JSON.parse(stdout.trim().split("\n").at(-1)!) as SummaryJson;

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

    // One paid order is one trace from the order service to the settlement posting, as
    // `tributary trace` reads it from the spans the stack's processes wrote.
    const [paid] = await query<{ order_id: string }>("tributary_order", "SELECT order_id::text FROM orders WHERE merchant_order_ref LIKE $1 AND status = 'paid' LIMIT 1", [`${summary.runId}-%`]);
    const traced = await promisify(execFile)(process.execPath, ["--import", "tsx", "--conditions=source", cliEntry, "trace", paid!.order_id, "--json"], { cwd: repoRoot, env, maxBuffer: 64 * 1024 * 1024 });
    const spans = (JSON.parse(traced.stdout) as { spans: TracedSpan[] }).spans;
    const byId = new Map(spans.map((span) => [span.spanId, span]));
    const parentOf = (span: TracedSpan) => (span.parentSpanId === undefined ? undefined : byId.get(span.parentSpanId));
    const fromOrderService = (span: TracedSpan) => parentOf(span)?.serviceName === "order" || span.links.some((link) => byId.get(link.spanId)?.serviceName === "order");
    // payment-routing consumed the order service's OrderAccepted under its produce span (or, in a
    // batch, linked to it) …
    const consumedOrder = spans.find((span) => span.serviceName === "payment-routing" && span.name === "process orders.v1" && fromOrderService(span));
    expect(consumedOrder, "payment-routing's OrderAccepted span, under or linked to an order-service span").toBeDefined();
    const inOrderTrace = spans.filter((span) => span.traceId === consumedOrder!.traceId);
    // … its worker called the provider under that consumer span (a failover's next attempt sits under the failed call) …
    expect(inOrderTrace.some((span) => span.name === "payment-routing create payment" && span.parentSpanId === consumedOrder!.spanId)).toBe(true);
    // … the capture was applied under it too, by the webhook or by the worker's query …
    const capturedBy = inOrderTrace.filter((span) => span.name === "payment-routing apply payment notification" || span.name === "payment-routing check pending payment");
    expect(capturedBy.length).toBeGreaterThan(0);
    // … and settlement posted the capture from a PaymentCaptured produced in this trace: as the
    // consumer span's parent, or linked from a batch's consumer span.
    const producedHere = new Set(inOrderTrace.filter((span) => span.serviceName === "payment-routing" && span.name === "create payments.v1").map((span) => span.spanId));
    const posted = spans.filter((span) => span.serviceName === "settlement" && span.name === "process payments.v1");
    expect(posted.some((span) => producedHere.has(span.parentSpanId ?? "") || span.links.some((link) => producedHere.has(link.spanId)))).toBe(true);
  }, 300_000);
});

import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DiscrepancyClass, type DiscrepancyFound, type ExceptionResolved, type ReconciliationCompleted } from "@tributary/contracts/reconciliation/v1/reconciliation_events";
import { Provider } from "@tributary/contracts/common/v1/provider";
import { kafkaHeadersToRecord } from "@tributary/events";
import { startGroupAtTopicEnd } from "@tributary/testkit/vitest";
import { startTelemetry, type Telemetry } from "@tributary/telemetry";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inTransaction } from "../src/adapters/db/in-transaction.js";
import { createPgExceptionQueue } from "../src/adapters/db/pg-exception-queue.js";
import { createReconOutbox } from "../src/adapters/kafka/recon-outbox.js";
import { insertLedgerRecords } from "../src/adapters/db/pg-ledger-records.js";
import { listExceptions, resolveException } from "../src/app/exceptions.js";
import { startReconciliationWorker, type RunningReconciliationWorker } from "../src/reconciliation-worker.js";
import { at, eventually, startReconTestEnv, type ReconTestEnv } from "./recon-test-env.js";

// One WeChat day end to end: payments made through payment-routing's adapter at the sandbox, a bill
// with every kind of injected difference, the worker fetching it through the signed tradebill API
// on StatementAvailable, and the results on reconciliation.v1 and in the exceptions queue.
const D = "2026-11-23";
const D1 = "2026-11-24";
let env: ReconTestEnv;
let worker: RunningReconciliationWorker;
let telemetry: Telemetry;
const billDir = mkdtempSync(join(tmpdir(), "recon-bills-"));
const queue = createPgExceptionQueue();
const ptx = (outTradeNo: string): string => env.sandbox.transactions("wechat").find((p) => p.outTradeNo === outTradeNo)?.providerTradeNo ?? "?";

beforeAll(async () => {
  env = await startReconTestEnv({
    provider: "wechat_pay",
    startMs: at(D, "08:00:00"),
    discrepancies: [
      { kind: "missing_row", outTradeNo: "WXP003" },
      { kind: "changed_amount", outTradeNo: "WXP004", deltaMinor: 100n },
      { kind: "changed_fee", outTradeNo: "WXP005", deltaMinor: 2n },
      { kind: "status_difference", outTradeNo: "WXP006" },
      { kind: "extra_row", outTradeNo: "GHOST1", amountMinor: 500n, atMs: at(D, "16:00:00") },
      { kind: "next_day_booking", withinMsOfCutoff: 1000 },
    ],
  });
  await env.pay("WXP001", 10_000n, at(D, "09:00:00"));
  await env.pay("WXP002", 129_902n, at(D, "10:00:00"));
  await env.refund("WXP002", "WXP002R1", 50_000n, 129_902n, at(D, "11:00:00"));
  await env.pay("WXP003", 5_000n, at(D, "12:00:00"));
  await env.pay("WXP004", 8_888n, at(D, "13:00:00"));
  await env.pay("WXP005", 6_666n, at(D, "14:00:00"));
  await env.pay("WXP006", 1_234n, at(D, "15:00:00"));
  await env.pay("WXMIDNIGHT", 7_777n, at(D, "23:59:59.500"));
  await eventually(async () => (env.sandbox.transactions("wechat").every((p) => p.refunds.every((r) => r.successAtMs !== undefined)) ? true : undefined), "the refund to succeed");
  await insertLedgerRecords(env.pool, "wechat_pay", env.ledgerFromSandbox());
  env.clock.set(at(D1, "10:00:00"));
  // Telemetry first, as the service's main does: the worker's metrics are made from its meter.
  telemetry = await startTelemetry({ serviceName: "reconciliation", env: {} });
  // The worker reads only this file's statements: earlier files' WeChat statements would be runs too (and counted).
  const groupId = `reconciliation-wechat-test-${Date.now()}`;
  await startGroupAtTopicEnd(new Kafka({ clientId: "recon-wechat-offsets", brokers: [...env.brokers], logLevel: logLevel.NOTHING }), groupId, "statements.v1");
  worker = await startReconciliationWorker({
    databaseUrl: env.databaseUrl,
    kafka: { brokers: env.brokers },
    source: env.sourceConfig(),
    matchConfig: { exceptionAfterDays: 0 },
    groupId,
    localBillRoot: billDir,
  });
});

afterAll(async () => {
  await worker?.stop();
  await env?.stop();
  await telemetry?.shutdown();
});

/** The value of one series of the worker's Prometheus exposition (0 when absent). */
async function metric(name: string, labels: Readonly<Record<string, string>>): Promise<number> {
  const text = await new Promise<string>((resolve, reject) => {
    const server = createServer((req, res) => telemetry.serveMetrics(req, res));
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      fetch(`http://127.0.0.1:${port}/metrics`)
        .then((response) => response.text())
        .then(resolve, reject)
        .finally(() => server.close());
    });
  });
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && wanted.every((w) => l.includes(w)));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
}

const completed = (billDate: string, except: readonly string[] = []) =>
  env.records.find((r) => r.type.endsWith("ReconciliationCompleted") && r.key === `wechat_pay/${billDate}` && !except.includes((r.message as ReconciliationCompleted).reconciliationId))?.message as ReconciliationCompleted | undefined;
const discrepancies = (runId: string) => env.records.filter((r) => r.type.endsWith("DiscrepancyFound") && (r.message as DiscrepancyFound).reconciliationId === runId).map((r) => r.message as DiscrepancyFound);

describe("a WeChat day reconciled by the worker", () => {
  let firstRunId = "";

  it("finds each injected difference once, in its class, and nothing else; the midnight payment is carried", async () => {
    await env.publishStatement(D);
    const done = await eventually(async () => completed(D), "ReconciliationCompleted for D");
    firstRunId = done.reconciliationId;
    expect(done.billRowCount).toBe(7n); // WX1, WX2, its refund, WX4, WX5, WX6, GHOST1 (WX3 missing, the midnight one on tomorrow's bill)
    expect(done.matchedCount).toBe(3n);
    expect(done.discrepancyCount).toBe(5n);

    const { rows } = await env.pool.query<{ match_class: string; item_key: string; status: string }>(`SELECT match_class, item_key, status FROM recon_exceptions WHERE provider = 'wechat_pay' AND bill_date = $1 ORDER BY match_class`, [D]);
    expect(rows.map((r) => [r.match_class, r.item_key])).toEqual([
      ["fee_mismatch", `payment:txn:${ptx("WXP005")}`],
      ["missing_in_bill", `payment:txn:${ptx("WXP003")}`],
      ["missing_in_ledger", "payment:txn:EXTRAGHOST1"],
      ["over_amount", `payment:txn:${ptx("WXP004")}`],
      ["status_mismatch", `payment:txn:${ptx("WXP006")}`],
    ]);
    expect(rows.every((r) => r.status === "open")).toBe(true);
    // The run's classes on the worker's Prometheus endpoint, as the run's rows have them.
    expect(await metric("reconciliation_runs_total", { provider: "wechat_pay", outcome: "completed" })).toBe(1);
    const expectedCounts = { matched: 3, fee_mismatch: 1, missing_in_bill: 1, missing_in_ledger: 1, over_amount: 1, status_mismatch: 1, timing: 1 } as const;
    for (const [matchClass, count] of Object.entries(expectedCounts)) {
      expect(await metric("reconciliation_items_total", { provider: "wechat_pay", class: matchClass }), matchClass).toBe(count);
    }
    // ReconciliationCompleted carries every class's count and amounts, zero ones included.
    const perClass = Object.fromEntries(done.classTotals.map((t) => [t.matchClass, t.count]));
    expect(Object.keys(perClass)).toHaveLength(10);
    for (const [matchClass, count] of Object.entries(perClass)) expect(count, matchClass).toBe(BigInt(expectedCounts[matchClass as keyof typeof expectedCounts] ?? 0));
    const overTotal = done.classTotals.find((t) => t.matchClass === "over_amount");
    expect(overTotal).toMatchObject({ billAmount: { amountMinor: 8_988n, currency: "CNY" }, ledgerAmount: { amountMinor: 8_888n, currency: "CNY" } });

    const found = await eventually(async () => (discrepancies(firstRunId).length === 5 ? discrepancies(firstRunId) : undefined), "five DiscrepancyFound");
    expect(found.map((d) => d.discrepancyClass).sort()).toEqual(
      [DiscrepancyClass.MISSING_IN_LEDGER, DiscrepancyClass.MISSING_IN_BILL, DiscrepancyClass.AMOUNT_MISMATCH, DiscrepancyClass.FEE_MISMATCH, DiscrepancyClass.STATUS_MISMATCH].sort(),
    );
    // Each names its queue row, so a resolution can be told apart per exception.
    const ids = await env.pool.query<{ exception_id: string }>(`SELECT exception_id FROM recon_exceptions WHERE provider = 'wechat_pay' AND bill_date = $1`, [D]);
    expect(found.map((d) => d.exceptionId).sort()).toEqual(ids.rows.map((r) => r.exception_id).sort());
    const over = found.find((d) => d.description.startsWith("over_amount"));
    expect(over?.billAmount?.amountMinor).toBe(8_988n);
    expect(over?.ledgerAmount?.amountMinor).toBe(8_888n);
    expect(over?.billLocation).toMatch(/^wechat_tradebill_2026-11-23_ALL\.csv:\d+$/);

    const items = await env.pool.query<{ match_class: string; disposition: string; item_key: string }>(`SELECT match_class, disposition, item_key FROM recon_items WHERE run_id = $1 AND match_class = 'timing'`, [firstRunId]);
    expect(items.rows).toEqual([{ match_class: "timing", disposition: "carried", item_key: `payment:txn:${ptx("WXMIDNIGHT")}` }]);
    const file = await env.pool.query<{ sha256: string; provider_digest_algorithm: string; provider_digest: string; content: Buffer }>(`SELECT f.sha256, f.provider_digest_algorithm, f.provider_digest, f.content FROM recon_runs r JOIN bill_files f USING (bill_file_id) WHERE r.run_id = $1`, [firstRunId]);
    const kept = file.rows[0];
    expect(kept?.provider_digest_algorithm).toBe("SHA1");
    expect(createHash("sha1").update(kept?.content ?? Buffer.alloc(0)).digest("hex")).toBe(kept?.provider_digest);
    expect(createHash("sha256").update(kept?.content ?? Buffer.alloc(0)).digest("hex")).toBe(kept?.sha256);
  });

  it("matches the carried midnight payment on the next day's bill, flagging nothing", async () => {
    env.clock.set(at("2026-11-25", "10:00:00"));
    await env.publishStatement(D1);
    const done = await eventually(async () => completed(D1), "ReconciliationCompleted for D+1");
    expect(done.billRowCount).toBe(1n);
    expect(done.matchedCount).toBe(1n);
    expect(done.discrepancyCount).toBe(0n);
    const items = await env.pool.query<{ match_class: string; carried_from: string }>(`SELECT match_class, carried_from FROM recon_items WHERE run_id = $1`, [done.reconciliationId]);
    expect(items.rows).toEqual([{ match_class: "matched", carried_from: D }]);
  });

  it("does nothing again for the same bill delivered again", async () => {
    const eventId = await env.publishStatement(D);
    await eventually(async () => {
      const { rows } = await env.pool.query(`SELECT 1 FROM inbox WHERE event_id = $1`, [eventId]);
      return rows.length > 0 ? true : undefined;
    }, "the redelivered event in the inbox");
    const runs = await env.pool.query(`SELECT run_id FROM recon_runs WHERE provider = 'wechat_pay' AND bill_date = $1`, [D]);
    expect(runs.rows).toHaveLength(1);
    const outbox = await env.pool.query(`SELECT 1 FROM outbox WHERE message_key = $1`, [`wechat_pay/${D}`]);
    expect(outbox.rows).toHaveLength(6); // five DiscrepancyFound and one ReconciliationCompleted, once
  });

  it("refuses a malformed bill handed over as a file, applying nothing", async () => {
    const content = (await env.pool.query<{ content: Buffer }>(`SELECT f.content FROM recon_runs r JOIN bill_files f USING (bill_file_id) WHERE r.run_id = $1`, [firstRunId])).rows[0]?.content ?? Buffer.alloc(0);
    const path = join(billDir, "truncated.csv");
    const truncated = content.subarray(0, content.lastIndexOf("总交易单数"));
    writeFileSync(path, truncated);
    const eventId = await env.publishStatement(D, { location: path, digestAlgorithm: "SHA256", digest: createHash("sha256").update(truncated).digest("hex") });
    await eventually(async () => ((await env.pool.query(`SELECT 1 FROM inbox WHERE event_id = $1`, [eventId])).rows.length > 0 ? true : undefined), "the event in the inbox");
    const runs = await env.pool.query<{ status: string; rejection: string | null }>(`SELECT status, rejection FROM recon_runs WHERE provider = 'wechat_pay' AND bill_date = $1 ORDER BY started_at`, [D]);
    expect(runs.rows.map((r) => r.status)).toEqual(["completed", "rejected"]);
    expect(runs.rows[1]?.rejection).toMatch(/^truncated\.csv:\d+:0: truncated: /);
    expect(await metric("reconciliation_runs_total", { provider: "wechat_pay", outcome: "rejected" })).toBe(1);
    expect((await env.pool.query(`SELECT 1 FROM outbox WHERE message_key = $1`, [`wechat_pay/${D}`])).rows).toHaveLength(6);
  });

  it("lets a corrected bill supersede the first, recording the difference and clearing what it no longer shows", async () => {
    const content = (await env.pool.query<{ content: Buffer }>(`SELECT f.content FROM recon_runs r JOIN bill_files f USING (bill_file_id) WHERE r.run_id = $1`, [firstRunId])).rows[0]?.content.toString("utf8") ?? "";
    // The provider's correction: the ghost row is gone and the summary says so.
    const lines = content.split("\r\n");
    const kept = lines.filter((l) => !l.includes("`GHOST1,"));
    const summaryAt = kept.length - 2;
    const cells = (kept[summaryAt] ?? "").split(",");
    const minus5 = (cell: string | undefined): string => {
      const [yuan = "0", fen = "00"] = (cell ?? "`0.00").slice(1).split(".");
      const value = BigInt(yuan) * 100n + BigInt(fen) - 500n;
      return `\`${value / 100n}.${String(value % 100n).padStart(2, "0")}`;
    };
    cells[0] = `\`${Number((cells[0] ?? "`0").slice(1)) - 1}`;
    cells[1] = minus5(cells[1]);
    cells[5] = minus5(cells[5]);
    kept[summaryAt] = cells.join(",");
    const corrected = Buffer.from(kept.join("\r\n"), "utf8");
    const path = join(billDir, "wechat_tradebill_2026-11-23_ALL.v2.csv");
    writeFileSync(path, corrected);
    await env.publishStatement(D, { location: `file://${path}`, digestAlgorithm: "SHA256", digest: createHash("sha256").update(corrected).digest("hex") });

    const done = await eventually(async () => completed(D, [firstRunId]), "ReconciliationCompleted of the corrected bill");
    expect(done.discrepancyCount).toBe(4n);
    const runs = await env.pool.query<{ run_id: string; status: string; difference: { supersededRunId: string; clearedExceptions: string[]; newExceptions: string[] } | null }>(
      `SELECT run_id, status, difference FROM recon_runs WHERE provider = 'wechat_pay' AND bill_date = $1 AND status <> 'rejected' ORDER BY started_at`, [D]);
    expect(runs.rows.map((r) => r.status)).toEqual(["superseded", "completed"]);
    expect(runs.rows[1]?.difference).toMatchObject({ supersededRunId: firstRunId, clearedExceptions: ["missing_in_ledger:payment:txn:EXTRAGHOST1"], newExceptions: [] });
    const ghost = await env.pool.query<{ status: string; resolved_by: string; note: string }>(`SELECT status, resolved_by, note FROM recon_exceptions WHERE item_key = 'payment:txn:EXTRAGHOST1'`);
    expect(ghost.rows[0]).toMatchObject({ status: "resolved", resolved_by: "reconciliation" });
    // The four that remain were not announced again.
    expect(discrepancies(done.reconciliationId)).toEqual([]);
  });

  it("resolves an exception with who and when, once, and publishes the approved adjustment on reconciliation.v1", async () => {
    const outbox = createReconOutbox();
    const open = await inTransaction(env.pool, (tx) => listExceptions(queue, tx, { provider: "wechat_pay", billDate: D, status: "open" }));
    expect(open.map((e) => e.matchClass).sort()).toEqual(["fee_mismatch", "missing_in_bill", "over_amount", "status_mismatch"]);
    const target = open.find((e) => e.matchClass === "fee_mismatch")!;
    const at = new Date("2026-11-25T03:00:00Z");
    const resolve = (input: Omit<Parameters<typeof resolveException>[3], "exceptionId">) =>
      inTransaction(env.pool, (tx) => resolveException(queue, outbox, tx, { exceptionId: target.exceptionId, ...input }));
    // Adjusted needs the adjustment, in the exception's currency, not zero; resolved refuses one.
    const refused = [
      await resolve({ status: "adjusted", note: "fee", by: "finance:li", at }),
      await resolve({ status: "adjusted", note: "fee", by: "finance:li", at, adjustment: { merchantId: "m-1", amountMinor: 0n, currency: "CNY" } }),
      await resolve({ status: "adjusted", note: "fee", by: "finance:li", at, adjustment: { merchantId: " ", amountMinor: 1n, currency: "CNY" } }),
      await resolve({ status: "adjusted", note: "fee", by: "finance:li", at, adjustment: { merchantId: "m-1", amountMinor: 1n, currency: "USD" } }),
      await resolve({ status: "resolved", note: "fee", by: "finance:li", at, adjustment: { merchantId: "m-1", amountMinor: 1n, currency: "CNY" } }),
    ];
    expect(refused.map((r) => !r.ok && `${r.error.code}:${"field" in r.error ? r.error.field : ""}`)).toEqual([
      "adjustment_invalid:adjustment", "adjustment_invalid:adjustment.amount", "adjustment_invalid:adjustment.merchant_id",
      "adjustment_invalid:adjustment.amount.currency", "adjustment_invalid:adjustment",
    ]);
    const first = await resolve({ status: "adjusted", note: "fee overcharged, WeChat refunds it next cycle", by: "finance:li", at, adjustment: { merchantId: "m-wx-1", amountMinor: 7n, currency: "CNY" } });
    expect(first.ok && first.value).toMatchObject({ status: "adjusted", resolvedBy: "finance:li", resolvedAt: at, adjustment: { merchantId: "m-wx-1", amountMinor: 7n } });
    const again = await resolve({ status: "resolved", note: "again", by: "finance:li", at });
    expect(!again.ok && again.error.code).toBe("exception_not_open");
    const resolvedEvents = () => env.records.filter((r) => r.type.endsWith("ExceptionResolved") && (r.message as ExceptionResolved).exceptionId === target.exceptionId);
    const [published] = await eventually(async () => (resolvedEvents().length > 0 ? resolvedEvents() : undefined), "ExceptionResolved on reconciliation.v1");
    expect(published?.key).toBe(`wechat_pay/${D}`);
    expect(published?.message).toMatchObject({
      exceptionId: target.exceptionId, reconciliationId: target.runId, provider: Provider.WECHAT_PAY, billDate: D, matchClass: "fee_mismatch",
      note: "fee overcharged, WeChat refunds it next cycle", resolvedBy: "finance:li",
      adjustment: { merchantId: "m-wx-1", amount: { amountMinor: 7n, currency: "CNY" } },
    });
    // The refused attempts published nothing, the repeat nothing more.
    expect(resolvedEvents()).toHaveLength(1);
  });

  it("dead-letters a StatementAvailable naming a local file outside its bill folder, reading nothing", async () => {
    const kafka = new Kafka({ clientId: "recon-dlq-watch", brokers: [...env.brokers], logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: `recon-dlq-watch-${Date.now()}` });
    await consumer.connect();
    await consumer.subscribe({ topic: "statements.v1.dlq", fromBeginning: true });
    const dead: Record<string, string>[] = [];
    await consumer.run({ eachMessage: async ({ message }) => void dead.push(kafkaHeadersToRecord(message.headers)) });
    try {
      const eventId = await env.publishStatement(D, { location: "/etc/hostname" });
      const letter = await eventually(async () => dead.find((h) => Object.values(h).includes(eventId)), "the dead letter");
      expect(Object.values(letter).join(" ")).toMatch(/outside/);
      const runs = await env.pool.query(`SELECT 1 FROM bill_files WHERE file_name = 'hostname'`);
      expect(runs.rows).toEqual([]);
    } finally {
      await consumer.disconnect();
    }
  });
});

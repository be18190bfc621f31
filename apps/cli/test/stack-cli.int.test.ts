/**
 * The operator's loop on a real stack (a broker of its own, a private set of databases):
 * `tributary stack up` in the background, `stack status` sees every service ready, `simulate`
 * publishes orders the order service accepts, `trace` and `routing` answer; then finance's day:
 * a capture booked on a past day is closed into a batch by `settle close-day` (twice: the second
 * says it was closed already), `report export` writes the day's reports, `recon run` has the JD Pay
 * worker reconcile a bill that disagrees with the ledger, `recon exceptions` lists the exception,
 * `stack status` shows the key metrics (a dead letter and its parked key included) and a balanced
 * ledger, and `recon resolve` closes the exception. `stack down` stops it all, after which every
 * command that needs the stack exits 3. Usage errors exit 2.
 *
 * The stack runs on a broker of this file's own: its services consume with their real group
 * names, from the earliest offset of a group that is new, so on the worker slot's broker they
 * would apply (and dead-letter) every event the files before this one left on the topics.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { parse } from "csv-parse/sync";
import { Kafka, logLevel } from "kafkajs";
import pg from "pg";
import { paymentsTopic, providerIdToProto } from "@tributary/contracts";
import { Provider } from "@tributary/contracts/common/v1/provider";
import { PaymentCapturedSchema } from "@tributary/contracts/payment/v1/payment_events";
import { createIdempotentProducer, envelopeHeaders, newEventId, protobufContentType } from "@tributary/events";
import { startKafka, type KafkaCluster } from "@tributary/local-kafka";
import { databaseUrl, dropDatabase, findServiceDatabases } from "@tributary/local-postgres";
import { shanghaiBusinessDate } from "@tributary/settlement";
import { testPostgresServerUrl } from "@tributary/testkit/vitest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const repoRoot = resolve(fileURLToPath(import.meta.url), "../../../..");
const databaseSuffix = `_test_cli_${process.pid}`;
/** The file's own broker (beforeAll); KAFKA_BROKERS of every command below. */
let broker: KafkaCluster | undefined;
const env: Record<string, string | undefined> = {
  ...process.env,
  POSTGRES_URL: testPostgresServerUrl(),
  TRIBUTARY_DATABASE_SUFFIX: databaseSuffix,
};
const cliEntry = resolve(repoRoot, "apps/cli/src/main.ts");

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ["--import", "tsx", "--conditions=source", cliEntry, ...args], { cwd: repoRoot, env, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls `read` every 500 ms until `done` holds for its value; returns the last value either way. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    value = await read();
  }
  return value;
}

/** The business day `offset` days from today, in Asia/Shanghai. */
function shanghaiDay(offset: number): string {
  return shanghaiBusinessDate(new Date(Date.now() + offset * 86_400_000));
}

interface BatchJson {
  batchId: string;
  merchantId: string;
  provider: string;
  status: string;
  paymentCount: number;
  gross: string;
  net: string;
}
interface ExceptionJson {
  exceptionId: string;
  provider: string;
  billDate: string;
  matchClass: string;
  itemKey: string;
  status: string;
  billAmount: string | null;
  ledgerAmount: string | null;
  note: string;
  resolvedBy: string;
}
interface StatusJson {
  stackAlive: boolean;
  services: { name: string; pid: number; ready: boolean; grpcAddress?: string }[];
  metrics: {
    payments: { provider: string; outcome: string; reason: string; count: number }[];
    providerCalls: { provider: string; call: string; outcome: string; count: number }[];
    outbox: { service: string; pending: number; quarantined: number }[];
    consumerLag: { service: string; group: string; topic: string; lag: number }[];
    parkedKeys: { service: string; group: string; topic: string; keys: number }[];
    deadLettered: { service: string; group: string; topic: string; count: number }[];
    reconciliationItems: { provider: string; matchClass: string; count: number }[];
    problems: string[];
    notExported: string[];
  };
  ledgerCheck: { ok: boolean; readAgeS?: number; sumMinorByCurrency?: Record<string, string>; error?: string };
  reconciliation: { openByClass?: { provider: string; matchClass: string; open: number }[]; error?: string };
}

describe("tributary stack up | status | simulate | trace | routing | settle | report | recon | down", () => {
  let stack: ChildProcess | undefined;
  let exited: Promise<number | null> = Promise.resolve(null);
  let output = "";

  beforeAll(async () => {
    broker = await startKafka({ nodes: 1 });
    env["KAFKA_BROKERS"] = broker.brokers.join(",");
    const started = spawn(process.execPath, ["--import", "tsx", "--conditions=source", cliEntry, "stack", "up"], { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
    stack = started;
    started.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    started.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    exited = new Promise<number | null>((resolveExit) => started.once("exit", (code) => resolveExit(code)));
    const deadline = Date.now() + 150_000;
    while (!output.includes("running; Ctrl-C") && !output.includes("✗") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  }, 180_000);

  afterAll(async () => {
    // A test that failed before `stack down` must not leave the stack's processes behind.
    if (stack?.pid !== undefined && alive(stack.pid)) {
      stack.kill("SIGTERM");
      await exited;
    }
    await broker?.stop();
    for (const service of await findServiceDatabases(repoRoot)) await dropDatabase(testPostgresServerUrl(), `${service.database}${databaseSuffix}`);
  }, 120_000);

  it("status sees the running stack's services ready; simulate, trace and routing answer", async () => {
    expect(output).toContain("running; Ctrl-C");
    // Settlement reads its ledger imbalance every 10 s; until its first reading after the smoke
    // flow opened the accounts there is none, and the ledger check (so the status) fails: poll.
    const status = await until(() => cli("stack", "status", "--json"), (answer) => answer.code === 0, 30_000);
    expect(status.code, status.stdout).toBe(0);
    const report = JSON.parse(status.stdout) as StatusJson;
    expect(report.ledgerCheck).toMatchObject({ ok: true, sumMinorByCurrency: { CNY: "0" } });
    expect(report.stackAlive).toBe(true);
    expect(report.services.map((service) => service.name).sort()).toEqual(["order", "payment-routing", "reconciliation", "settlement"]);
    expect(report.services.every((service) => service.ready)).toBe(true);
    // Reconciliation now serves its gRPC API in the stack, for `recon exceptions | resolve`.
    expect(report.services.find((service) => service.name === "reconciliation")?.grpcAddress).toMatch(/^127\.0\.0\.1:\d+$/);

    // A simulated upstream system's orders all come back accepted from the order service process.
    const simulated = await cli("simulate", "--orders", "300", "--run-id", `cli-test-${process.pid}`, "--json");
    expect(simulated.code).toBe(0);
    const simulation = JSON.parse(simulated.stdout) as { published: number; accepted: number; rejected: number; sampleOrderIds: string[] };
    expect(simulation).toMatchObject({ published: 300, accepted: 300, rejected: 0 });

    // One of those orders as a trace tree, from the spans the order service process wrote
    // (its batch exporter flushes every few seconds, so give it a moment).
    const orderId = simulation.sampleOrderIds[0]!;
    let trace = await cli("trace", orderId);
    for (let attempt = 0; attempt < 30 && trace.code !== 0; attempt += 1) {
      await new Promise((r) => setTimeout(r, 500));
      trace = await cli("trace", orderId);
    }
    expect(trace.code).toBe(0);
    expect(trace.stdout).toContain("order");
    const missing = await cli("trace", "01900000-0000-7000-8000-000000000000");
    expect(missing.code).toBe(3);

    // The routing policy and a decision explained, from the payment-routing process over gRPC.
    const shown = await cli("routing", "show", "--json");
    expect(shown.code).toBe(0);
    expect((JSON.parse(shown.stdout) as { version: number }).version).toBeGreaterThanOrEqual(1);
    const preview = await cli("routing", "preview", "--merchant", "m-taobao-1", "--amount", "129.90", "--category", "gift_card", "--json");
    expect(preview.code).toBe(0);
    const decision = JSON.parse(preview.stdout) as { candidates: unknown[]; dropped: { reasons: { code: string }[] }[] };
    expect(decision.candidates.length).toBeGreaterThan(0);
    expect(decision.dropped.flatMap((dropped) => dropped.reasons.map((reason) => reason.code))).toContain("excluded_by_rule");
    // A mini-program checkout: WeChat JSAPI needs the openid; given one, WeChat Pay is no longer dropped for the lack of it.
    const miniProgram = async (...extra: string[]) => {
      const answer = await cli("routing", "preview", "--merchant", "m-small-2", "--amount", "12.00", "--channel", "mini_program", "--json", ...extra);
      const parsed = JSON.parse(answer.stdout) as { dropped: { provider: number; reasons: { code: string }[] }[] };
      return parsed.dropped.flatMap((dropped) => dropped.reasons.map((reason) => `${Provider[dropped.provider] ?? "?"}:${reason.code}`));
    };
    expect(await miniProgram()).toContain("WECHAT_PAY:buyer_account_missing");
    expect(await miniProgram("--buyer-account", "wechat_pay=oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")).not.toContain("WECHAT_PAY:buyer_account_missing");
    const badAccount = await cli("routing", "preview", "--merchant", "m-small-2", "--amount", "12.00", "--buyer-account", "paypal=x");
    expect(badAccount.code).toBe(2);
    expect(badAccount.stderr).toContain("--buyer-account must be <rail>=<id>");
    const resume = await cli("routing", "resume", "no-such-rollout", "--reason", "test");
    expect(resume.code).toBe(1);
    expect(resume.stderr).toContain("no-such-rollout");
  }, 180_000);

  it("settle close-day, report export, recon run | exceptions | resolve and the key metrics of stack status", async () => {
    // A past day outside the settlement's scheduled close (it closes the last 7 days by itself):
    // those 7 days are closed for JD Pay first, so the scheduled close cannot take the capture
    // booked on `day` into one of their batches before `settle close-day` closes `day`.
    const day = shanghaiDay(-8);
    for (let back = 7; back >= 1; back -= 1) {
      const closed = await cli("settle", "close-day", "--provider", "jdpay", "--date", shanghaiDay(-back), "--json");
      expect(closed.code, closed.stderr).toBe(0);
    }

    // An upstream capture booked at noon on that day (settlement books by the provider's capture
    // time), for a merchant of this test alone. Its order id is no order of ours: settlement books
    // the capture all the same, and the order service dead-letters it, parking its key — which
    // `stack status` must show below.
    const merchantId = `m-cli-${process.pid}`;
    const paymentId = newEventId().replaceAll("-", "");
    const providerTransactionId = `jd-cli-${process.pid}-${Date.now()}`;
    const kafka = new Kafka({ clientId: "stack-cli-test", brokers: [...(broker?.brokers ?? [])], logLevel: logLevel.WARN });
    const producer = createIdempotentProducer(kafka);
    await producer.connect();
    const eventId = newEventId();
    await producer.send({
      topic: paymentsTopic.name,
      acks: -1,
      messages: [
        {
          key: paymentId,
          value: Buffer.from(
            toBinary(
              PaymentCapturedSchema,
              create(PaymentCapturedSchema, {
                paymentId,
                orderId: `not-an-order-${process.pid}`,
                merchantId,
                provider: providerIdToProto("jd_pay"),
                providerTransactionId,
                amount: { currency: "CNY", amountMinor: 12_990n },
                fee: { currency: "CNY", amountMinor: 78n },
                capturedAt: timestampFromDate(new Date(`${day}T12:00:00+08:00`)),
              }),
            ),
          ),
          headers: envelopeHeaders({ eventId, eventType: PaymentCapturedSchema.typeName, schemaVersion: "1", producer: "stack-cli-test", occurredAt: new Date(), contentType: protobufContentType }),
        },
      ],
    });
    await producer.disconnect();
    const settlementDb = new pg.Pool({ connectionString: databaseUrl(testPostgresServerUrl(), `tributary_settlement${databaseSuffix}`), max: 1 });
    try {
      const booked = await until(
        async () => (await settlementDb.query("SELECT 1 FROM journal_entry WHERE source_key = $1", [`capture:${paymentId}`])).rowCount ?? 0,
        (n) => n > 0,
        120_000,
      );
      expect(booked).toBe(1);
    } finally {
      await settlementDb.end();
    }

    // settle close-day: the merchant's batch, once; closing again changes nothing and says so.
    const closed = await cli("settle", "close-day", "--provider", "jdpay", "--date", day, "--json");
    expect(closed.code, closed.stderr).toBe(0);
    const first = JSON.parse(closed.stdout) as { provider: string; businessDate: string; alreadyClosed: boolean; batches: BatchJson[] };
    expect(first).toMatchObject({ provider: "jd_pay", businessDate: day, alreadyClosed: false });
    const ours = first.batches.filter((batch) => batch.merchantId === merchantId);
    expect(ours).toHaveLength(1);
    expect(ours[0]).toMatchObject({ provider: "jd_pay", status: "closed", paymentCount: 1, gross: "129.90" });
    const again = await cli("settle", "close-day", "--provider", "jd_pay", "--date", day, "--json");
    expect(again.code).toBe(0);
    const second = JSON.parse(again.stdout) as { alreadyClosed: boolean; batches: BatchJson[] };
    expect(second.alreadyClosed).toBe(true);
    expect(second.batches.map((batch) => batch.batchId).sort()).toEqual(first.batches.map((batch) => batch.batchId).sort());
    const againText = await cli("settle", "close-day", "--provider", "jd_pay", "--date", day);
    expect(againText.code).toBe(0);
    expect(againText.stdout).toContain("was already closed; nothing changed");
    expect(againText.stdout).toContain(ours[0]!.batchId);
    // Today has not reached its cut-off: refused, and the reason says when it ends.
    const early = await cli("settle", "close-day", "--provider", "jdpay", "--date", shanghaiDay(0));
    expect(early.code).toBe(1);
    expect(early.stderr).toContain("00:00 Asia/Shanghai");
    expect((await cli("settle", "close-day", "--provider", "paypal", "--date", day)).code).toBe(2);
    expect((await cli("settle", "close-day", "--provider", "jdpay", "--date", "2026-02-30")).code).toBe(2);

    // report export: the day's detail as CSV (header, our capture's line), JSON, XLSX and the HTML overview.
    const outDir = mkdtempSync(join(tmpdir(), "cli-report-"));
    const exported = async (...args: string[]): Promise<{ path: string; bytes: number }> => {
      const result = await cli("report", "export", "--date", day, "--out", outDir, "--json", ...args);
      expect(result.code, result.stderr).toBe(0);
      const answer = JSON.parse(result.stdout) as { path: string; bytes: number };
      expect(statSync(answer.path).size).toBe(answer.bytes);
      return answer;
    };
    const csv = await exported("--provider", "jdpay", "--format", "csv");
    expect(csv.path).toBe(join(outDir, day, "settlement-detail-jd_pay.csv"));
    const csvBytes = readFileSync(csv.path);
    expect([...csvBytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const lines = parse<Record<string, string>>(csvBytes, { bom: true, columns: true });
    expect(Object.keys(lines[0] ?? {})).toEqual(expect.arrayContaining(["record_type", "batch_id", "merchant_id", "provider", "provider_transaction_id", "gross", "net"]));
    const ourLines = lines.filter((line) => line["provider_transaction_id"] === providerTransactionId);
    expect(ourLines).toHaveLength(1);
    expect(ourLines[0]).toMatchObject({ record_type: "payment", merchant_id: merchantId, batch_id: ours[0]!.batchId, gross: "129.90" });
    const json = await exported("--provider", "jdpay", "--format", "json");
    const entries = JSON.parse(readFileSync(json.path, "utf8")) as unknown[];
    expect(Array.isArray(entries)).toBe(true);
    expect(entries.filter((entry) => JSON.stringify(entry).includes(providerTransactionId))).toHaveLength(1);
    const xlsx = await exported("--format", "xlsx");
    expect([...readFileSync(xlsx.path).subarray(0, 2)]).toEqual([0x50, 0x4b]); // a zip, as every XLSX is
    const summary = await exported("--kind", "summary");
    expect(parse<Record<string, string>>(readFileSync(summary.path), { bom: true, columns: true }).length).toBeGreaterThan(0);
    const html = await exported("--format", "html");
    expect(readFileSync(html.path, "utf8")).toContain("<svg");
    expect((await cli("report", "export", "--date", day, "--format", "json", "--kind", "summary")).code).toBe(2);
    expect((await cli("report", "export", "--date", day, "--format", "pdf")).code).toBe(2);

    // recon run: JD Pay's bill of the day says 139.90 where the ledger has 129.90. The worker
    // reconciles it against settlement's records and queues the over_amount exception; it stays
    // open, so exit 1. The same bill again changes nothing (and the exception is still open).
    const bill = join(outDir, `jdpay-${day}.csv`);
    writeFileSync(
      bill,
      [
        `#tributary-bill v1 provider=jdpay merchant=${merchantId} date=${day} timezone=Asia/Shanghai`,
        "record_type,booked_at,provider_trade_no,out_trade_no,provider_refund_no,out_refund_no,amount_minor,fee_minor,net_minor,currency,status",
        `PAYMENT,${day}T12:00:00.000+08:00,${providerTransactionId},,,,13990,78,13912,CNY,SUCCEEDED`,
        "#totals count=1 amount_minor=13990 fee_minor=78 net_minor=13912",
      ].join("\n") + "\n",
    );
    const run = await cli("recon", "run", "--provider", "jdpay", "--date", day, "--file", bill, "--json");
    expect(run.code, run.stderr).toBe(1);
    const ran = JSON.parse(run.stdout) as { outcome: string; run: { billRowCount: number; ledgerRecordCount: number; classes: Record<string, number> }; openExceptions: ExceptionJson[] };
    expect(ran.outcome).toBe("completed");
    expect(ran.run.billRowCount).toBe(1);
    expect(ran.run.ledgerRecordCount).toBeGreaterThanOrEqual(1);
    expect(ran.run.classes["over_amount"]).toBe(1);
    const raised = ran.openExceptions.filter((e) => e.itemKey.includes(providerTransactionId));
    expect(raised).toHaveLength(1);
    expect(raised[0]).toMatchObject({ provider: "jd_pay", billDate: day, matchClass: "over_amount", status: "open", billAmount: "139.90", ledgerAmount: "129.90" });
    const rerun = await cli("recon", "run", "--provider", "jdpay", "--date", day, "--file", bill);
    expect(rerun.code).toBe(1);
    expect(rerun.stdout).toContain("reconciled before");

    const listed = await cli("recon", "exceptions", "--provider", "jdpay", "--date", day, "--json");
    expect(listed.code).toBe(1);
    const exceptions = JSON.parse(listed.stdout) as ExceptionJson[];
    expect(exceptions.map((e) => e.exceptionId)).toEqual([raised[0]!.exceptionId]);

    // stack status: the key metrics of every service, the dead letter the order service made of
    // the capture and the key it parks, a balanced ledger, and the open exception by class.
    const read = async (): Promise<StatusJson> => JSON.parse((await cli("stack", "status", "--json")).stdout) as StatusJson;
    const status = await until(read, (s) => s.metrics.parkedKeys.some((p) => p.service === "order" && p.keys > 0), 60_000);
    expect(status.metrics.problems).toEqual([]);
    expect(status.metrics.outbox.map((o) => o.service).sort()).toEqual(["order", "payment-routing", "reconciliation", "settlement"]);
    expect(status.metrics.consumerLag.map((l) => `${l.service}/${l.group}`)).toEqual(expect.arrayContaining(["order/order-payments", "settlement/settlement-payments", "reconciliation/reconciliation-jd_pay"]));
    // The stack's two smoke payments, at least, captured on WeChat Pay as payment-routing counts them.
    const captured = status.metrics.payments.filter((p) => p.provider === "wechat_pay" && p.outcome === "captured").reduce((n, p) => n + p.count, 0);
    expect(captured).toBeGreaterThanOrEqual(2);
    const created = status.metrics.providerCalls.filter((c) => c.call === "create_payment" && c.outcome === "ok").reduce((n, c) => n + c.count, 0);
    expect(created).toBeGreaterThanOrEqual(2); // the stack's two smoke payments, at least
    expect(status.metrics.deadLettered).toContainEqual({ service: "order", group: "order-payments", topic: "payments.v1", count: 1 });
    expect(status.metrics.parkedKeys).toContainEqual({ service: "order", group: "order-payments", topic: "payments.v1", keys: 1 });
    expect(status.ledgerCheck.ok).toBe(true);
    expect(status.ledgerCheck.sumMinorByCurrency).toEqual({ CNY: "0" });
    expect(status.ledgerCheck.readAgeS).toBeLessThanOrEqual(60);
    expect(status.reconciliation.openByClass).toContainEqual({ provider: "jd_pay", matchClass: "over_amount", open: 1 });
    // The JD Pay worker's run counted its classes on its own /metrics.
    expect(status.metrics.reconciliationItems).toContainEqual({ provider: "jd_pay", matchClass: "over_amount", count: 1 });
    expect(status.metrics.notExported).toEqual([]);
    const statusText = await cli("stack", "status");
    expect(statusText.code).toBe(0);
    expect(statusText.stdout).toContain("ledger balance");
    expect(statusText.stdout).toContain("0 ✓");

    // recon resolve: closed by the operator's principal with the note; not again; an unknown id is exit 3.
    const resolved = await cli("recon", "resolve", raised[0]!.exceptionId, "--note", "JD Pay corrected the bill", "--json");
    expect(resolved.code, resolved.stderr).toBe(0);
    expect(JSON.parse(resolved.stdout)).toMatchObject({ exceptionId: raised[0]!.exceptionId, status: "resolved", note: "JD Pay corrected the bill", resolvedBy: "stack-operator" });
    expect((await cli("recon", "resolve", raised[0]!.exceptionId, "--note", "again")).code).toBe(1);
    expect((await cli("recon", "resolve", "01900000-0000-7000-8000-000000000000", "--note", "x")).code).toBe(3);
    const open = await cli("recon", "exceptions", "--provider", "jdpay", "--date", day);
    expect(open.code).toBe(0);
    expect(open.stdout).toContain("no open exceptions");
    const closedOnes = JSON.parse((await cli("recon", "exceptions", "--provider", "jdpay", "--date", day, "--status", "resolved", "--json")).stdout) as ExceptionJson[];
    expect(closedOnes.map((e) => e.exceptionId)).toEqual([raised[0]!.exceptionId]);
    expect((await cli("recon", "exceptions", "--status", "closed")).code).toBe(2);
  }, 420_000);

  it("down stops every process; then status and every command that needs the stack exit 3", async () => {
    const before = JSON.parse((await cli("stack", "status", "--json")).stdout) as StatusJson;
    const down = await cli("stack", "down");
    expect(down.code).toBe(0);
    expect(await exited).toBe(0);
    for (const service of before.services) expect(alive(service.pid)).toBe(false);

    for (const args of [
      ["stack", "status"],
      ["settle", "close-day", "--provider", "jdpay", "--date", shanghaiDay(-8)],
      ["report", "export", "--date", shanghaiDay(-8)],
      ["recon", "run", "--provider", "jdpay", "--date", shanghaiDay(-8)],
      ["recon", "exceptions"],
      ["recon", "resolve", "01900000-0000-7000-8000-000000000000", "--note", "x"],
    ]) {
      const after = await cli(...args);
      expect(after.code, args.join(" ")).toBe(3);
      expect(after.stderr, args.join(" ")).toContain("no local stack is running");
    }
  }, 120_000);

  it("an unknown command or a missing option is a usage error (exit 2) with help", async () => {
    const unknown = await cli("bogus");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'bogus'");
    const missing = await cli("dlq", "replay");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--topic");
    const noDate = await cli("settle", "close-day", "--provider", "jdpay");
    expect(noDate.code).toBe(2);
    expect(noDate.stderr).toContain("--date");
    const noNote = await cli("recon", "resolve", "01900000-0000-7000-8000-000000000000");
    expect(noNote.code).toBe(2);
    expect(noNote.stderr).toContain("--note");
  }, 60_000);
});

import { SpanKind } from "@opentelemetry/api";
import { AggregationTemporality, InMemoryMetricExporter, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace";
import { PROVIDER_IDS, sandboxProviderName, type ProviderId } from "@tributary/contracts";
import { money } from "@tributary/money";
import { startSandbox, type RunningSandbox, type SandboxOptions } from "@tributary/provider-sandbox";
import { startTelemetry, type Telemetry } from "@tributary/telemetry";
import { testDatabaseUrl } from "@tributary/testkit/vitest";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NotificationEffects } from "../src/adapters/http/notification-effects.js";
import { DEFAULT_REPLAY_WINDOW_MS, PROVIDERS_WITHOUT_SENT_AT, RETENTION_MARGIN_MS } from "../src/adapters/http/webhook-decision.js";
import { startWebhookServer, type RunningWebhookServer } from "../src/adapters/http/webhook-server.js";
import type { ProviderAdapter } from "../src/adapters/providers/provider-adapter.js";
import {
  adaptersFor,
  applicationsOf,
  capturingLogger,
  createPendingPayment,
  deliveriesOf,
  eventually,
  insertRefundRow,
  newId,
  notificationProxy,
  paymentStatus,
  postRaw,
  storedIds,
  tamper,
  testEffects,
  type ProxyVerdict,
} from "./webhook-support.js";

/*
 * The webhook server against the provider sandbox over real HTTP and the real Postgres: every
 * provider's notification verified, applied once and acknowledged its way; a byte-identical
 * duplicate counted as a replay; forged, tampered and stale notifications refused, counted and
 * logged with nothing applied; a refund notification before its payment's deferred until the
 * payment's lands; a lifecycle failure rolled back and retried; the span joined to the caller's
 * trace. The lifecycle here is the small one in webhook-support.ts, over the real tables.
 */

const retries = (count: number, everyMs: number): number[] => [0, ...Array.from({ length: count - 1 }, () => everyMs)];
const schedule = Object.fromEntries(PROVIDER_IDS.map((id) => [sandboxProviderName(id), retries(60, 200)]));
const baseSandbox: SandboxOptions = { port: 0, buyer: { mode: "manual" }, timing: { refundDelayMs: 50, notifyScheduleMs: schedule } };

const spans = new InMemorySpanExporter();
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
let telemetry: Telemetry;
let pool: pg.Pool;
let effects: NotificationEffects;
const failOnce = new Set<string>();
const { logger, lines } = capturingLogger();
const started: { stop(): Promise<void> }[] = [];
// Each sandbox gets its own seed: notification ids come from the seeded stream, and two sandboxes
// with one seed would send the same ids — which the shared id store rightly takes as replays.
let seed = 2_100;

/** A sandbox (with these faults on every provider) and a webhook server with its adapters. */
async function rig(faults: NonNullable<SandboxOptions["faults"]>[keyof NonNullable<SandboxOptions["faults"]>] = {}, clock?: () => Date) {
  const sandbox = await startSandbox({
    ...baseSandbox,
    seed: (seed += 1),
    faults: Object.fromEntries(PROVIDER_IDS.map((id) => [sandboxProviderName(id), faults])),
  });
  started.push(sandbox);
  const adapters = adaptersFor(sandbox);
  const server = await startWebhookServer({ adapters: [...adapters.values()], pool, effects, logger, pruneIntervalMs: 0, ...(clock === undefined ? {} : { clock }) });
  started.push(server);
  return { sandbox, adapters, server };
}

beforeAll(async () => {
  telemetry = await startTelemetry({
    serviceName: "payment-routing-webhook-test",
    spanExporters: [spans],
    metricReaders: [new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 600_000 })],
  });
  pool = new pg.Pool({ connectionString: testDatabaseUrl("tributary_payment_routing"), max: 12 });
  effects = await testEffects(pool, { failOnce });
});

afterAll(async () => {
  for (const running of started.reverse()) await running.stop();
  await pool.end();
  await telemetry.shutdown();
});

describe("a genuine notification", () => {
  let sandbox: RunningSandbox;
  let adapters: Map<ProviderId, ProviderAdapter>;
  let server: RunningWebhookServer;
  beforeAll(async () => ({ sandbox, adapters, server } = await rig()));

  it.each(PROVIDER_IDS)("%s: verified, applied once, acknowledged the way the provider expects", async (provider) => {
    const adapter = adapters.get(provider)!;
    const paymentId = await createPendingPayment(pool, adapter, server.notifyUrl(provider));
    expect(sandbox.pay(sandboxProviderName(provider), paymentId)).toBe(true);
    const acked = await eventually("the acknowledged delivery", () => deliveriesOf(sandbox, provider, paymentId).find((d) => d.acked));
    // What the provider stops retrying on: Alipay `success`, WeChat 204, UnionPay 200, JD / e-CNY 2xx.
    expect(acked.status).toBe(adapter.acknowledgement(true).status);
    expect(await applicationsOf(pool, paymentId)).toMatchObject([{ provider, kind: "payment", status: "captured", outcome: "applied" }]);
    expect(await paymentStatus(pool, paymentId)).toBe("captured");
    expect(await storedIds(pool, paymentId)).toBe(1);
    expect(server.metrics.count(provider, "applied")).toBe(1);
  });

  it("is counted on the OpenTelemetry counter too, by provider and outcome", async () => {
    await telemetry.forceFlush();
    const points = metricExporter
      .getMetrics()
      .flatMap((m) => m.scopeMetrics.flatMap((s) => s.metrics))
      .filter((m) => m.descriptor.name === "tributary.webhook.notifications")
      .flatMap((m) => m.dataPoints as { attributes: Record<string, unknown>; value: unknown }[]);
    for (const provider of PROVIDER_IDS) {
      const applied = points.filter((p) => p.attributes["tributary.provider"] === provider && p.attributes["tributary.webhook.outcome"] === "applied");
      expect(applied.reduce((sum, p) => sum + Number(p.value), 0)).toBeGreaterThanOrEqual(1);
    }
  });
});

describe("a byte-identical duplicate (same timestamp, nonce, signature and id)", () => {
  let sandbox: RunningSandbox;
  let adapters: Map<ProviderId, ProviderAdapter>;
  let server: RunningWebhookServer;
  beforeAll(async () => ({ sandbox, adapters, server } = await rig({ duplicateNotifyRate: 1, duplicateNotifyMode: "identical", duplicateNotifyDelayMs: 150 })));

  it.each(PROVIDER_IDS)("%s: applied once; the copy is acknowledged (so the provider stops) and counted as a replay", async (provider) => {
    const adapter = adapters.get(provider)!;
    const paymentId = await createPendingPayment(pool, adapter, server.notifyUrl(provider));
    expect(sandbox.pay(sandboxProviderName(provider), paymentId)).toBe(true);
    const copy = await eventually("the identical copy's delivery", () => deliveriesOf(sandbox, provider, paymentId).find((d) => d.identicalReplay));
    expect(copy).toMatchObject({ duplicate: true, acked: true, status: adapter.acknowledgement(true).status });
    expect(deliveriesOf(sandbox, provider, paymentId).filter((d) => !d.duplicate && d.acked)).toHaveLength(1);
    expect(await applicationsOf(pool, paymentId)).toHaveLength(1);
    expect(await storedIds(pool, paymentId)).toBe(1);
    expect(server.metrics.count(provider, "applied")).toBe(1);
    expect(server.metrics.count(provider, "duplicate")).toBe(1);
  });
});

describe("a forged notification (UnionPay: a substituted key in signPubKeyCert and its certId; others: another key or HMAC)", () => {
  let sandbox: RunningSandbox;
  let adapters: Map<ProviderId, ProviderAdapter>;
  let server: RunningWebhookServer;
  beforeAll(async () => ({ sandbox, adapters, server } = await rig({ forgedNotifyRate: 1 })));

  it.each(PROVIDER_IDS)("%s: refused with the provider's 'not accepted', counted and logged; only the genuine one is applied", async (provider) => {
    const adapter = adapters.get(provider)!;
    const paymentId = await createPendingPayment(pool, adapter, server.notifyUrl(provider));
    expect(sandbox.pay(sandboxProviderName(provider), paymentId)).toBe(true);
    await eventually("the genuine delivery's acknowledgement", () => deliveriesOf(sandbox, provider, paymentId).find((d) => !d.forged && d.acked));
    const forged = deliveriesOf(sandbox, provider, paymentId).filter((d) => d.forged);
    expect(forged.length).toBeGreaterThan(0);
    expect(forged.every((d) => !d.acked && d.status === adapter.acknowledgement(false).status)).toBe(true);
    expect(server.metrics.count(provider, "rejected", "bad_signature")).toBe(forged.length);
    expect(lines.some((l) => l["msg"] === "webhook notification rejected" && l["provider"] === provider && l["reason"] === "bad_signature")).toBe(true);
    expect(await applicationsOf(pool, paymentId)).toMatchObject([{ outcome: "applied" }]);
    expect(await storedIds(pool, paymentId)).toBe(1);
  });
});

describe("tampered, stale and replayed copies of a real notification", () => {
  let sandbox: RunningSandbox;
  let adapters: Map<ProviderId, ProviderAdapter>;
  let server: RunningWebhookServer;
  let lateServer: RunningWebhookServer;
  const verdicts = new Map<string, ProxyVerdict>();
  let proxy: Awaited<ReturnType<typeof notificationProxy>>;
  beforeAll(async () => {
    ({ sandbox, adapters, server } = await rig());
    // Another instance on the same database whose clock is past the replay window.
    lateServer = await startWebhookServer({
      adapters: [...adapters.values()], pool, effects, logger, pruneIntervalMs: 0,
      clock: () => new Date(Date.now() + DEFAULT_REPLAY_WINDOW_MS + 60_000),
    });
    started.push(lateServer);
    proxy = await notificationProxy(() => server.url, (key) => verdicts.get(key) ?? "forward");
    started.push(proxy);
  });

  it.each(PROVIDER_IDS)("%s: a flipped byte is refused and changes nothing; stale (where signed) too; the genuine retry applies once; its first bytes again are a replay", async (provider) => {
    const adapter = adapters.get(provider)!;
    const key = newId("K");
    verdicts.set(key, "refuse"); // the proxy keeps the first attempt's bytes and answers 503
    const paymentId = await createPendingPayment(pool, adapter, proxy.notifyUrl(key, provider));
    expect(sandbox.pay(sandboxProviderName(provider), paymentId)).toBe(true);
    const first = await eventually("the first attempt's bytes", () => proxy.seen.find((n) => n.key === key));

    const refused = adapter.acknowledgement(false);
    const tampered = await postRaw(server.notifyUrl(provider), { headers: first.raw.headers, body: tamper(first.raw.body) });
    expect(tampered).toMatchObject({ status: refused.status, body: refused.body });
    expect(server.metrics.count(provider, "rejected", "bad_signature")).toBe(1);

    if (!PROVIDERS_WITHOUT_SENT_AT.has(provider)) {
      const stale = await postRaw(lateServer.notifyUrl(provider), first.raw);
      expect(stale).toMatchObject({ status: refused.status, body: refused.body });
      expect(lateServer.metrics.count(provider, "rejected", "stale")).toBe(1);
      expect(lines.some((l) => l["msg"] === "webhook notification rejected" && l["provider"] === provider && l["reason"] === "stale")).toBe(true);
    }
    expect(await applicationsOf(pool, paymentId)).toEqual([]);
    expect(await storedIds(pool, paymentId)).toBe(0);
    expect(await paymentStatus(pool, paymentId)).toBe("pending");

    verdicts.set(key, "forward");
    await eventually("the retry's acknowledgement", () => deliveriesOf(sandbox, provider, paymentId).find((d) => d.acked));
    expect(await applicationsOf(pool, paymentId)).toMatchObject([{ outcome: "applied" }]);

    // The first attempt's bytes once more, within the window: verified, but its id is stored.
    const replay = await postRaw(server.notifyUrl(provider), first.raw);
    expect(replay.status).toBe(adapter.acknowledgement(true).status);
    expect(server.metrics.count(provider, "duplicate")).toBe(1);
    expect(await applicationsOf(pool, paymentId)).toHaveLength(1);
  });
});

describe("out of order: a refund's notification before its payment's", () => {
  let sandbox: RunningSandbox;
  let adapters: Map<ProviderId, ProviderAdapter>;
  let server: RunningWebhookServer;
  const verdicts = new Map<string, ProxyVerdict>();
  let proxy: Awaited<ReturnType<typeof notificationProxy>>;
  beforeAll(async () => {
    ({ sandbox, adapters, server } = await rig());
    proxy = await notificationProxy(() => server.url, (key) => verdicts.get(key) ?? "forward");
    started.push(proxy);
  });

  // The providers that take a notify URL per refund, so the test can hold the payment's back alone.
  it.each<ProviderId>(["jd_pay", "ecny", "wechat_pay"])("%s: the refund is deferred (rolled back, retried) until the payment's capture lands, then each applies once", async (provider) => {
    const adapter = adapters.get(provider)!;
    const payKey = newId("K");
    const refundKey = newId("K");
    verdicts.set(payKey, "refuse");
    const paymentId = await createPendingPayment(pool, adapter, proxy.notifyUrl(payKey, provider), 2_000n);
    expect(sandbox.pay(sandboxProviderName(provider), paymentId)).toBe(true);
    await eventually("the held payment notification", () => proxy.seen.find((n) => n.key === payKey));

    const refundRef = newId("R");
    await insertRefundRow(pool, paymentId, refundRef, 700n);
    const refund = await adapter.refund({
      paymentId, refundRef, amount: money(700n, "CNY"), paymentAmount: money(2_000n, "CNY"), reason: "test", notifyUrl: proxy.notifyUrl(refundKey, provider),
    });
    expect(refund).toMatchObject({ ok: true });
    await eventually("the refund notification deferred twice", () => server.metrics.count(provider, "deferred") >= 2);
    expect(await applicationsOf(pool, paymentId)).toEqual([]); // the deferred application rolled back
    expect(await storedIds(pool, paymentId)).toBe(0);

    verdicts.set(payKey, "forward");
    await eventually("both applied", async () => (await applicationsOf(pool, paymentId)).length === 2);
    expect(await applicationsOf(pool, paymentId)).toMatchObject([
      { kind: "payment", status: "captured", outcome: "applied" },
      { kind: "refund", status: "succeeded", outcome: "applied" },
    ]);
    const refundRow = await pool.query<{ status: string }>("SELECT status FROM payment_refunds WHERE refund_ref = $1", [refundRef]);
    expect(refundRow.rows[0]?.status).toBe("succeeded");
    expect(await storedIds(pool, paymentId)).toBe(2);
  });
});

describe("a failure inside the transaction", () => {
  let sandbox: RunningSandbox;
  let adapters: Map<ProviderId, ProviderAdapter>;
  let server: RunningWebhookServer;
  beforeAll(async () => ({ sandbox, adapters, server } = await rig()));

  it.each<ProviderId>(["ecny", "alipay"])("%s: rolled back (no id stored), answered 5xx so the provider retries, applied once by the retry", async (provider) => {
    const adapter = adapters.get(provider)!;
    const paymentId = await createPendingPayment(pool, adapter, server.notifyUrl(provider));
    failOnce.add(paymentId);
    expect(sandbox.pay(sandboxProviderName(provider), paymentId)).toBe(true);
    await eventually("the retry's acknowledgement", () => deliveriesOf(sandbox, provider, paymentId).find((d) => d.acked));
    const attempts = deliveriesOf(sandbox, provider, paymentId);
    expect(attempts[0]).toMatchObject({ attempt: 1, acked: false, status: 503 });
    expect(attempts.filter((d) => d.acked)).toHaveLength(1);
    expect(server.metrics.count(provider, "error", "database")).toBe(1);
    expect(await applicationsOf(pool, paymentId)).toMatchObject([{ outcome: "applied" }]);
    expect(await storedIds(pool, paymentId)).toBe(1);
  });
});

describe("trace context", () => {
  let sandbox: RunningSandbox;
  let adapters: Map<ProviderId, ProviderAdapter>;
  let server: RunningWebhookServer;
  let proxy: Awaited<ReturnType<typeof notificationProxy>>;
  beforeAll(async () => {
    ({ sandbox, adapters, server } = await rig());
    proxy = await notificationProxy(() => server.url, () => "refuse");
    started.push(proxy);
  });

  it("a notification carrying a W3C traceparent gets one server span in that trace, under that parent", async () => {
    const provider: ProviderId = "jd_pay";
    const key = newId("K");
    const paymentId = await createPendingPayment(pool, adapters.get(provider)!, proxy.notifyUrl(key, provider));
    expect(sandbox.pay(sandboxProviderName(provider), paymentId)).toBe(true);
    const held = await eventually("the notification's bytes", () => proxy.seen.find((n) => n.key === key));
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const parentSpanId = "00f067aa0ba902b7";
    spans.reset();
    const answer = await postRaw(server.notifyUrl(provider), held.raw, { traceparent: `00-${traceId}-${parentSpanId}-01` });
    expect(answer.status).toBe(200);
    await telemetry.forceFlush();
    const serverSpans = spans.getFinishedSpans().filter((s) => s.name === `POST /webhooks/${provider}`);
    expect(serverSpans).toHaveLength(1);
    const span = serverSpans[0]!;
    expect(span.kind).toBe(SpanKind.SERVER);
    expect(span.spanContext().traceId).toBe(traceId);
    expect(span.parentSpanContext?.spanId).toBe(parentSpanId);
    expect(span.attributes).toMatchObject({ "tributary.provider": provider, "tributary.payment.id": paymentId, "tributary.webhook.outcome": "applied" });
  });
});

describe("pruning the id store", () => {
  it("deletes ids past twice the window plus the margin (UnionPay's, which no timestamp protects, after the untimed retention)", async () => {
    const rigged = await rig();
    const now = Date.now();
    const keepMs = 2 * DEFAULT_REPLAY_WINDOW_MS + RETENTION_MARGIN_MS;
    const rows: [ProviderId, string, number][] = [
      ["alipay", newId("old"), now - keepMs - 1_000],
      ["alipay", newId("new"), now - keepMs + 60_000],
      ["unionpay", newId("old"), now - keepMs - 1_000],
    ];
    for (const [provider, id, at] of rows) {
      await pool.query("INSERT INTO webhook_notifications VALUES ($1::payment_provider, $2, 'P-prune', $3)", [provider, id, new Date(at)]);
    }
    expect(await rigged.server.prune()).toBeGreaterThanOrEqual(1);
    const left = await pool.query<{ notification_id: string }>("SELECT notification_id FROM webhook_notifications WHERE payment_id = 'P-prune' ORDER BY notification_id");
    expect(left.rows.map((r) => r.notification_id).sort()).toEqual([rows[1]![1], rows[2]![1]].sort());
  });
});

describe("requests refused before verification", () => {
  it("a body over the limit is answered with the provider's refusal and the framework's status, logged and counted", async () => {
    const { adapters } = await rig();
    const server = await startWebhookServer({ adapters: [...adapters.values()], pool, effects, logger, pruneIntervalMs: 0, bodyLimitBytes: 1_024 });
    started.push(server);
    const answer = await postRaw(server.notifyUrl("alipay"), { headers: { "content-type": "application/x-www-form-urlencoded" }, body: Buffer.alloc(4_096, 0x61) });
    expect(answer).toMatchObject({ status: 413, body: "fail" });
    expect(server.metrics.count("alipay", "rejected", "unreadable_request")).toBe(1);
    expect(lines.some((l) => l["msg"] === "webhook request refused before verification" && l["provider"] === "alipay")).toBe(true);
    expect(server.address).toBe(`127.0.0.1:${server.port}`);
    expect(server.notifyUrl("alipay")).toBe(`http://127.0.0.1:${server.port}/webhooks/alipay`);
    // A provider the server has no endpoint for is simply not found.
    expect((await postRaw(`${server.url}/webhooks/paypal`, { headers: {}, body: Buffer.from("x") })).status).toBe(404);
  });
});

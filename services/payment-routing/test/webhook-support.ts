import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { sandboxProviderName, type ProviderId } from "@tributary/contracts";
import { money } from "@tributary/money";
import type { RunningSandbox } from "@tributary/provider-sandbox";
import { createLogger, type Logger } from "@tributary/telemetry";
import type pg from "pg";
import { expect } from "vitest";
import type { EffectOutcome, NotificationContext, NotificationEffects } from "../src/adapters/http/notification-effects.js";
import { createAlipayAdapter } from "../src/adapters/providers/alipay/client.js";
import { createEcnyAdapter } from "../src/adapters/providers/ecny/client.js";
import { createJdPayAdapter } from "../src/adapters/providers/jdpay/client.js";
import type { ProviderAdapter, RawNotification } from "../src/adapters/providers/provider-adapter.js";
import { createUnionpayAdapter, inMemoryUnionpayOrders } from "../src/adapters/providers/unionpay/client.js";
import { createWechatAdapter } from "../src/adapters/providers/wechat/client.js";

/*
 * TEST SUPPORT for the webhook integration tests: the five adapters built from a sandbox's
 * credentials, payment rows in the real `payments` table, a small lifecycle that applies reports
 * to those rows and records every application in a real table, a proxy that can hold a provider's
 * notification back (or keep its bytes), and a logger whose lines the tests read.
 */

/** Every provider's adapter for one sandbox, keyed by provider id. */
export function adaptersFor(sandbox: RunningSandbox): Map<ProviderId, ProviderAdapter> {
  const timeoutMs = 5_000;
  const credentials = sandbox.providers;
  const adapters: ProviderAdapter[] = [
    createAlipayAdapter({ ...credentials.alipay, timeoutMs }),
    createWechatAdapter({ ...credentials.wechat, timeoutMs }),
    createUnionpayAdapter({ ...credentials.unionpay, timeoutMs, orders: inMemoryUnionpayOrders() }),
    createJdPayAdapter({ ...credentials.jdpay, timeoutMs }),
    createEcnyAdapter({ ...credentials.ecny, timeoutMs }),
  ];
  return new Map(adapters.map((adapter) => [adapter.provider, adapter]));
}

/** An id every provider accepts as a merchant order / refund number (letters and digits). */
export function newId(prefix: string): string {
  return `${prefix}${randomBytes(8).toString("hex")}`;
}

/** Creates a payment at the provider (QR, web) and its `pending` row in `payments`. */
export async function createPendingPayment(
  pool: pg.Pool,
  adapter: ProviderAdapter,
  notifyUrl: string,
  amountMinor = 1_234n,
): Promise<string> {
  const paymentId = newId("P");
  const now = new Date();
  await pool.query(
    `INSERT INTO payments (payment_id, order_id, merchant_id, buyer_id, provider, channel, attempt, status, amount_minor, currency,
                           routing_rule, routing_decision, created_at, updated_at, expires_at)
     VALUES ($1, $2, 'm-test', 'b-test', $3::payment_provider, 'web', 1, 'pending', $4, 'CNY', 'test', '{}'::jsonb, $5, $5, $6)`,
    [paymentId, `O${paymentId}`, adapter.provider, amountMinor.toString(), now, new Date(now.getTime() + 30 * 60_000)],
  );
  const created = await adapter.createPayment({
    paymentId,
    orderId: `O${paymentId}`,
    merchantId: "m-test",
    amount: money(amountMinor, "CNY"),
    channel: "web",
    description: "webhook test",
    notifyUrl,
    expiresAt: new Date(now.getTime() + 30 * 60_000),
  });
  expect(created).toMatchObject({ ok: true });
  return paymentId;
}

/** A `requested` refund row for a payment, as the lifecycle writes before calling the provider. */
export async function insertRefundRow(pool: pg.Pool, paymentId: string, refundRef: string, amountMinor: bigint): Promise<void> {
  const now = new Date();
  await pool.query(
    `INSERT INTO payment_refunds (refund_ref, payment_id, order_id, amount_minor, currency, reason, status, created_at, updated_at)
     VALUES ($1, $2, $3, $4, 'CNY', 'test', 'requested', $5, $5)`,
    [refundRef, paymentId, `O${paymentId}`, amountMinor.toString(), now],
  );
}

/** One row of `webhook_test_applications`: a report the test lifecycle applied (committed). */
export interface Application {
  readonly provider: string;
  readonly notification_id: string;
  readonly payment_id: string;
  readonly kind: string;
  readonly status: string;
  readonly outcome: string;
}

/** Options of the test lifecycle. */
export interface TestEffectsOptions {
  /** Seconds to sleep inside the transaction before writing (keeps two deliveries overlapping). */
  readonly holdSeconds?: number;
  /** Payment ids whose next application throws (a lifecycle / database failure). */
  readonly failOnce?: Set<string>;
}

/**
 * A small payment lifecycle over the real `payments` / `payment_refunds` tables, standing in for
 * the service's own until it exists: a payment moves pending → captured once (a capture of a
 * captured payment, a failure after a capture and anything else out of order is `ignored`); a
 * refund succeeds once its payment is captured, and before that it is `retry_later`. Every
 * application is also written to `webhook_test_applications` in the same transaction, so a rolled
 * back one leaves no row and "applied once" is a count of committed rows.
 */
export async function testEffects(pool: pg.Pool, options: TestEffectsOptions = {}): Promise<NotificationEffects> {
  // In a schema of its own: a test-only table in `public` is what the schema-drift test flags.
  await pool.query("CREATE SCHEMA IF NOT EXISTS webhook_test");
  await pool.query(`CREATE TABLE IF NOT EXISTS webhook_test.webhook_test_applications (
    seq BIGSERIAL PRIMARY KEY, provider TEXT NOT NULL, notification_id TEXT NOT NULL, payment_id TEXT NOT NULL,
    kind TEXT NOT NULL, status TEXT NOT NULL, outcome TEXT NOT NULL)`);
  const hold = async (tx: pg.PoolClient) => {
    if (options.holdSeconds !== undefined) await tx.query("SELECT pg_sleep($1)", [options.holdSeconds]);
  };
  const failIfAsked = (paymentId: string) => {
    if (options.failOnce?.delete(paymentId) === true) throw new Error(`planted lifecycle failure for ${paymentId}`);
  };
  const record = async (tx: pg.PoolClient, context: NotificationContext, paymentId: string, kind: string, status: string, outcome: EffectOutcome) => {
    await tx.query(
      "INSERT INTO webhook_test.webhook_test_applications (provider, notification_id, payment_id, kind, status, outcome) VALUES ($1, $2, $3, $4, $5, $6)",
      [context.provider, context.notificationId, paymentId, kind, status, outcome.code],
    );
    return outcome;
  };
  return {
    async applyPayment(tx, report, context) {
      await hold(tx);
      failIfAsked(report.paymentId);
      const row = await tx.query<{ status: string }>("SELECT status FROM payments WHERE payment_id = $1 FOR UPDATE", [report.paymentId]);
      const current = row.rows[0]?.status;
      let outcome: EffectOutcome;
      if (current === undefined) outcome = { code: "ignored", reason: "unknown payment" };
      else if (report.status === "captured" && (current === "pending" || current === "creating")) {
        await tx.query(
          "UPDATE payments SET status = 'captured', provider_transaction_id = $2, provider_status = $3, captured_at = $4, updated_at = $4 WHERE payment_id = $1",
          [report.paymentId, report.providerTransactionId ?? null, report.providerStatus, context.receivedAt],
        );
        outcome = { code: "applied", detail: `${current} → captured` };
      } else outcome = { code: "ignored", reason: `payment is ${current}; report says ${report.status}` };
      return record(tx, context, report.paymentId, "payment", report.status, outcome);
    },
    async applyRefund(tx, report, context) {
      await hold(tx);
      failIfAsked(report.paymentId);
      const payment = await tx.query<{ status: string }>("SELECT status FROM payments WHERE payment_id = $1 FOR UPDATE", [report.paymentId]);
      const paymentStatus = payment.rows[0]?.status;
      if (paymentStatus === undefined) return record(tx, context, report.paymentId, "refund", report.status, { code: "ignored", reason: "unknown payment" });
      if (paymentStatus !== "captured") {
        // Rolled back by the webhook layer: this row never commits.
        return record(tx, context, report.paymentId, "refund", report.status, { code: "retry_later", reason: `payment is ${paymentStatus}, not captured yet` });
      }
      const updated = await tx.query(
        "UPDATE payment_refunds SET status = 'succeeded', provider_refund_id = $2, provider_status = $3, updated_at = $4 WHERE refund_ref = $1 AND status IN ('requested', 'processing')",
        [report.refundRef, report.providerRefundId ?? null, report.providerStatus, context.receivedAt],
      );
      const outcome: EffectOutcome =
        report.status === "succeeded" && updated.rowCount === 1 ? { code: "applied", detail: "refund succeeded" } : { code: "ignored", reason: "refund not open" };
      return record(tx, context, report.paymentId, "refund", report.status, outcome);
    },
  };
}

/** The committed applications of one payment, oldest first. */
export async function applicationsOf(pool: pg.Pool, paymentId: string): Promise<Application[]> {
  const result = await pool.query<Application>(
    "SELECT provider, notification_id, payment_id, kind, status, outcome FROM webhook_test.webhook_test_applications WHERE payment_id = $1 ORDER BY seq",
    [paymentId],
  );
  return result.rows;
}

/** The status of a payment row. */
export async function paymentStatus(pool: pg.Pool, paymentId: string): Promise<string | undefined> {
  const result = await pool.query<{ status: string }>("SELECT status FROM payments WHERE payment_id = $1", [paymentId]);
  return result.rows[0]?.status;
}

/** How many ids the store holds for a payment. */
export async function storedIds(pool: pg.Pool, paymentId: string): Promise<number> {
  const result = await pool.query<{ n: string }>("SELECT count(*) AS n FROM webhook_notifications WHERE payment_id = $1", [paymentId]);
  return Number(result.rows[0]?.n ?? "0");
}

/** Polls until `probe` returns a value: no fixed sleeps, it returns as soon as the state is there. */
export async function eventually<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The sandbox's deliveries of one payment's notifications. */
export function deliveriesOf(sandbox: RunningSandbox, provider: ProviderId, paymentId: string) {
  return sandbox.deliveries().filter((d) => d.provider === sandboxProviderName(provider) && d.outTradeNo === paymentId);
}

/** A notification as the proxy saw it: the exact bytes and headers a provider sent. */
export interface HeldNotification {
  readonly key: string;
  readonly provider: ProviderId;
  readonly raw: RawNotification;
}

/** What the proxy does with one notification: pass it to the webhook server, or answer 503 itself. */
export type ProxyVerdict = "forward" | "refuse";

/**
 * A proxy between the sandbox and the webhook server. Notify URLs point at
 * `/<key>/webhooks/<provider>`; the proxy keeps every notification's bytes and headers and, per
 * `verdict(key, provider)`, forwards it unchanged to the server's `/webhooks/<provider>` (and
 * passes the answer back) or answers 503 without forwarding, so the provider retries later.
 */
export async function notificationProxy(targetUrl: () => string, verdict: (key: string, provider: ProviderId) => ProxyVerdict) {
  const seen: HeldNotification[] = [];
  const server = createServer((req, res) => {
    readBody(req)
      .then(async (body) => {
        const match = /^\/([^/]+)\/webhooks\/([a-z_]+)$/.exec(req.url ?? "");
        if (match === null) {
          res.writeHead(404).end();
          return;
        }
        const key = match[1]!;
        const provider = match[2] as ProviderId;
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(req.headers)) {
          if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
        }
        seen.push({ key, provider, raw: { headers, body } });
        if (verdict(key, provider) === "refuse") {
          res.writeHead(503).end();
          return;
        }
        const answer = await postRaw(`${targetUrl()}/webhooks/${provider}`, { headers, body });
        res.writeHead(answer.status, answer.contentType === undefined ? {} : { "content-type": answer.contentType }).end(answer.body);
      })
      .catch(() => res.writeHead(502).end());
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    seen,
    notifyUrl: (key: string, provider: ProviderId) => `${url}/${key}/webhooks/${provider}`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Posts a notification's exact bytes and headers (hop-by-hop ones aside), as a provider would. */
export async function postRaw(
  url: string,
  raw: RawNotification,
  extraHeaders: Readonly<Record<string, string>> = {},
): Promise<{ status: number; body: string; contentType?: string }> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw.headers)) {
    if (!["host", "content-length", "connection", "transfer-encoding"].includes(name)) headers.set(name, value);
  }
  for (const [name, value] of Object.entries(extraHeaders)) headers.set(name, value);
  const response = await fetch(url, { method: "POST", headers, body: raw.body });
  const contentType = response.headers.get("content-type");
  return { status: response.status, body: await response.text(), ...(contentType === null ? {} : { contentType }) };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Changes one letter or digit near the middle of a body, keeping it well-formed text. */
export function tamper(body: Buffer): Buffer {
  const copy = Buffer.from(body);
  for (let offset = 0; offset < copy.length; offset += 1) {
    const i = (Math.floor(copy.length / 2) + offset) % copy.length;
    const c = copy[i] ?? 0;
    if ((c >= 0x30 && c <= 0x38) || (c >= 0x41 && c <= 0x59) || (c >= 0x61 && c <= 0x79)) {
      copy[i] = c + 1;
      return copy;
    }
  }
  throw new Error("nothing to tamper with");
}

/** A logger whose lines (parsed) the test can read. */
export function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    serviceName: "payment-routing-webhook-test",
    level: "debug",
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  });
  return { logger, lines };
}

import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Money } from "@tributary/money";
import type { Result } from "@tributary/result";
import type { ProviderCredentials, RunningSandbox, SandboxOptions, SandboxProviderName } from "@tributary/provider-sandbox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type {
  BuyerAction,
  NotificationError,
  PaymentChannel,
  ProviderAdapter,
  RawNotification,
  RefundRequest,
  VerifiedNotification,
} from "./provider-adapter.js";

/*
 * TEST SUPPORT, not part of the service: the one conformance suite every provider adapter passes
 * against the provider sandbox. It registers vitest tests, so only `test/*.int.test.ts` files
 * call it. The sandbox is handed in (`startSandbox`) rather than imported, so this file depends
 * on the sandbox's types only.
 */

/**
 * Where a provider honestly differs from the common contract. Each one is a documented provider
 * behaviour, not a way around a failing check; the suite still asserts what the provider does say.
 */
export interface ConformanceQuirks {
  /**
   * An unpaid QR order does not exist at the provider (Alipay precreate): after close, query
   * answers "no such trade", which the adapter reports as pending. The suite then checks the
   * closed order can no longer be paid instead.
   */
  readonly closedUnpaidQueriesAsPending?: boolean;
  /** The query does not tell a full refund from a partial one (WeChat `REFUND`): partially_refunded. */
  readonly fullRefundQueriesAsPartiallyRefunded?: boolean;
  /** Refund notifications carry the cumulative refunded total (`refundedTotal`), not this refund's amount (Alipay). */
  readonly refundNotificationCarriesTotalOnly?: boolean;
  /** The provider sends no refund notifications at all. */
  readonly noRefundNotifications?: boolean;
  /**
   * The provider cannot close an open unpaid order (UnionPay ACP: a QR consume ends at its
   * payTimeout). Close must then be refused (`rejected`) and the order stay pending, never captured.
   */
  readonly noCloseWhileOpen?: boolean;
  /** The payment query describes the payment only; refunds do not change it (UnionPay consume query): captured. */
  readonly queryIgnoresRefunds?: boolean;
  /**
   * Create signs the buyer action locally and calls nobody (Alipay app payment: the order string
   * goes to the buyer's app), so it cannot fail on the wire; the fault checks then hold the
   * query and the refund to them instead.
   */
  readonly createMakesNoCall?: boolean;
}

/** What the suite needs to know about one adapter. */
export interface ConformanceSubject {
  /** The sandbox's name of the provider (`alipay`, `wechat`, `unionpay`, `jdpay`, `ecny`). */
  readonly sandboxProvider: SandboxProviderName;
  /** The channel the payments are created for. */
  readonly channel: PaymentChannel;
  /** `startSandbox` of @tributary/provider-sandbox. */
  readonly startSandbox: (options: SandboxOptions) => Promise<RunningSandbox>;
  /** Builds the adapter from the merchant credentials the sandbox hands out. */
  readonly createAdapter: (credentials: ProviderCredentials, options: { readonly timeoutMs: number }) => ProviderAdapter;
  /**
   * The buyer's wallet app starting the payment from the buyer action, for products whose trade
   * the app creates at the provider (Alipay app payment); run after every successful create.
   */
  readonly buyerStarts?: (action: BuyerAction, credentials: ProviderCredentials) => Promise<void>;
  /** The buyer's account id at the provider, for products that name the buyer (WeChat JSAPI openid, Alipay mini-program). */
  readonly providerBuyerId?: string;
  readonly quirks?: ConformanceQuirks;
}

/** One notification as the provider sent it, with what the adapter made of it. */
interface CapturedNotification {
  readonly path: string;
  readonly raw: RawNotification;
  readonly verified: Result<VerifiedNotification, NotificationError>;
}

/**
 * A tiny merchant webhook endpoint: records every notification, verifies it with the adapter of
 * the moment and answers with that adapter's acknowledgement, as the real webhook layer will.
 */
class NotificationHook {
  readonly received: CapturedNotification[] = [];
  adapter: ProviderAdapter | undefined;
  private constructor(private readonly server: Server) {}

  static async start(): Promise<NotificationHook> {
    const hook: NotificationHook = new NotificationHook(createServer((req, res) => hook.handle(req, res)));
    hook.server.listen(0, "127.0.0.1");
    await once(hook.server, "listening");
    return hook;
  }

  url(path: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
      }
      const raw: RawNotification = { headers, body: Buffer.concat(chunks) };
      const adapter = this.adapter;
      if (adapter === undefined) {
        res.writeHead(503).end();
        return;
      }
      const verified = adapter.verifyNotification(raw);
      this.received.push({ path: req.url ?? "", raw, verified });
      const ack = adapter.acknowledgement(verified.ok);
      res.writeHead(ack.status, ack.headers).end(ack.body);
    });
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Polls until `probe` returns a value (no fixed sleeps: it returns as soon as the state is there). */
async function eventually<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** An id every provider accepts as merchant order / refund number (alphanumeric, 17 chars). */
function newId(prefix: string): string {
  return `${prefix}${randomBytes(8).toString("hex")}`;
}

const cny = (amountMinor: bigint): Money => ({ amountMinor, currency: "CNY" });

/** Changes one letter or digit near the middle of the body, keeping it well-formed text. */
function tamper(body: Buffer): Buffer {
  const copy = Buffer.from(body);
  for (let offset = 0; offset < copy.length; offset += 1) {
    const i = (Math.floor(copy.length / 2) + offset) % copy.length;
    const c = copy[i] ?? 0;
    if (c >= 0x30 && c <= 0x38) copy[i] = c + 1;
    else if ((c >= 0x41 && c <= 0x59) || (c >= 0x61 && c <= 0x79)) copy[i] = c + 1;
    else continue;
    return copy;
  }
  throw new Error("nothing to tamper with");
}

/** Every credential URL pointed at `deadUrl` instead of the sandbox. */
function repointed(credentials: ProviderCredentials, sandboxUrl: string, deadUrl: string): ProviderCredentials {
  return JSON.parse(JSON.stringify(credentials), (_key, value: unknown) =>
    typeof value === "string" && value.startsWith(sandboxUrl) ? deadUrl + value.slice(sandboxUrl.length) : value,
  ) as ProviderCredentials;
}

/**
 * A man in the middle: forwards every request to `targetUrl` unchanged and alters one byte of
 * each answer's body, keeping status and headers. Whatever the provider's signature scheme, the
 * adapter must notice.
 */
async function tamperingProxy(targetUrl: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined && name !== "host" && name !== "content-length" && name !== "connection") headers.set(name, Array.isArray(value) ? value.join(", ") : value);
      }
      const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
      fetch(`${targetUrl}${req.url ?? "/"}`, { method: req.method ?? "GET", headers, ...(body === undefined ? {} : { body }) })
        .then(async (answer) => {
          const raw = Buffer.from(await answer.arrayBuffer());
          const altered = raw.length > 0 ? tamper(raw) : raw;
          const out: Record<string, string> = {};
          answer.headers.forEach((value, name) => {
            if (name !== "content-length" && name !== "transfer-encoding" && name !== "content-encoding" && name !== "connection") out[name] = value;
          });
          res.writeHead(answer.status, out).end(altered);
        })
        .catch(() => res.writeHead(502).end());
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A local port nothing listens on (bound, then released). */
async function deadPort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Registers the conformance suite for one adapter: payment, query, close, refunds, notifications
 * (genuine, tampered, forged), answers altered on the way, and transport faults, all against a real
 * sandbox over HTTP.
 */
export function providerConformanceSuite(subject: ConformanceSubject): void {
  const provider = subject.sandboxProvider;
  const quirks = subject.quirks ?? {};
  const timing = { refundDelayMs: 50, notifyScheduleMs: { [provider]: [0, 300, 300] } };
  const baseOptions: SandboxOptions = { port: 0, seed: 7, buyer: { mode: "manual" }, timing };

  describe(`${provider} adapter conformance`, () => {
    let sandbox: RunningSandbox;
    let adapter: ProviderAdapter;
    let hook: NotificationHook;
    const extraSandboxes: RunningSandbox[] = [];

    beforeAll(async () => {
      hook = await NotificationHook.start();
      sandbox = await subject.startSandbox(baseOptions);
      adapter = subject.createAdapter(sandbox.providers, { timeoutMs: 5_000 });
      hook.adapter = adapter;
    });

    afterAll(async () => {
      await Promise.all([sandbox.stop(), ...extraSandboxes.map((s) => s.stop())]);
      await hook.stop();
    });

    /** A sandbox with this provider's faults set, sharing the keys of the main one. */
    const faultySandbox = async (faults: NonNullable<SandboxOptions["faults"]>[SandboxProviderName]): Promise<RunningSandbox> => {
      const started = await subject.startSandbox({ ...baseOptions, faults: { [provider]: faults } });
      extraSandboxes.push(started);
      return started;
    };

    /** Creates a payment through `on`; the buyer's app (if the product has one) starts it at `buyerAt`. */
    const create = async (on: ProviderAdapter, amountMinor = 1234n, buyerAt: RunningSandbox | undefined = sandbox) => {
      const paymentId = newId("P");
      const result = await on.createPayment({
        paymentId,
        orderId: newId("O"),
        merchantId: "M1",
        amount: cny(amountMinor),
        channel: subject.channel,
        description: "Conformance 测试 & co",
        notifyUrl: hook.url(`/notify/${paymentId}`),
        providerBuyerId: subject.providerBuyerId ?? "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
        expiresAt: new Date(Date.now() + 30 * 60_000),
      });
      if (result.ok && buyerAt !== undefined) await subject.buyerStarts?.(result.value.buyerAction, buyerAt.providers);
      return { paymentId, result };
    };

    const createPaid = async (amountMinor = 1234n) => {
      const { paymentId, result } = await create(adapter, amountMinor);
      expect(result).toMatchObject({ ok: true });
      expect(sandbox.pay(provider, paymentId)).toBe(true);
      return paymentId;
    };

    const refundRequest = (paymentId: string, amountMinor: bigint, paymentMinor = 1234n): RefundRequest => {
      const refundRef = newId("R");
      return {
        paymentId,
        refundRef,
        amount: cny(amountMinor),
        paymentAmount: cny(paymentMinor),
        reason: "conformance",
        notifyUrl: hook.url(`/notify/${paymentId}/refund/${refundRef}`),
      };
    };

    const notificationsFor = (paymentId: string) => hook.received.filter((n) => n.path.startsWith(`/notify/${paymentId}`));

    it("create → buyer pays → query says captured with the amount; another expected amount is an integrity_mismatch", async () => {
      const { paymentId, result } = await create(adapter);
      expect(result).toMatchObject({ ok: true, value: { paymentId } });
      if (result.ok && subject.channel === "web") {
        expect(result.value.buyerAction.kind).toBe("qr_code");
      }
      expect(sandbox.pay(provider, paymentId)).toBe(true);
      const query = await adapter.queryPayment(paymentId, cny(1234n));
      expect(query).toMatchObject({ ok: true, value: { paymentId, status: "captured", amount: cny(1234n) } });
      expect(query.ok && query.value.providerTransactionId).toBeTruthy();
      expect(await adapter.queryPayment(paymentId, cny(1235n))).toMatchObject({ ok: false, error: { code: "integrity_mismatch" } });
    });

    it("a never-paid payment queries as pending", async () => {
      const { paymentId, result } = await create(adapter);
      expect(result.ok).toBe(true);
      expect(await adapter.queryPayment(paymentId, cny(1234n))).toMatchObject({ ok: true, value: { paymentId, status: "pending" } });
    });

    it("close → closed: the buyer can no longer pay and the query never says captured", async () => {
      const { paymentId, result } = await create(adapter);
      expect(result.ok).toBe(true);
      if (quirks.noCloseWhileOpen === true) {
        expect(await adapter.closePayment(paymentId)).toMatchObject({ ok: false, error: { code: "rejected" } });
        expect(await adapter.queryPayment(paymentId, cny(1234n))).toMatchObject({ ok: true, value: { status: "pending" } });
        return;
      }
      expect(await adapter.closePayment(paymentId)).toEqual({ ok: true, value: undefined });
      expect(sandbox.pay(provider, paymentId)).toBe(false);
      const query = await adapter.queryPayment(paymentId, cny(1234n));
      expect(query.ok).toBe(true);
      const allowed = quirks.closedUnpaidQueriesAsPending === true ? ["closed", "pending"] : ["closed"];
      expect(allowed).toContain(query.ok ? query.value.status : "error");
    });

    it("refund partially then fully: statuses and amounts; one fen more is rejected; an unknown refund is not_found", async () => {
      const paymentId = await createPaid();
      const first = refundRequest(paymentId, 400n);
      const firstAnswer = await adapter.refund(first);
      expect(firstAnswer).toMatchObject({ ok: true, value: { refundRef: first.refundRef, amount: cny(400n) } });
      expect(["processing", "succeeded"]).toContain(firstAnswer.ok ? firstAnswer.value.status : "error");
      await eventually("the partial refund to succeed", async () => {
        const q = await adapter.queryRefund(first);
        expect(q).toMatchObject({ ok: true, value: { refundRef: first.refundRef, amount: cny(400n) } });
        return q.ok && q.value.status === "succeeded" ? true : undefined;
      });
      const partly = await adapter.queryPayment(paymentId, cny(1234n));
      expect(["captured", "partially_refunded"]).toContain(partly.ok ? partly.value.status : "error");

      const rest = refundRequest(paymentId, 834n);
      expect(await adapter.refund(rest)).toMatchObject({ ok: true, value: { refundRef: rest.refundRef, amount: cny(834n) } });
      await eventually("the full refund to succeed", async () => {
        const q = await adapter.queryRefund(rest);
        return q.ok && q.value.status === "succeeded" ? true : undefined;
      });
      const refunded = await adapter.queryPayment(paymentId, cny(1234n));
      expect(refunded).toMatchObject({
        ok: true,
        value: {
          status:
            quirks.queryIgnoresRefunds === true ? "captured" : quirks.fullRefundQueriesAsPartiallyRefunded === true ? "partially_refunded" : "refunded",
        },
      });

      expect(await adapter.refund(refundRequest(paymentId, 1n))).toMatchObject({ ok: false, error: { code: "rejected" } });
      expect(await adapter.queryRefund(refundRequest(paymentId, 1n))).toMatchObject({ ok: false, error: { code: "not_found" } });

      if (quirks.noRefundNotifications === true) return;
      for (const [request, total] of [[first, 400n], [rest, 1234n]] as const) {
        const notification = await eventually(`the refund notification of ${request.refundRef}`, () =>
          notificationsFor(paymentId).find((n) => n.verified.ok && n.verified.value.kind === "refund" && n.verified.value.report.refundRef === request.refundRef),
        );
        expect(notification.verified).toMatchObject({ ok: true, value: { kind: "refund", report: { paymentId, status: "succeeded" } } });
        expect(notification.verified.ok && notification.verified.value.kind === "refund" && notification.verified.value.report).toMatchObject(
          quirks.refundNotificationCarriesTotalOnly === true ? { refundedTotal: cny(total) } : { amount: request.amount },
        );
      }
    });

    it("a refund larger than the payment is rejected", async () => {
      const paymentId = await createPaid();
      expect(await adapter.refund(refundRequest(paymentId, 1235n))).toMatchObject({ ok: false, error: { code: "rejected" } });
    });

    it("the sandbox's payment notification verifies and decodes, is acknowledged, and a tampered copy fails verification", async () => {
      const paymentId = await createPaid();
      const notification = await eventually("the payment notification", () => notificationsFor(paymentId).find((n) => n.verified.ok));
      expect(notification.verified).toMatchObject({
        ok: true,
        value: { kind: "payment", report: { paymentId, status: "captured", amount: cny(1234n) } },
      });
      expect(notification.verified.ok && notification.verified.value.notificationId).toBeTruthy();
      await eventually("the provider to record the acknowledgement", () =>
        sandbox.deliveries().find((d) => d.outTradeNo === paymentId && d.acked && !d.forged),
      );
      const tampered = adapter.verifyNotification({ headers: notification.raw.headers, body: tamper(notification.raw.body) });
      expect(tampered).toMatchObject({ ok: false, error: { code: "bad_signature" } });
    });

    it("a forged notification (signed with another key) is refused and not acknowledged; the genuine one is", async () => {
      const forging = await faultySandbox({ forgedNotifyRate: 1 });
      const forgingAdapter = subject.createAdapter(forging.providers, { timeoutMs: 5_000 });
      const { paymentId, result } = await create(forgingAdapter, 1234n, forging);
      expect(result.ok).toBe(true);
      expect(forging.pay(provider, paymentId)).toBe(true);
      await eventually("the genuine notification to be acknowledged", () =>
        forging.deliveries().find((d) => d.outTradeNo === paymentId && !d.forged && d.acked),
      );
      const forged = forging.deliveries().filter((d) => d.outTradeNo === paymentId && d.forged);
      expect(forged.length).toBeGreaterThan(0);
      expect(forged.every((d) => !d.acked)).toBe(true);
      expect(notificationsFor(paymentId).some((n) => !n.verified.ok && n.verified.error.code === "bad_signature")).toBe(true);
    });

    it("an injected 5xx is outcome_unknown, never rejected", async () => {
      const failing = await faultySandbox({ serverErrorRate: 1 });
      const failingAdapter = subject.createAdapter(failing.providers, { timeoutMs: 5_000 });
      const { paymentId, result } = await create(failingAdapter, 1234n, failing);
      if (quirks.createMakesNoCall === true) expect(result).toMatchObject({ ok: true });
      else expect(result).toMatchObject({ ok: false, error: { code: "outcome_unknown", retryable: true } });
      expect(await failingAdapter.queryPayment(paymentId, cny(1234n))).toMatchObject({ ok: false, error: { code: "outcome_unknown" } });
      expect(await failingAdapter.refund(refundRequest(paymentId, 1n))).toMatchObject({ ok: false, error: { code: "outcome_unknown" } });
    });

    it("a request processed but never answered (socket closed, or slower than our timeout) is outcome_unknown", async () => {
      const hanging = await faultySandbox({ timeoutRate: 1, timeoutMs: 50 });
      const slow = await faultySandbox({ slowRate: 1, slowMs: 1_500 });
      if (quirks.createMakesNoCall === true) {
        const hangingAdapter = subject.createAdapter(hanging.providers, { timeoutMs: 5_000 });
        const created = await create(hangingAdapter, 1234n, hanging);
        expect(created.result).toMatchObject({ ok: true });
        expect(await hangingAdapter.queryPayment(created.paymentId, cny(1234n))).toMatchObject({ ok: false, error: { code: "outcome_unknown" } });
        const impatientAdapter = subject.createAdapter(slow.providers, { timeoutMs: 200 });
        const impatient = await create(impatientAdapter, 1234n, slow);
        expect(await impatientAdapter.queryPayment(impatient.paymentId, cny(1234n))).toMatchObject({ ok: false, error: { code: "outcome_unknown" } });
        return;
      }
      const created = await create(subject.createAdapter(hanging.providers, { timeoutMs: 5_000 }), 1234n, undefined);
      expect(created.result).toMatchObject({ ok: false, error: { code: "outcome_unknown" } });
      // It was processed: the provider has the payment although we never heard back.
      expect(hanging.transactions(provider).some((t) => t.outTradeNo === created.paymentId)).toBe(true);
      const impatient = await create(subject.createAdapter(slow.providers, { timeoutMs: 200 }), 1234n, undefined);
      expect(impatient.result).toMatchObject({ ok: false, error: { code: "outcome_unknown" } });
    });

    it("an answer altered on the way (one byte of its body) is bad_response_signature", async () => {
      const paymentId = await createPaid();
      const proxy = await tamperingProxy(sandbox.url);
      try {
        const fooled = subject.createAdapter(repointed(sandbox.providers, sandbox.url, proxy.url), { timeoutMs: 5_000 });
        expect(await fooled.queryPayment(paymentId, cny(1234n))).toMatchObject({ ok: false, error: { code: "bad_response_signature" } });
      } finally {
        await proxy.stop();
      }
    });

    it("a connection refused is unreachable", async () => {
      const deadUrl = `http://127.0.0.1:${await deadPort()}`;
      const unreachable = subject.createAdapter(repointed(sandbox.providers, sandbox.url, deadUrl), { timeoutMs: 2_000 });
      const { paymentId, result } = await create(unreachable, 1234n, undefined);
      if (quirks.createMakesNoCall === true) {
        expect(result).toMatchObject({ ok: true });
        expect(await unreachable.queryPayment(paymentId, cny(1234n))).toMatchObject({ ok: false, error: { code: "unreachable", retryable: true } });
      } else {
        expect(result).toMatchObject({ ok: false, error: { code: "unreachable", retryable: true } });
      }
    });
  });
}

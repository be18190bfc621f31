/**
 * Payment-routing's own metrics on a real Prometheus scrape (OpenTelemetry's exporter, the handler
 * the health port's `/metrics` calls), with the service on the real broker, its own database and
 * the provider sandbox over HTTP: a WeChat Pay payment routed and captured, a JD Pay payment nobody
 * pays timing out, and Alipay answering every request with a 5xx until its breaker opens.
 */
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { startTelemetry, type Telemetry } from "@tributary/telemetry";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, startPaymentRoutingTestEnv, type PaymentRoutingTestEnv } from "./payment-routing-test-env.js";
import { prometheusSample } from "@tributary/testkit/vitest";


describe("payment-routing metrics on /metrics", () => {
  let telemetry: Telemetry;
  let env: PaymentRoutingTestEnv;
  let server: Server;

  const scrape = async (): Promise<string> => {
    const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`);
    expect(response.status).toBe(200);
    return response.text();
  };

  beforeAll(async () => {
    // Before the service starts: its instruments are made on the global provider this registers.
    telemetry = await startTelemetry({ serviceName: "payment-routing-metrics-test", env: {} });
    server = createServer((request, response) => telemetry.serveMetrics(request, response));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    env = await startPaymentRoutingTestEnv({
      sandbox: { faults: { alipay: { serverErrorRate: 1 } } },
      breaker: { minAttempts: 3, failureRateMax: 0.5, openMs: 60_000 },
      timings: { paymentTimeoutMs: 4_000 },
    });
  });
  afterAll(async () => {
    // pg-pool's end() resolves before its clients have said goodbye; the database drop that follows
    // can terminate one of them, which would surface as an error event on a pool with no listener.
    env.pool.on("error", () => undefined);
    await env.stop();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await telemetry.shutdown();
  });

  it("a WeChat Pay payment counts routed and captured once, its decision by tier, its provider calls' durations; its breaker reads closed", async () => {
    const orderId = await env.acceptOrder({ preferred: "wechat_pay" });
    const pending = await env.waitForAttempt(orderId, (p) => p.status === "pending", "a pending WeChat Pay payment");
    expect(env.pay(pending)).toBe(true);
    await env.waitForAttempt(orderId, (p) => p.status === "captured", "the captured WeChat Pay payment");

    const text = await scrape();
    expect(prometheusSample(text, "payment_routing_payments_total", { provider: "wechat_pay", outcome: "routed" })).toBe(1);
    expect(prometheusSample(text, "payment_routing_payments_total", { provider: "wechat_pay", outcome: "captured" })).toBe(1);
    expect(prometheusSample(text, "payment_routing_payments_total", { provider: "wechat_pay", outcome: "failed" })).toBeUndefined();
    expect(prometheusSample(text, "payment_routing_routing_decisions_total", { provider: "wechat_pay", tier: "preferred", rollout: "none", arm: "none" })).toBe(1);
    // One create call, measured: a count of 1 and a positive sum of seconds, below the 3 s call timeout.
    const call = { provider: "wechat_pay", call: "create_payment" };
    expect(prometheusSample(text, "payment_routing_provider_call_duration_count", call)).toBe(1);
    const seconds = prometheusSample(text, "payment_routing_provider_call_duration_sum", call) ?? 0;
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThan(3);
    expect(prometheusSample(text, "payment_routing_provider_call_duration_bucket", { ...call, le: "+Inf" })).toBe(1);
    // Every provider with an adapter × every channel has a breaker series; WeChat's is closed.
    expect(prometheusSample(text, "payment_routing_breaker_state", { provider: "wechat_pay", channel: "web" })).toBe(0);
    for (const provider of ["alipay", "wechat_pay", "unionpay", "jd_pay", "ecny"]) {
      for (const channel of ["app", "web", "mini_program"]) {
        expect(prometheusSample(text, "payment_routing_breaker_state", { provider, channel }), `${provider} ${channel}`).toBeDefined();
      }
    }
  });

  it("a JD Pay payment nobody pays counts timed_out once, not failed", async () => {
    const orderId = await env.acceptOrder({ preferred: "jd_pay" });
    await env.waitForEvent(orderId, "PaymentFailed", (m) => m["reasonCode"] === "timed_out", 60_000);
    const text = await scrape();
    expect(prometheusSample(text, "payment_routing_payments_total", { provider: "jd_pay", outcome: "routed" })).toBe(1);
    expect(prometheusSample(text, "payment_routing_payments_total", { provider: "jd_pay", outcome: "timed_out" })).toBe(1);
    expect(prometheusSample(text, "payment_routing_payments_total", { provider: "jd_pay", outcome: "captured" })).toBeUndefined();
    expect(prometheusSample(text, "payment_routing_payments_total", { provider: "jd_pay", outcome: "failed" })).toBeUndefined();
    // Created once; it ends by our close at its expiry or by the sandbox's own close notification, whichever comes first.
    expect(prometheusSample(text, "payment_routing_provider_calls_total", { provider: "jd_pay", call: "create_payment", outcome: "ok" })).toBe(1);
    expect(prometheusSample(text, "payment_routing_provider_call_duration_count", { provider: "jd_pay", call: "create_payment" })).toBe(1);
  });

  it("Alipay answering 5xx opens its breaker: the gauge reads 2 on that channel and 0 on the others", async () => {
    const orderId = await env.acceptOrder({ preferred: "alipay" });
    const text = await eventually(async () => {
      const scraped = await scrape();
      return prometheusSample(scraped, "payment_routing_breaker_state", { provider: "alipay", channel: "web" }) === 2 ? scraped : undefined;
    }, "Alipay's breaker to read open on /metrics", 60_000);
    expect(prometheusSample(text, "payment_routing_breaker_state", { provider: "alipay", channel: "app" })).toBe(0);
    expect(prometheusSample(text, "payment_routing_breaker_state", { provider: "wechat_pay", channel: "web" })).toBe(0);
    expect(env.service.health.snapshot(["alipay"], new Date()).find((h) => h.channel === "web")?.health.breaker).toBe("open");
    // The attempt stays creating (its outcome unknown), so it was routed and nothing else.
    expect(prometheusSample(text, "payment_routing_payments_total", { provider: "alipay", outcome: "routed" })).toBe(1);
    expect(prometheusSample(text, "payment_routing_payments_total", { provider: "alipay", outcome: "captured" })).toBeUndefined();
    expect((await env.attempts(orderId)).map((a) => [a.provider, a.status])).toEqual([["alipay", "creating"]]);
  });
});

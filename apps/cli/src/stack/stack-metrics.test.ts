import { describe, expect, it } from "vitest";
import { ledgerCheckOf } from "./stack-checks.js";
import { KEY_METRICS, summariseMetrics } from "./stack-metrics.js";

// Lines as the services' /metrics serve them (OpenTelemetry's Prometheus exporter), trimmed.
const paymentRouting = `# TYPE payment_routing_payments_total counter
payment_routing_payments_total{provider="wechat_pay",outcome="routed",otel_scope_name="@tributary/payment-routing"} 3
payment_routing_payments_total{provider="wechat_pay",outcome="captured",otel_scope_name="@tributary/payment-routing"} 2
payment_routing_payments_total{provider="none",outcome="failed",reason="no_eligible_provider",otel_scope_name="@tributary/payment-routing"} 1
# HELP payment_routing_provider_calls_total Provider calls by provider, call and outcome code
# TYPE payment_routing_provider_calls_total counter
payment_routing_provider_calls_total{provider="wechat_pay",call="create_payment",outcome="ok",otel_scope_name="@tributary/payment-routing"} 2
payment_routing_provider_calls_total{provider="alipay",call="query_payment",outcome="provider_unavailable",otel_scope_name="@tributary/payment-routing"} 1
# HELP tributary_webhook_notifications_total Provider notifications handled by the webhook server, by provider, outcome and reason.
# TYPE tributary_webhook_notifications_total counter
tributary_webhook_notifications_total{tributary_provider="wechat_pay",tributary_webhook_outcome="applied",otel_scope_name="@tributary/payment-routing"} 2
tributary_webhook_notifications_total{tributary_provider="alipay",tributary_webhook_outcome="rejected",tributary_webhook_reason="bad_signature",otel_scope_name="@tributary/payment-routing"} 1
# TYPE tributary_outbox_unpublished gauge
tributary_outbox_unpublished{state="pending",otel_scope_name="@tributary/service-kit"} 3
tributary_outbox_unpublished{state="quarantined",otel_scope_name="@tributary/service-kit"} 1
# TYPE tributary_outbox_oldest_unpublished_age gauge
tributary_outbox_oldest_unpublished_age{otel_scope_name="@tributary/service-kit"} 4.5
# TYPE tributary_consumer_parked_keys gauge
tributary_consumer_parked_keys{messaging_consumer_group_name="payment-routing-orders",messaging_destination_name="orders.v1",otel_scope_name="@tributary/service-kit"} 2
# TYPE tributary_consumer_lag gauge
tributary_consumer_lag{messaging_consumer_group_name="payment-routing-orders",messaging_destination_name="orders.v1",messaging_destination_partition_id="0",otel_scope_name="@tributary/service-kit"} 5
tributary_consumer_lag{messaging_consumer_group_name="payment-routing-orders",messaging_destination_name="orders.v1",messaging_destination_partition_id="1",otel_scope_name="@tributary/service-kit"} 7
# TYPE tributary_metrics_read_age gauge
tributary_metrics_read_age{part="outbox",otel_scope_name="@tributary/service-kit"} 0.6
tributary_metrics_read_age{part="consumer_lag",messaging_consumer_group_name="payment-routing-orders",otel_scope_name="@tributary/service-kit"} 12.25
# TYPE tributary_messaging_dead_lettered_messages_total counter
tributary_messaging_dead_lettered_messages_total{messaging_system="kafka",messaging_destination_name="orders.v1",messaging_consumer_group_name="payment-routing-orders",otel_scope_name="@tributary/events"} 1
# TYPE messaging_process_duration histogram
messaging_process_duration_bucket{le="0.005"} 5
messaging_process_duration_bucket{le="+Inf"} 5
messaging_process_duration_sum 0.01
messaging_process_duration_count 5
`;

// A service kit process that has not counted a dead letter: the counter has no series at all.
const settlement = `# TYPE settlement_ledger_imbalance gauge
settlement_ledger_imbalance{currency="CNY",otel_scope_name="@tributary/settlement"} 0
settlement_ledger_imbalance{currency="USD",otel_scope_name="@tributary/settlement"} -5
# TYPE settlement_ledger_imbalance_read_age gauge
settlement_ledger_imbalance_read_age{otel_scope_name="@tributary/settlement"} 2.5
# TYPE tributary_outbox_unpublished gauge
tributary_outbox_unpublished{state="pending"} 0
tributary_outbox_unpublished{state="quarantined"} 0
# TYPE tributary_outbox_oldest_unpublished_age gauge
tributary_outbox_oldest_unpublished_age 0
# TYPE tributary_consumer_lag gauge
tributary_consumer_lag{messaging_consumer_group_name="settlement-payments",messaging_destination_name="payments.v1",messaging_destination_partition_id="0"} 0
# TYPE tributary_metrics_read_age gauge
tributary_metrics_read_age{part="outbox"} 1
`;

describe("summariseMetrics", () => {
  it("reads each key metric per service, summing a group's partitions", () => {
    const report = summariseMetrics([
      { service: "payment-routing", text: paymentRouting },
      { service: "settlement", text: settlement },
    ]);
    expect(report.payments).toEqual([
      { provider: "wechat_pay", outcome: "routed", reason: "", count: 3 },
      { provider: "wechat_pay", outcome: "captured", reason: "", count: 2 },
      { provider: "none", outcome: "failed", reason: "no_eligible_provider", count: 1 },
    ]);
    expect(report.ledgerImbalance).toEqual([
      { currency: "CNY", imbalanceMinor: 0, readAgeS: 2.5 },
      { currency: "USD", imbalanceMinor: -5, readAgeS: 2.5 },
    ]);
    expect(report.providerCalls).toEqual([
      { provider: "wechat_pay", call: "create_payment", outcome: "ok", count: 2 },
      { provider: "alipay", call: "query_payment", outcome: "provider_unavailable", count: 1 },
    ]);
    expect(report.webhookNotifications).toEqual([
      { provider: "wechat_pay", outcome: "applied", reason: "", count: 2 },
      { provider: "alipay", outcome: "rejected", reason: "bad_signature", count: 1 },
    ]);
    expect(report.outbox).toEqual([
      { service: "payment-routing", pending: 3, quarantined: 1, oldestPendingAgeS: 4.5 },
      { service: "settlement", pending: 0, quarantined: 0, oldestPendingAgeS: 0 },
    ]);
    expect(report.consumerLag).toEqual([
      { service: "payment-routing", group: "payment-routing-orders", topic: "orders.v1", lag: 12 },
      { service: "settlement", group: "settlement-payments", topic: "payments.v1", lag: 0 },
    ]);
    expect(report.parkedKeys).toEqual([{ service: "payment-routing", group: "payment-routing-orders", topic: "orders.v1", keys: 2 }]);
    expect(report.deadLettered).toEqual([{ service: "payment-routing", group: "payment-routing-orders", topic: "orders.v1", count: 1 }]);
    expect(report.readAgeMaxS).toEqual([
      { service: "payment-routing", seconds: 12.25 },
      { service: "settlement", seconds: 1 },
    ]);
    expect(report.problems).toEqual([]);
  });

  it("reports a failed scrape and a scrape without the service kit's gauges, and reads nothing from them", () => {
    const report = summariseMetrics([
      { service: "order", error: "fetch failed" },
      { service: "reconciliation", text: "# TYPE up gauge\nup 1\n" },
    ]);
    expect(report.problems).toEqual([
      "order: /metrics not read: fetch failed",
      `reconciliation: no ${KEY_METRICS.outboxUnpublished} on /metrics`,
      `reconciliation: no ${KEY_METRICS.outboxOldestAge} on /metrics`,
      `reconciliation: no ${KEY_METRICS.readAge} on /metrics`,
    ]);
    expect(report.outbox).toEqual([]);
    expect(report.consumerLag).toEqual([]);
  });

  it("reads the reconciliation classes each worker counted", () => {
    const report = summariseMetrics([
      {
        service: "reconciliation",
        text:
          "# TYPE reconciliation_items_total counter\n" +
          'reconciliation_items_total{provider="wechat_pay",class="matched"} 19\n' +
          'reconciliation_items_total{provider="wechat_pay",class="fee_mismatch"} 1\n',
      },
    ]);
    expect(report.reconciliationItems).toEqual([
      { provider: "wechat_pay", matchClass: "matched", count: 19 },
      { provider: "wechat_pay", matchClass: "fee_mismatch", count: 1 },
    ]);
    expect(report.notExported).toEqual([]);
  });
});

describe("ledgerCheckOf", () => {
  const gauge = (lines: string, age = "2"): string =>
    `# TYPE settlement_ledger_imbalance gauge\n${lines}\n# TYPE settlement_ledger_imbalance_read_age gauge\nsettlement_ledger_imbalance_read_age ${age}\n`;
  const check = (text: string) => ledgerCheckOf(summariseMetrics([{ service: "settlement", text }]));

  it("passes when every currency reads 0 and the reading is fresh", () => {
    expect(check(gauge('settlement_ledger_imbalance{currency="CNY"} 0'))).toEqual({ ok: true, source: "settlement_ledger_imbalance on settlement's /metrics", sumMinorByCurrency: { CNY: "0" }, readAgeS: 2 });
  });

  it("fails on any currency off 0, on a stale reading, and when settlement reports nothing", () => {
    expect(check(gauge('settlement_ledger_imbalance{currency="CNY"} 0\nsettlement_ledger_imbalance{currency="USD"} 1')).ok).toBe(false);
    expect(check(gauge('settlement_ledger_imbalance{currency="CNY"} 0', "61")).ok).toBe(false);
    expect(check("# TYPE up gauge\nup 1\n")).toMatchObject({ ok: false });
    expect(ledgerCheckOf(summariseMetrics([{ service: "settlement", error: "fetch failed" }])).ok).toBe(false);
  });
});

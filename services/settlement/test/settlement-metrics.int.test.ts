/**
 * Settlement's own metrics on the real `/metrics` endpoint of its health port, with the service on
 * the real broker and a database of its own: a WeChat Pay capture, a refund reserved and then
 * posted count one posting each by kind (a capture republished under a new event id counts
 * nothing); the ledger imbalance for CNY reads 0 before and after a checkpoint, as the raw sum of
 * postings does; and a checkpoint line planted off by one fen makes it read 1 — the gauge reads
 * the checkpoints, and is no constant.
 */
import { create, toBinary, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Provider } from "@tributary/contracts/common/v1/provider";
import { OrderRefundRequestedSchema } from "@tributary/contracts/order/v1/order_events";
import { PaymentCapturedSchema, PaymentRefundedSchema } from "@tributary/contracts/payment/v1/payment_events";
import { envelopeHeaders, newEventId, protobufContentType } from "@tributary/events";
import { startTelemetry, type Telemetry } from "@tributary/telemetry";
import { freshTestDatabase, prometheusSample, startGroupAtTopicEnd, testKafkaBrokers } from "@tributary/testkit/vitest";
import { Kafka, logLevel, type Producer } from "kafkajs";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { takeCheckpoint } from "../src/adapters/db/pg-ledger.js";
import { accountIdOf, accounts } from "../src/domain/account.js";
import { startSettlementService, type RunningSettlementService } from "../src/settlement-service.js";
import { eventually } from "./settlement-test-env.js";


describe("settlement metrics on /metrics", () => {
  let telemetry: Telemetry;
  let database: { readonly url: string; drop(): Promise<void> };
  let service: RunningSettlementService;
  let producer: Producer;
  let pool: pg.Pool;
  const suffix = newEventId().slice(-8);
  const groups = { payments: `settlement-metrics-payments-${suffix}`, orders: `settlement-metrics-orders-${suffix}` };
  const merchantId = `m-metrics-${suffix}`;

  const publish = async <S extends DescMessage>(topic: string, key: string, schema: S, message: MessageInitShape<S>): Promise<string> => {
    const eventId = newEventId();
    await producer.send({
      topic,
      messages: [
        {
          key,
          value: Buffer.from(toBinary(schema, create(schema, message))),
          headers: envelopeHeaders({ eventId, eventType: schema.typeName, schemaVersion: "1", producer: "settlement-metrics-test", occurredAt: new Date(), contentType: protobufContentType }),
        },
      ],
    });
    return eventId;
  };
  const applied = (groupId: string, eventId: string) =>
    eventually(async () => {
      const { rowCount } = await pool.query("SELECT 1 FROM inbox WHERE consumer_group = $1 AND event_id = $2", [groupId, eventId]);
      return rowCount === 1 ? true : undefined;
    }, `event ${eventId} in ${groupId}`);
  const scrape = async (): Promise<string> => {
    await service.metrics.refreshNow();
    const response = await fetch(`http://${service.healthAddress}/metrics`);
    expect(response.status).toBe(200);
    return response.text();
  };
  const rawSums = async (): Promise<Record<string, string>> => {
    const { rows } = await pool.query<{ currency: string; total: string }>("SELECT currency, sum(amount_minor)::text AS total FROM ledger_posting GROUP BY currency");
    return Object.fromEntries(rows.map((row) => [row.currency, row.total]));
  };

  beforeAll(async () => {
    // Before the service starts: its instruments are made on the global provider this registers.
    telemetry = await startTelemetry({ serviceName: "settlement-metrics-test", env: {} });
    database = await freshTestDatabase("tributary_settlement");
    pool = new pg.Pool({ connectionString: database.url, max: 2 });
    const brokers = testKafkaBrokers();
    const kafka = new Kafka({ clientId: "settlement-metrics-tests", brokers: [...brokers], logLevel: logLevel.NOTHING });
    await startGroupAtTopicEnd(kafka, groups.payments, "payments.v1");
    await startGroupAtTopicEnd(kafka, groups.orders, "orders.v1");
    service = await startSettlementService({
      databaseUrl: database.url,
      kafka: { brokers },
      paymentsGroupId: groups.payments,
      ordersGroupId: groups.orders,
      reconciliationGroupId: `settlement-metrics-reconciliation-${suffix}`,
      // Long: the test takes its checkpoint itself, when it wants one.
      checkpointIntervalMs: 3_600_000,
      grpcAddress: "127.0.0.1:0",
      healthAddress: "127.0.0.1:0",
      tokens: {},
    });
    producer = kafka.producer();
    await producer.connect();
  });
  afterAll(async () => {
    await producer?.disconnect();
    await service?.stop();
    await pool?.end();
    await database?.drop();
    await telemetry?.shutdown();
  });

  it("counts a capture, a refund reservation and its posting once each; the CNY imbalance reads 0 before and after a checkpoint", async () => {
    const before = await scrape();
    // The platform accounts exist from start-up: CNY is reported, and is 0, before any posting.
    expect(prometheusSample(before, "settlement_ledger_imbalance", { currency: "CNY" })).toBe(0);
    expect(prometheusSample(before, "settlement_postings_total", { kind: "capture" })).toBeUndefined();

    const orderId = `order-${newEventId()}`;
    const paymentId = `pay-${newEventId()}`;
    const captured = {
      paymentId,
      orderId,
      merchantId,
      provider: Provider.WECHAT_PAY,
      providerTransactionId: `wx-${paymentId.slice(-10)}`,
      amount: { currency: "CNY", amountMinor: 10_000n },
      capturedAt: timestampFromDate(new Date()),
    };
    await applied(groups.payments, await publish("payments.v1", orderId, PaymentCapturedSchema, captured));
    // The same capture under another event id: its entry exists, nothing is written or counted.
    await applied(groups.payments, await publish("payments.v1", orderId, PaymentCapturedSchema, captured));
    await applied(
      groups.orders,
      await publish("orders.v1", orderId, OrderRefundRequestedSchema, { orderId, refundRef: "rf-metrics", amount: { currency: "CNY", amountMinor: 3_000n }, reason: "size" }),
    );
    // A checkpoint between the reservation and the refund: the imbalance then sums lines + postings since.
    const checkpoint = await takeCheckpoint(pool);
    expect(checkpoint.lines).toBeGreaterThan(0);
    await applied(
      groups.payments,
      await publish("payments.v1", orderId, PaymentRefundedSchema, {
        paymentId,
        orderId,
        merchantId,
        provider: Provider.WECHAT_PAY,
        refundRef: "rf-metrics",
        providerRefundId: "wxr-metrics",
        amount: { currency: "CNY", amountMinor: 3_000n },
        refundedAt: timestampFromDate(new Date()),
      }),
    );

    const text = await scrape();
    expect(prometheusSample(text, "settlement_postings_total", { kind: "capture" })).toBe(1);
    expect(prometheusSample(text, "settlement_postings_total", { kind: "refund_reservation" })).toBe(1);
    expect(prometheusSample(text, "settlement_postings_total", { kind: "refund" })).toBe(1);
    expect(prometheusSample(text, "settlement_postings_total", { kind: "payout" })).toBeUndefined();
    expect(prometheusSample(text, "settlement_ledger_imbalance", { currency: "CNY" })).toBe(0);
    expect(await rawSums()).toEqual({ CNY: "0" });
    // Just read (refreshNow): its age is well under the 10 s interval.
    const age = prometheusSample(text, "settlement_ledger_imbalance_read_age", {});
    expect(age).toBeDefined();
    expect(age).toBeLessThan(5);

    // Another checkpoint after everything: lines alone now, still 0.
    await takeCheckpoint(pool);
    expect(prometheusSample(await scrape(), "settlement_ledger_imbalance", { currency: "CNY" })).toBe(0);
  });

  it("reads the checkpoints: a line planted one fen off makes CNY read 1 while the postings still sum to 0", async () => {
    // Checkpoint rows admit inserts (only updates and deletes are refused); this one is a forgery.
    await pool.query(
      `WITH cp AS (INSERT INTO balance_checkpoint (snapshot_xmin, snapshot_xmax, snapshot_xip)
                   SELECT pg_snapshot_xmin(s)::text::bigint, pg_snapshot_xmax(s)::text::bigint, ARRAY(SELECT x::text::bigint FROM pg_snapshot_xip(s) AS x)
                     FROM (SELECT pg_current_snapshot() AS s) snap
                   RETURNING checkpoint_id)
       INSERT INTO balance_checkpoint_line (account_id, checkpoint_id, balance_minor)
       SELECT l.account_id, cp.checkpoint_id, l.balance_minor + 1
         FROM cp, LATERAL (SELECT account_id, balance_minor FROM balance_checkpoint_line
                            WHERE account_id = $1 ORDER BY checkpoint_id DESC LIMIT 1) l`,
      [accountIdOf(accounts.merchantPayable(merchantId, "CNY"))],
    );
    const text = await scrape();
    expect(prometheusSample(text, "settlement_ledger_imbalance", { currency: "CNY" })).toBe(1);
    expect(await rawSums()).toEqual({ CNY: "0" });
  });
});

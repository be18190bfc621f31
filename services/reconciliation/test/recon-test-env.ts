/**
 * Shared set-up of reconciliation's integration tests: the provider sandbox in-process on a manual
 * clock (buyers pay when told), payment-routing's real adapters to make payments and refunds at
 * chosen instants, the real test database and broker, a watcher on `reconciliation.v1`, and a
 * publisher for `StatementAvailable`.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { providerIdToProto, reconciliationTopic, findTopicMessage, statementsTopic, type ProviderId } from "@tributary/contracts";
import { StatementAvailableSchema } from "@tributary/contracts/statement/v1/statement_events";
import { ensureTopics, envelopeHeaders, kafkaHeadersToRecord, newEventId, protobufContentType } from "@tributary/events";
import { money } from "@tributary/money";
import { createAlipayAdapter, createEcnyAdapter, createJdPayAdapter, createUnionpayAdapter, createWechatAdapter, inMemoryUnionpayOrders } from "@tributary/payment-routing";
import { manualClock, startSandbox, type BillDiscrepancy, type ManualClock, type RunningSandbox, type SandboxOptions, type UnionpayAdjustment } from "@tributary/provider-sandbox";
import { testDatabaseUrl, testKafkaBrokers } from "@tributary/testkit/vitest";
import { Kafka, logLevel, type Producer } from "kafkajs";
import pg from "pg";
import type { LedgerRecord } from "../src/domain/ledger-record.js";
import { shanghaiDay, shanghaiDayBounds } from "../src/domain/shanghai-calendar.js";
import type { BillSourceConfig } from "../src/providers/bill-sources.js";

/** A consumed record of `reconciliation.v1`, decoded. */
export interface SeenRecord {
  readonly key: string;
  readonly type: string;
  readonly message: unknown;
}

/** Polls until `check` returns a value; fails with `what` after the timeout. */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 45_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The instant `hh:mm:ss.mmm` on an Asia/Shanghai day. */
export function at(day: string, time: string): number {
  const bounds = shanghaiDayBounds(day);
  const m = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d{3}))?$/.exec(time);
  if (bounds === undefined || m === null) throw new Error(`bad instant ${day} ${time}`);
  return bounds.startMs + ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 + Number(m[4] ?? "0");
}

type SandboxName = "wechat" | "alipay" | "unionpay" | "jdpay" | "ecny";
const SANDBOX_NAME: Readonly<Record<ProviderId, SandboxName>> = { wechat_pay: "wechat", alipay: "alipay", unionpay: "unionpay", jd_pay: "jdpay", ecny: "ecny" };

/** Everything one test file needs. */
export interface ReconTestEnv {
  readonly sandbox: RunningSandbox;
  readonly clock: ManualClock;
  readonly pool: pg.Pool;
  readonly databaseUrl: string;
  readonly brokers: readonly string[];
  readonly records: SeenRecord[];
  /** Creates a payment through payment-routing's adapter and has the buyer pay it at `atMs`. */
  pay(outTradeNo: string, amountMinor: bigint, atMs: number): Promise<void>;
  /** Refunds through the adapter, accepted at `atMs`. */
  refund(outTradeNo: string, refundRef: string, amountMinor: bigint, paymentAmountMinor: bigint, atMs: number): Promise<void>;
  /** Our records of what the sandbox processed (as settlement would have posted them), less `except`. */
  ledgerFromSandbox(except?: ReadonlySet<string>): LedgerRecord[];
  /** The worker's download credentials for the sandbox. */
  sourceConfig(): BillSourceConfig;
  publishStatement(billDate: string, extra?: { location?: string; digestAlgorithm?: string; digest?: string }): Promise<string>;
  stop(): Promise<void>;
}

/** Starts the sandbox for one provider and the Kafka plumbing around it. */
export async function startReconTestEnv(options: {
  readonly provider: ProviderId;
  readonly startMs: number;
  readonly discrepancies?: readonly BillDiscrepancy[];
  readonly adjustments?: readonly UnionpayAdjustment[];
  readonly wechatColumns?: "current" | "legacy";
}): Promise<ReconTestEnv> {
  const name = SANDBOX_NAME[options.provider];
  const clock = manualClock(options.startMs);
  const sandboxOptions: SandboxOptions = {
    seed: 11,
    keysDir: mkdtempSync(join(tmpdir(), "recon-keys-")),
    clock,
    buyer: { mode: "manual" },
    timing: { refundDelayMs: 1, billReadyAfterMs: 0, notifyScheduleMs: { [name]: [0] } },
    discrepancies: { [name]: options.discrepancies ?? [] },
    ...(options.adjustments === undefined ? {} : { unionpay: { adjustments: options.adjustments } }),
    ...(options.wechatColumns === undefined ? {} : { wechat: { billColumns: options.wechatColumns } }),
    onError: () => undefined,
  };
  const sandbox = await startSandbox(sandboxOptions);
  const now = (): Date => new Date(clock.nowMs());
  const creds = sandbox.providers;
  const adapter =
    options.provider === "wechat_pay" ? createWechatAdapter({ ...creds.wechat, now })
    : options.provider === "alipay" ? createAlipayAdapter({ ...creds.alipay, now })
    : options.provider === "unionpay" ? createUnionpayAdapter({ ...creds.unionpay, now, orders: inMemoryUnionpayOrders() })
    : options.provider === "jd_pay" ? createJdPayAdapter({ ...creds.jdpay, now })
    : createEcnyAdapter({ ...creds.ecny, now });
  const brokers = testKafkaBrokers();
  const databaseUrl = testDatabaseUrl("tributary_reconciliation");
  const kafka = new Kafka({ clientId: "reconciliation-tests", brokers: [...brokers], logLevel: logLevel.NOTHING });
  await ensureTopics(kafka, [statementsTopic, reconciliationTopic]);
  const producer: Producer = kafka.producer();
  await producer.connect();
  const consumer = kafka.consumer({ groupId: `recon-test-watch-${newEventId()}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic: reconciliationTopic.name, fromBeginning: true });
  const records: SeenRecord[] = [];
  await consumer.run({
    eachMessage: async ({ message }) => {
      const headers = kafkaHeadersToRecord(message.headers);
      const type = headers["event-type"] ?? "";
      const schema = findTopicMessage(reconciliationTopic, type);
      records.push({ key: message.key?.toString("utf8") ?? "", type, message: schema === undefined ? undefined : fromBinary(schema, message.value ?? Buffer.alloc(0)) });
    },
  });
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  const notifyUrl = "http://127.0.0.1:9/nowhere";
  return {
    sandbox,
    clock,
    pool,
    databaseUrl,
    brokers,
    records,
    async pay(outTradeNo, amountMinor, atMs) {
      clock.set(atMs - 1000);
      const created = await adapter.createPayment({
        paymentId: outTradeNo, orderId: outTradeNo, merchantId: "m-recon", amount: money(amountMinor, "CNY"), channel: "web",
        description: `Order ${outTradeNo}`, notifyUrl, expiresAt: new Date(atMs + 3_600_000),
      });
      if (!created.ok) throw new Error(`createPayment ${outTradeNo}: ${created.error.code} ${created.error.message}`);
      clock.set(atMs);
      if (!sandbox.pay(name, outTradeNo)) throw new Error(`the buyer could not pay ${outTradeNo}`);
    },
    async refund(outTradeNo, refundRef, amountMinor, paymentAmountMinor, atMs) {
      clock.set(atMs);
      const result = await adapter.refund({ paymentId: outTradeNo, refundRef, amount: money(amountMinor, "CNY"), paymentAmount: money(paymentAmountMinor, "CNY"), reason: "test", notifyUrl });
      if (!result.ok) throw new Error(`refund ${refundRef}: ${result.error.code} ${result.error.message}`);
    },
    ledgerFromSandbox(except = new Set()) {
      return sandbox.transactions(name).flatMap((p) => {
        if (p.paidAtMs === undefined || p.feeMinor === undefined || except.has(p.outTradeNo)) return [];
        const payment: LedgerRecord = {
          recordId: `pay-${p.outTradeNo}`, kind: "payment", providerTxnId: p.providerTradeNo, merchantOrderRef: p.outTradeNo,
          providerRefundId: "", merchantRefundRef: "", amountMinor: p.amountMinor, feeMinor: p.feeMinor, currency: "CNY",
          status: "succeeded", bookedAtMs: p.paidAtMs, businessDate: shanghaiDay(p.paidAtMs),
        };
        const refunds = p.refunds.map((r): LedgerRecord => ({
          recordId: `ref-${r.outRefundNo}`, kind: "refund", providerTxnId: p.providerTradeNo, merchantOrderRef: p.outTradeNo,
          providerRefundId: options.provider === "alipay" ? "" : r.providerRefundNo, merchantRefundRef: r.outRefundNo,
          amountMinor: -r.amountMinor, feeMinor: -r.feeReturnedMinor, currency: "CNY", status: "refund_succeeded",
          bookedAtMs: r.createdAtMs, businessDate: shanghaiDay(r.createdAtMs),
        }));
        return [payment, ...refunds];
      });
    },
    sourceConfig() {
      switch (options.provider) {
        case "wechat_pay":
          return { provider: "wechat_pay", ...creds.wechat, now };
        case "alipay":
          return { provider: "alipay", ...creds.alipay, now };
        case "unionpay":
          return { provider: "unionpay", ...creds.unionpay, now };
        case "jd_pay":
          return { provider: "jd_pay", ...creds.jdpay, now };
        case "ecny":
          return { provider: "ecny", ...creds.ecny, now };
      }
    },
    async publishStatement(billDate, extra = {}) {
      const eventId = newEventId();
      const message = create(StatementAvailableSchema, { provider: providerIdToProto(options.provider), billDate, location: extra.location ?? "", digestAlgorithm: extra.digestAlgorithm ?? "", digest: extra.digest ?? "" });
      await producer.send({
        topic: statementsTopic.name,
        messages: [{
          key: `${options.provider}/${billDate}`,
          value: Buffer.from(toBinary(StatementAvailableSchema, message)),
          headers: envelopeHeaders({ eventId, eventType: StatementAvailableSchema.typeName, schemaVersion: "1", producer: "reconciliation-tests", occurredAt: new Date(), contentType: protobufContentType }),
        }],
      });
      return eventId;
    },
    async stop() {
      await consumer.disconnect();
      await producer.disconnect();
      await pool.end();
      await sandbox.stop();
    },
  };
}

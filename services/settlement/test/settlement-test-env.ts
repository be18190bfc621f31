/**
 * The settlement service started in-process on the real test broker and database, with a
 * producer to publish `payments.v1` / `orders.v1` events in a valid envelope and a wait on the
 * consumer's inbox (never a sleep).
 */
import { create, toBinary, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { envelopeHeaders, newEventId, protobufContentType } from "@tributary/events";
import { testDatabaseUrl, testKafkaBrokers } from "@tributary/testkit/vitest";
import type { TokenTable } from "@tributary/grpc";
import { Kafka, logLevel, type Producer } from "kafkajs";
import pg from "pg";
import type { FeeTerms } from "../src/domain/fee-terms.js";
import { startSettlementService, type RunningSettlementService } from "../src/settlement-service.js";

/** Polls until `check` returns a value other than `undefined`; fails with `what` after the timeout. */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A finance token for every merchant (`settlement:read`). */
export const financeToken = "finance-token-0123";
/** A reconciliation worker's token for JD Pay only (`settlement:records`). */
export const reconToken = "recon-jd-token-4567";

/** A running service plus what tests use to drive and observe it. */
export interface SettlementTestEnv {
  readonly service: RunningSettlementService;
  readonly pool: pg.Pool;
  readonly paymentsGroupId: string;
  readonly ordersGroupId: string;
  readonly reconciliationGroupId: string;
  /** Publishes one event with a valid envelope; returns its event id. */
  publish<S extends DescMessage>(topicName: string, key: string, schema: S, message: MessageInitShape<S>, eventId?: string): Promise<string>;
  /** Waits until the group's inbox holds the event (applied, or dead-lettered and parked). */
  applied(groupId: string, eventId: string): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the service with its own consumer groups (so each test file reads the topics afresh). */
export async function startSettlementTestEnv(
  options: { readonly terms?: FeeTerms; readonly tokens?: TokenTable; readonly clock?: () => Date; readonly databaseUrl?: string } = {},
): Promise<SettlementTestEnv> {
  const brokers = testKafkaBrokers();
  const databaseUrl = options.databaseUrl ?? testDatabaseUrl("tributary_settlement");
  const suffix = newEventId().slice(-8);
  const paymentsGroupId = `settlement-payments-test-${suffix}`;
  const ordersGroupId = `settlement-orders-test-${suffix}`;
  const reconciliationGroupId = `settlement-reconciliation-test-${suffix}`;
  const service = await startSettlementService({
    databaseUrl,
    kafka: { brokers },
    paymentsGroupId,
    ordersGroupId,
    reconciliationGroupId,
    checkpointIntervalMs: 500,
    grpcAddress: "127.0.0.1:0",
    tokens: {
      [financeToken]: { id: "finance", scopes: ["settlement:read"], grants: { merchants: "all" } },
      [reconToken]: { id: "recon-jd", scopes: ["settlement:records"], grants: { providers: ["jd_pay"] } },
      ...options.tokens,
    },
    ...(options.terms === undefined ? {} : { terms: options.terms }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  const kafka = new Kafka({ clientId: "settlement-tests", brokers: [...brokers], logLevel: logLevel.NOTHING });
  const producer: Producer = kafka.producer();
  await producer.connect();
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  return {
    service,
    pool,
    paymentsGroupId,
    ordersGroupId,
    reconciliationGroupId,
    async publish(topicName, key, schema, message, eventId = newEventId()) {
      await producer.send({
        topic: topicName,
        messages: [
          {
            key,
            value: Buffer.from(toBinary(schema, create(schema, message))),
            headers: envelopeHeaders({
              eventId,
              eventType: schema.typeName,
              schemaVersion: "1",
              producer: "settlement-tests",
              occurredAt: new Date(),
              contentType: protobufContentType,
            }),
          },
        ],
      });
      return eventId;
    },
    async applied(groupId, eventId) {
      await eventually(async () => {
        const { rowCount } = await pool.query("SELECT 1 FROM inbox WHERE consumer_group = $1 AND event_id = $2", [groupId, eventId]);
        if (rowCount === 1) return true;
        const parked = await pool.query("SELECT 1 FROM parked_key WHERE consumer_group = $1 AND dead_letter_event_id = $2", [groupId, eventId]).catch(() => ({ rowCount: 0 }));
        return parked.rowCount === 1 ? true : undefined;
      }, `event ${eventId} in ${groupId}`);
    },
    async stop() {
      await producer.disconnect();
      await pool.end();
      await service.stop();
    },
  };
}

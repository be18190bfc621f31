import { ordersInboundTopic, ordersTopic, paymentsTopic } from "@tributary/contracts";
import { OrderService } from "@tributary/contracts/order/v1/order_service";
import { ensureTopics, startOutboxRelay, type IdempotentConsumer, type OutboxRelay } from "@tributary/events";
import { createServer, type RpcLogger, type RpcServer, type TokenTable } from "@tributary/grpc";
import { createLogger, type Logger } from "@tributary/telemetry";
import { Kafka, logLevel } from "kafkajs";
import pg from "pg";
import { v7 as uuidv7 } from "uuid";
import { createOrderBatcher } from "./adapters/db/create-order-batcher.js";
import { createPgOrderStore } from "./adapters/db/pg-order-store.js";
import { orderErrorCodes } from "./adapters/grpc/order-error-codes.js";
import { orderServiceAccess } from "./adapters/grpc/order-service-access.js";
import { createOrderServiceHandlers } from "./adapters/grpc/order-service-handlers.js";
import { startOrderIntakeConsumer } from "./adapters/kafka/order-intake-consumer.js";
import { createOrderOutbox, ORDER_PRODUCER } from "./adapters/kafka/order-outbox.js";
import { startPaymentsConsumer } from "./adapters/kafka/payments-consumer.js";
import type { OrderDeps } from "./app/ports.js";

/** Everything the order service needs from its environment; `main.ts` builds it from env vars. */
export interface OrderServiceConfig {
  /** The service's own database, migrated (tributary_order). */
  readonly databaseUrl: string;
  readonly kafkaBrokers: readonly string[];
  /** `host:port` to serve gRPC on; port 0 picks a free port (tests). */
  readonly grpcAddress: string;
  /** Bearer tokens and their scopes (`orders:write`, `orders:read`). */
  readonly tokens: TokenTable;
  /** Largest number of pooled database connections; 10 unless told. */
  readonly poolSize?: number;
  /** The clock; the system clock unless told. */
  readonly clock?: () => Date;
  /** The order id generator; UUIDv7 unless told. */
  readonly newOrderId?: () => string;
  /** Where operational errors go (JSON lines with trace ids); a pino logger on stdout unless told. */
  readonly logger?: Logger;
}

/** A running order service. */
export interface RunningOrderService {
  /** The bound gRPC port (the real one when the address asked for port 0). */
  readonly port: number;
  /** `host:port` clients dial. */
  readonly address: string;
  /** Stops taking calls and events, lets in-flight work finish, and closes every connection. */
  stop(): Promise<void>;
}

function hostOf(address: string): string {
  const colon = address.lastIndexOf(":");
  return colon < 0 ? address : address.slice(0, colon);
}

/**
 * Starts the whole order service in this process: the gRPC OrderService (with health), the
 * outbox relay to `orders.v1`, the `orders.inbound.v1` intake and the `payments.v1` consumer.
 * `main.ts` calls it with the environment's settings; tests call it with port 0.
 */
export async function startOrderService(config: OrderServiceConfig): Promise<RunningOrderService> {
  const logger = config.logger ?? createLogger({ serviceName: ORDER_PRODUCER });
  const pool = new pg.Pool({ connectionString: config.databaseUrl, max: config.poolSize ?? 10 });
  // An idle pooled connection that Postgres drops (restart, failover, pg_terminate_backend) is
  // reported here; without a listener the pool's "error" event would crash the process. The pool
  // discards that connection and opens a new one on the next checkout.
  pool.on("error", (error) => {
    logger.warn({ err: error }, "order service: an idle database connection failed");
  });
  // The gRPC adapter's failures (INTERNAL, UNAVAILABLE) go to the same logger, with the trace ids.
  const rpcLogger: RpcLogger = {
    error: (message, { error, ...fields }) => logger.error({ ...fields, err: error }, message),
  };
  const kafka = new Kafka({ clientId: ORDER_PRODUCER, brokers: [...config.kafkaBrokers], logLevel: logLevel.WARN });
  const deps: OrderDeps = {
    store: createPgOrderStore(),
    outbox: createOrderOutbox(),
    clock: config.clock ?? (() => new Date()),
    newOrderId: config.newOrderId ?? (() => uuidv7()),
  };
  const stoppers: (() => Promise<void>)[] = [() => pool.end()];
  // Stops in reverse start order (gRPC first, the pool last); a second call waits for the first.
  let stopped: Promise<void> | undefined;
  const stopAll = (): Promise<void> => {
    stopped ??= (async () => {
      for (const stop of [...stoppers].reverse()) {
        await stop().catch((error: unknown) => {
          console.error("order service: error while stopping", error);
        });
      }
    })();
    return stopped;
  };
  try {
    await ensureTopics(kafka, [ordersInboundTopic, ordersTopic, paymentsTopic]);
    const relay: OutboxRelay = await startOutboxRelay({ pool, kafka, producerName: ORDER_PRODUCER });
    stoppers.push(() => relay.stop());
    const intake: IdempotentConsumer = await startOrderIntakeConsumer({ kafka, pool, deps });
    stoppers.push(() => intake.stop());
    const payments: IdempotentConsumer = await startPaymentsConsumer({ kafka, pool, deps });
    stoppers.push(() => payments.stop());
    const rpc: RpcServer = createServer({ tokens: config.tokens, logger: rpcLogger });
    rpc.addService(OrderService, createOrderServiceHandlers(pool, deps, createOrderBatcher(pool, deps)), {
      access: orderServiceAccess,
      errors: orderErrorCodes,
    });
    const port = await rpc.listen(config.grpcAddress);
    stoppers.push(() => rpc.shutdown());
    return { port, address: `${hostOf(config.grpcAddress)}:${port}`, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

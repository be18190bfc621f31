import { ordersInboundTopic, ordersTopic, paymentsTopic } from "@tributary/contracts";
import { OrderService } from "@tributary/contracts/order/v1/order_service";
import type { TokenTable } from "@tributary/grpc";
import { startServiceRuntime, type KafkaSettings } from "@tributary/service-kit";
import { createLogger, type Logger } from "@tributary/telemetry";
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
  /** Kafka bootstrap servers; or `kafka` for TLS/SASL settings too. */
  readonly kafkaBrokers?: readonly string[];
  readonly kafka?: KafkaSettings;
  /** `host:port` to serve gRPC on; port 0 picks a free port (tests). */
  readonly grpcAddress: string;
  /** Bearer tokens, their scopes (`orders:write`, `orders:read`) and the merchants each acts for. */
  readonly tokens: TokenTable;
  /** `host:port` for HTTP `/livez` and `/readyz`; none unless told. */
  readonly healthAddress?: string;
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
  /** The HTTP health endpoint's `host:port`, when one was asked for. */
  readonly healthAddress: string | undefined;
  /** Stops taking calls and events, lets in-flight work finish, and closes every connection. */
  stop(): Promise<void>;
}

/**
 * Starts the whole order service in this process on the service kit: the outbox relay to
 * `orders.v1`, the `orders.inbound.v1` intake, the `payments.v1` consumer and the gRPC
 * OrderService (with health) — stopped in the reverse order. `main.ts` calls it with the
 * environment's settings; tests call it with port 0.
 */
export async function startOrderService(config: OrderServiceConfig): Promise<RunningOrderService> {
  const kafka = config.kafka ?? { brokers: config.kafkaBrokers ?? [] };
  const runtime = await startServiceRuntime({
    name: ORDER_PRODUCER,
    databaseUrl: config.databaseUrl,
    databaseSetting: "ORDER_DATABASE_URL",
    ...(config.poolSize === undefined ? {} : { poolSize: config.poolSize }),
    kafka,
    topics: [ordersInboundTopic, ordersTopic, paymentsTopic],
    ...(config.healthAddress === undefined ? {} : { healthAddress: config.healthAddress }),
    logger: config.logger ?? createLogger({ serviceName: ORDER_PRODUCER }),
  });
  const deps: OrderDeps = {
    store: createPgOrderStore(),
    outbox: createOrderOutbox(),
    clock: config.clock ?? (() => new Date()),
    newOrderId: config.newOrderId ?? (() => uuidv7()),
  };
  const { pool } = runtime;
  try {
    await runtime.startRelay();
    await runtime.start("orders.inbound.v1 intake", () => startOrderIntakeConsumer({ kafka: runtime.kafka, pool, deps }));
    await runtime.start("payments.v1 consumer", () => startPaymentsConsumer({ kafka: runtime.kafka, pool, deps, logger: runtime.logger }));
    const grpc = await runtime.serveGrpc({
      address: config.grpcAddress,
      tokens: config.tokens,
      register: (server) =>
        server.addService(OrderService, createOrderServiceHandlers(pool, deps, createOrderBatcher(pool, deps)), {
          access: orderServiceAccess,
          errors: orderErrorCodes,
        }),
    });
    runtime.markReady();
    return { port: grpc.port, address: grpc.address, healthAddress: runtime.healthAddress, stop: () => runtime.stop() };
  } catch (error) {
    await runtime.stop();
    throw error;
  }
}

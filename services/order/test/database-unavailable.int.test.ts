import { createServer as createTcpServer } from "node:net";
import { OrderService } from "@tributary/contracts/order/v1/order_service";
import { closeClient, Code, createClient } from "@tributary/grpc";
import { createLogger } from "@tributary/telemetry";
import { testDatabaseUrl, testKafkaBrokers } from "@tributary/testkit/vitest";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { startOrderService } from "../src/order-service.js";
import { rpcError, uniqueMerchant, validOrder, writerToken } from "./order-test-env.js";

const tokens = {
  [writerToken]: { id: "shop-upstream", scopes: ["orders:write", "orders:read"], grants: { merchants: "all" } },
} as const;
// The service logs every failed connection; the test only needs the outcome.
const quietLogger = createLogger({ serviceName: "order-unavailable-test", level: "silent" });

/** A port that was just bound and released, so connecting to it is refused. */
async function closedLocalPort(): Promise<number> {
  const tcp = createTcpServer();
  await new Promise<void>((resolve) => tcp.listen(0, "127.0.0.1", resolve));
  const address = tcp.address();
  await new Promise<void>((resolve) => tcp.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

describe("CreateOrder when the database is unavailable", () => {
  it("answers UNAVAILABLE, so upstream systems retry, and leaks nothing about the database", async () => {
    const port = await closedLocalPort();
    const service = await startOrderService({
      databaseUrl: `postgresql://postgres@127.0.0.1:${port}/tributary_order`,
      kafkaBrokers: testKafkaBrokers(),
      grpcAddress: "127.0.0.1:0",
      tokens: { [writerToken]: tokens[writerToken] },
      logger: quietLogger,
    });
    const client = createClient(OrderService, service.address, { bearerToken: writerToken, defaultDeadlineMs: 20_000 });
    try {
      const failure = await rpcError(client.createOrder(validOrder(uniqueMerchant("down"), "ref-down")));
      expect(failure.code).toBe(Code.Unavailable);
      expect(failure.message).toBe("service unavailable, retry later");
      expect(failure.message).not.toContain(String(port));
      const read = await rpcError(client.getOrder({ orderId: "0190f5c2-0000-7000-8000-000000000000" }));
      expect(read.code).toBe(Code.Unavailable);
    } finally {
      closeClient(client);
      await service.stop();
    }
  });

  it("survives Postgres dropping its connections (pg_terminate_backend) and serves again once they are back", async () => {
    const databaseUrl = testDatabaseUrl("tributary_order");
    const service = await startOrderService({
      databaseUrl,
      kafkaBrokers: testKafkaBrokers(),
      grpcAddress: "127.0.0.1:0",
      tokens: { [writerToken]: tokens[writerToken] },
      logger: quietLogger,
    });
    const client = createClient(OrderService, service.address, { bearerToken: writerToken, defaultDeadlineMs: 20_000 });
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    try {
      const merchant = uniqueMerchant("terminated");
      expect((await client.createOrder(validOrder(merchant, "ref-before"))).created).toBe(true);
      const { rows } = await admin.query<{ n: number }>(
        "SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
      );
      expect(rows[0]?.n).toBeGreaterThan(0);
      // A call may land on a connection that is already dead: that one is UNAVAILABLE (retryable),
      // never INTERNAL; retrying as a client should succeeds once the pool has reconnected.
      let created: boolean | undefined;
      for (let attempt = 0; attempt < 5 && created === undefined; attempt += 1) {
        try {
          created = (await client.createOrder(validOrder(merchant, "ref-after"))).created;
        } catch (error) {
          expect(error).toMatchObject({ code: Code.Unavailable });
        }
      }
      expect(created).toBe(true);
    } finally {
      await admin.end();
      closeClient(client);
      await service.stop();
    }
  });
});

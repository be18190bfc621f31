import { connect, createServer as createTcpServer, type Socket } from "node:net";
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

/**
 * A TCP proxy in front of the test Postgres, so the test can take the database away from a
 * running service (close every connection and refuse new ones) without stopping the real server.
 */
async function startDatabaseProxy(databaseUrl: string): Promise<{ url: string; cutOff(): Promise<void> }> {
  const target = new URL(databaseUrl);
  const sockets = new Set<Socket>();
  const proxy = createTcpServer((client) => {
    const upstream = connect(Number(target.port || "5432"), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => undefined);
      socket.on("close", () => sockets.delete(socket));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const address = proxy.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  const url = new URL(databaseUrl);
  url.host = `127.0.0.1:${address.port}`;
  return {
    url: url.toString(),
    cutOff: async () => {
      const closed = new Promise<void>((resolve) => proxy.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

describe("CreateOrder when the database is unavailable", () => {
  it("refuses to start without its database, naming the setting", async () => {
    await expect(
      startOrderService({
        databaseUrl: "postgresql://postgres@127.0.0.1:1/tributary_order",
        kafkaBrokers: testKafkaBrokers(),
        grpcAddress: "127.0.0.1:0",
        tokens: { [writerToken]: tokens[writerToken] },
        logger: quietLogger,
      }),
    ).rejects.toThrow(/^cannot reach Postgres at 127\.0\.0\.1:1, database tributary_order .*from ORDER_DATABASE_URL/);
  });

  it("answers UNAVAILABLE once the database goes away, so upstream systems retry, and leaks nothing about it", async () => {
    const proxy = await startDatabaseProxy(testDatabaseUrl("tributary_order"));
    const service = await startOrderService({
      databaseUrl: proxy.url,
      kafkaBrokers: testKafkaBrokers(),
      grpcAddress: "127.0.0.1:0",
      tokens: { [writerToken]: tokens[writerToken] },
      logger: quietLogger,
    });
    const client = createClient(OrderService, service.address, { bearerToken: writerToken, defaultDeadlineMs: 20_000 });
    try {
      expect((await client.createOrder(validOrder(uniqueMerchant("down"), "ref-up"))).created).toBe(true);
      await proxy.cutOff();
      const failure = await rpcError(client.createOrder(validOrder(uniqueMerchant("down"), "ref-down")));
      expect(failure.code).toBe(Code.Unavailable);
      expect(failure.message).toBe("service unavailable, retry later");
      expect(failure.message).not.toContain(new URL(proxy.url).port);
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

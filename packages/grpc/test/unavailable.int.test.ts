import { createServer as createTcpServer, type Server as TcpServer } from "node:net";
import { InfrastructureError } from "@tributary/infrastructure-error";
import { ok } from "@tributary/result";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeClient, Code, createClient, createServer, RpcError, type RpcClient, type RpcServer } from "@tributary/grpc";
import { EchoService } from "./gen/tributary/testing/v1/echo_pb.js";

const TOKEN = "unavailable-token-0123456789";
let server: RpcServer;
let client: RpcClient<typeof EchoService>;
let closedPort = 0;
const logged: string[] = [];

/** A port that was just bound and released: connecting to it is refused. */
async function closedLocalPort(): Promise<number> {
  const tcp: TcpServer = createTcpServer();
  await new Promise<void>((resolve) => tcp.listen(0, "127.0.0.1", resolve));
  const address = tcp.address();
  await new Promise<void>((resolve) => tcp.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

beforeAll(async () => {
  closedPort = await closedLocalPort();
  server = createServer({
    tokens: { [TOKEN]: { id: "caller", scopes: ["echo:read"], grants: {} } },
    logger: { error: (message) => logged.push(message) },
  });
  server.addService(
    EchoService,
    {
      async echo(request) {
        if (request.text === "database") {
          // A real pg pool against a port nobody listens on: the driver's own error.
          const pool = new pg.Pool({ connectionString: `postgresql://postgres@127.0.0.1:${closedPort}/x`, max: 1 });
          try {
            await pool.query("SELECT 1");
          } finally {
            await pool.end();
          }
        }
        if (request.text === "wrapped") {
          throw new InfrastructureError("ledger store unreachable", { cause: new Error("socket hang up") });
        }
        if (request.text === "bug") throw new Error("undefined is not a function");
        return ok({ text: request.text });
      },
      async *echoStream() {
        yield* [];
        throw new Error("Connection terminated unexpectedly");
      },
    },
    { access: { echo: ["echo:read"], echoStream: ["echo:read"] }, errors: {} },
  );
  const port = await server.listen("127.0.0.1:0");
  client = createClient(EchoService, `127.0.0.1:${port}`, { bearerToken: TOKEN, defaultDeadlineMs: 10_000 });
});

afterAll(async () => {
  closeClient(client);
  await server.shutdown();
});

async function failureOf(call: Promise<unknown>): Promise<RpcError> {
  try {
    await call;
  } catch (error) {
    if (error instanceof RpcError) return error;
    throw error;
  }
  throw new Error("expected the call to fail");
}

describe("infrastructure failures at the gRPC edge", () => {
  it("answers UNAVAILABLE (retryable) when the handler's database refuses connections, without details", async () => {
    const failure = await failureOf(client.echo({ text: "database" }));
    expect(failure.code).toBe(Code.Unavailable);
    expect(failure.message).toBe("service unavailable, retry later");
    expect(failure.message).not.toContain(String(closedPort));
    expect(logged).toContain("handler failed: a dependency is unavailable");
  });

  it("honours an InfrastructureError made where the outage was noticed", async () => {
    expect((await failureOf(client.echo({ text: "wrapped" }))).code).toBe(Code.Unavailable);
  });

  it("still answers INTERNAL for a bug", async () => {
    const failure = await failureOf(client.echo({ text: "bug" }));
    expect(failure.code).toBe(Code.Internal);
    expect(failure.message).toBe("internal error");
  });

  it("ends a stream whose database connection dropped with UNAVAILABLE", async () => {
    const failure = await failureOf(
      (async () => {
        for await (const _ of client.echoStream({ text: "x", count: 1 })) {
          // nothing arrives
        }
      })(),
    );
    expect(failure.code).toBe(Code.Unavailable);
  });
});

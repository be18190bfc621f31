import { setTimeout as sleep } from "node:timers/promises";
import { err, ok } from "@tributary/result";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  closeClient,
  Code,
  createClient,
  createServer,
  type CallContext,
  type DomainErrorMapping,
  DomainFailure,
  type FieldViolation,
  PUBLIC,
  RpcError,
  type RpcLogger,
  type RpcServer,
} from "@tributary/grpc";
import { EchoService } from "./gen/tributary/testing/v1/echo_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "./gen/grpc/health/v1/health_pb.js";

type EchoError =
  | { readonly code: "invalid_text"; readonly message: string; readonly fieldViolations: readonly FieldViolation[] }
  | { readonly code: "echo_refused" };

const echoErrors: DomainErrorMapping<EchoError> = {
  invalid_text: Code.InvalidArgument,
  echo_refused: Code.FailedPrecondition,
};

const READER_TOKEN = "reader-token-0123456789";
const STRANGER_TOKEN = "stranger-token-0123456789";

/** Resolves once, with whatever the server-side handler observed. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

async function rpcErrorOf(promise: Promise<unknown>): Promise<RpcError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof RpcError) {
      return error;
    }
    throw error;
  }
  throw new Error("expected the call to fail");
}

async function drain<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of stream) {
    items.push(item);
  }
  return items;
}

describe("@tributary/grpc over loopback", () => {
  let server: RpcServer;
  let address: string;
  const logged: { message: string; fields: Readonly<Record<string, unknown>> }[] = [];
  const logger: RpcLogger = { error: (message, fields) => logged.push({ message, fields }) };
  // Handlers report what they saw through these, replaced by each test that needs one.
  let heldCallAborted = deferred<CallContext["signal"]>();
  let streamStopped = deferred<CallContext["signal"]>();

  beforeAll(async () => {
    server = createServer({
      tokens: {
        [READER_TOKEN]: { id: "svc-reader", scopes: ["echo:read"], grants: {} },
        [STRANGER_TOKEN]: { id: "svc-stranger", scopes: ["ledger:read"], grants: {} },
      },
      logger,
    });
    server.addService(
      EchoService,
      {
        async echo(request, context) {
          if (request.text === "") {
            return err<EchoError>({
              code: "invalid_text",
              message: "text must not be empty",
              fieldViolations: [{ field: "text", description: "must not be empty" }],
            });
          }
          if (request.text === "refuse") {
            throw new DomainFailure<EchoError>({ code: "echo_refused" });
          }
          if (request.text === "boom") {
            throw new Error("secret connection string postgres://u:p@db");
          }
          if (request.holdMs > 0n) {
            try {
              await sleep(Number(request.holdMs), undefined, { signal: context.signal });
            } catch (error) {
              heldCallAborted.resolve(context.signal);
              throw error;
            }
          }
          return ok({ text: request.text, principal: context.principal?.id ?? "" });
        },
        async *echoStream(request, context) {
          try {
            for (let index = 0; request.count === 0 || index < request.count; index += 1) {
              yield { text: request.text, principal: context.principal?.id ?? "", index };
              if (request.text === "refuse") {
                throw new DomainFailure<EchoError>({ code: "echo_refused" });
              }
              if (request.count === 0) {
                await sleep(5, undefined, { signal: context.signal });
              }
            }
          } finally {
            streamStopped.resolve(context.signal);
          }
        },
      },
      { access: { echo: ["echo:read"], echoStream: ["echo:read"] }, errors: echoErrors },
    );
    const port = await server.listen("127.0.0.1:0");
    address = `127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await server.shutdown();
  });

  it("round-trips a unary call with a valid token and hands the handler the principal", async () => {
    const client = createClient(EchoService, address, { bearerToken: READER_TOKEN, defaultDeadlineMs: 5_000 });
    try {
      const response = await client.echo({ text: "hello" });
      expect(response.text).toBe("hello");
      expect(response.principal).toBe("svc-reader");
    } finally {
      closeClient(client);
    }
  });

  it("round-trips a server stream to its end", async () => {
    const client = createClient(EchoService, address, { bearerToken: READER_TOKEN, defaultDeadlineMs: 5_000 });
    try {
      streamStopped = deferred();
      const items = await drain(client.echoStream({ text: "tick", count: 3 }));
      expect(items.map((item) => [item.text, item.principal, item.index])).toEqual([
        ["tick", "svc-reader", 0],
        ["tick", "svc-reader", 1],
        ["tick", "svc-reader", 2],
      ]);
    } finally {
      closeClient(client);
    }
  });

  it("refuses a call without a token, or with an unknown one, as UNAUTHENTICATED", async () => {
    const anonymous = createClient(EchoService, address, { defaultDeadlineMs: 5_000 });
    const forged = createClient(EchoService, address, { bearerToken: `${READER_TOKEN}x`, defaultDeadlineMs: 5_000 });
    try {
      expect((await rpcErrorOf(anonymous.echo({ text: "hi" }))).code).toBe(Code.Unauthenticated);
      expect((await rpcErrorOf(drain(anonymous.echoStream({ text: "hi", count: 1 })))).code).toBe(
        Code.Unauthenticated,
      );
      expect((await rpcErrorOf(forged.echo({ text: "hi" }))).code).toBe(Code.Unauthenticated);
    } finally {
      closeClient(anonymous);
      closeClient(forged);
    }
  });

  it("refuses a known token that lacks the method's scope as PERMISSION_DENIED", async () => {
    const client = createClient(EchoService, address, { bearerToken: STRANGER_TOKEN, defaultDeadlineMs: 5_000 });
    try {
      const error = await rpcErrorOf(client.echo({ text: "hi" }));
      expect(error.code).toBe(Code.PermissionDenied);
      expect(error.message).toContain("echo:read");
    } finally {
      closeClient(client);
    }
  });

  it("turns a returned domain validation error into INVALID_ARGUMENT with the BadRequest field", async () => {
    const client = createClient(EchoService, address, { bearerToken: READER_TOKEN, defaultDeadlineMs: 5_000 });
    try {
      const error = await rpcErrorOf(client.echo({ text: "" }));
      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.message).toBe("text must not be empty");
      expect(error.reason).toBe("invalid_text");
      expect(error.fieldViolations).toEqual([{ field: "text", description: "must not be empty" }]);
    } finally {
      closeClient(client);
    }
  });

  it("maps a thrown DomainFailure through the same mapping", async () => {
    const client = createClient(EchoService, address, { bearerToken: READER_TOKEN, defaultDeadlineMs: 5_000 });
    try {
      const error = await rpcErrorOf(client.echo({ text: "refuse" }));
      expect(error.code).toBe(Code.FailedPrecondition);
      expect(error.reason).toBe("echo_refused");
      expect(error.fieldViolations).toEqual([]);
    } finally {
      closeClient(client);
    }
  });

  it("ends a stream whose handler throws a DomainFailure with the mapped status, after what it sent", async () => {
    const client = createClient(EchoService, address, { bearerToken: READER_TOKEN, defaultDeadlineMs: 5_000 });
    try {
      const received: number[] = [];
      const error = await rpcErrorOf(
        (async () => {
          for await (const item of client.echoStream({ text: "refuse", count: 5 })) {
            received.push(item.index);
          }
        })(),
      );
      expect(received).toEqual([0]);
      expect(error.code).toBe(Code.FailedPrecondition);
      expect(error.reason).toBe("echo_refused");
    } finally {
      closeClient(client);
    }
  });

  it("turns an unknown thrown error into INTERNAL without leaking it, and logs it", async () => {
    const client = createClient(EchoService, address, { bearerToken: READER_TOKEN, defaultDeadlineMs: 5_000 });
    try {
      logged.length = 0;
      const error = await rpcErrorOf(client.echo({ text: "boom" }));
      expect(error.code).toBe(Code.Internal);
      expect(error.message).toBe("internal error");
      expect(error.message).not.toContain("postgres");
      expect(logged).toHaveLength(1);
      expect(String(logged[0]?.fields["error"])).toContain("secret connection string");
    } finally {
      closeClient(client);
    }
  });

  it("fails with DEADLINE_EXCEEDED under the client's default deadline and aborts the server's signal", async () => {
    const client = createClient(EchoService, address, { bearerToken: READER_TOKEN, defaultDeadlineMs: 200 });
    try {
      heldCallAborted = deferred();
      const error = await rpcErrorOf(client.echo({ text: "slow", holdMs: 60_000n }));
      expect(error.code).toBe(Code.DeadlineExceeded);
      const signal = await heldCallAborted.promise;
      expect(signal.aborted).toBe(true);
      expect((signal.reason as RpcError).code).toBe(Code.DeadlineExceeded);
    } finally {
      closeClient(client);
    }
  });

  it("lets a per-call deadline override the client default", async () => {
    const client = createClient(EchoService, address, { bearerToken: READER_TOKEN, defaultDeadlineMs: 1 });
    try {
      const response = await client.echo({ text: "patient", holdMs: 300n }, { deadlineMs: 20_000 });
      expect(response.text).toBe("patient");
      const error = await rpcErrorOf(client.echo({ text: "impatient", holdMs: 60_000n }));
      expect(error.code).toBe(Code.DeadlineExceeded);
    } finally {
      closeClient(client);
    }
  });

  it("stops the server's iterator when the client cancels a stream", async () => {
    const client = createClient(EchoService, address, { bearerToken: READER_TOKEN, defaultDeadlineMs: 20_000 });
    try {
      streamStopped = deferred();
      const received: number[] = [];
      for await (const item of client.echoStream({ text: "forever", count: 0 })) {
        received.push(item.index);
        if (received.length === 2) {
          break;
        }
      }
      expect(received).toEqual([0, 1]);
      const signal = await streamStopped.promise;
      expect(signal.aborted).toBe(true);
      expect((signal.reason as RpcError).code).toBe(Code.Cancelled);
    } finally {
      closeClient(client);
    }
  });

  it("serves grpc.health.v1 without a token: check and watch follow SERVING then NOT_SERVING", async () => {
    const health = createClient(Health, address, { defaultDeadlineMs: 5_000 });
    const service = EchoService.typeName;
    try {
      expect((await health.check({ service })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
      expect((await health.check({ service: "" })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);

      const seen: HealthCheckResponse_ServingStatus[] = [];
      for await (const update of health.watch({ service }, { deadlineMs: 20_000 })) {
        seen.push(update.status);
        if (seen.length === 1) {
          server.health.setStatus(EchoService, "NOT_SERVING");
        } else {
          break;
        }
      }
      expect(seen).toEqual([HealthCheckResponse_ServingStatus.SERVING, HealthCheckResponse_ServingStatus.NOT_SERVING]);
      expect((await health.check({ service })).status).toBe(HealthCheckResponse_ServingStatus.NOT_SERVING);
      expect((await rpcErrorOf(health.check({ service: "no.such.Service" }))).code).toBe(Code.NotFound);
    } finally {
      server.health.setStatus(EchoService, "SERVING");
      closeClient(health);
    }
  });

  it("refuses at registration a method whose access is not declared (fail closed)", () => {
    const other = createServer({ tokens: {} });
    expect(() =>
      other.addService(
        EchoService,
        { echo: async () => ok({}), echoStream: async function* () {} },
        { access: { echo: [] as never, echoStream: PUBLIC }, errors: {} },
      ),
    ).toThrow(/no access declared/);
  });
});

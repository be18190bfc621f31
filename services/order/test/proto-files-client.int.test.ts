/**
 * Proof that the `.proto` files alone are enough to call the service: a generic, dynamic gRPC
 * client (`@grpc/proto-loader`, the Node equivalent of grpcurl or Python's reflection-free
 * clients) loads `proto/tributary/order/v1/order_service.proto`, speaks proto field names and
 * enum names only, and reads the `google.rpc.BadRequest` details with protobufjs. Nothing from
 * our generated TypeScript or packages is used on the client side.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import protobuf from "protobufjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOrderTestEnv, uniqueMerchant, writerToken, type OrderTestEnv } from "./order-test-env.js";

const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));
const protoRoot = fileURLToPath(new URL("../../../proto", import.meta.url));
const bufBinary = fileURLToPath(new URL("../../../node_modules/.bin/buf", import.meta.url));

/** google.rpc.Status and BadRequest, written out as any client would get them from googleapis. */
const googleRpcProto = `
syntax = "proto3";
package google.rpc;
import "google/protobuf/any.proto";
message Status { int32 code = 1; string message = 2; repeated google.protobuf.Any details = 3; }
message BadRequest {
  message FieldViolation { string field = 1; string description = 2; }
  repeated FieldViolation field_violations = 1;
}`;

type Callback = (error: grpc.ServiceError | null, response: Record<string, unknown>) => void;
type DynamicClient = grpc.Client & Record<string, (request: unknown, metadata: grpc.Metadata, callback: Callback) => void>;

let env: OrderTestEnv;
let client: DynamicClient;

beforeAll(async () => {
  env = await startOrderTestEnv();
  const definition = await protoLoader.load("tributary/order/v1/order_service.proto", {
    includeDirs: [protoRoot],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    tributary: { order: { v1: { OrderService: new (address: string, credentials: grpc.ChannelCredentials) => DynamicClient } } };
  };
  client = new loaded.tributary.order.v1.OrderService(env.service.address, grpc.credentials.createInsecure());
});

afterAll(async () => {
  client?.close();
  await env?.stop();
});

function call(method: string, request: unknown, token = writerToken): Promise<Record<string, unknown>> {
  const metadata = new grpc.Metadata();
  metadata.set("authorization", `Bearer ${token}`);
  return new Promise((resolve, reject) => {
    client[method]!(request, metadata, (error, response) => (error === null ? resolve(response) : reject(error)));
  });
}

const request = (merchantId: string, total: string) => ({
  merchant_id: merchantId,
  merchant_order_ref: "ext-1",
  buyer: { buyer_id: "buyer-7", country: "CN" },
  lines: [{ sku: "TEA-250G", category: "groceries", quantity: "3", unit_price: { currency: "CNY", amount_minor: "4200" } }],
  total: { currency: "CNY", amount_minor: total },
  channel: "CHANNEL_WEB",
  preferred_provider: "PROVIDER_ALIPAY",
});

describe("a client built from the .proto files alone", () => {
  it("creates and reads an order with proto field and enum names", async () => {
    const merchant = uniqueMerchant("generic");
    const created = await call("CreateOrder", request(merchant, "12600"));
    const order = created["order"] as Record<string, unknown>;
    expect(created["created"]).toBe(true);
    expect(order["status"]).toBe("ORDER_STATUS_ACCEPTED");
    expect(order["total"]).toEqual({ currency: "CNY", amount_minor: "12600" });
    const got = await call("GetOrder", { order_id: order["order_id"] });
    expect((got["order"] as Record<string, unknown>)["channel"]).toBe("CHANNEL_WEB");
  });

  it("gets INVALID_ARGUMENT with a google.rpc.BadRequest naming the field", async () => {
    const merchant = uniqueMerchant("generic-bad");
    const error = await call("CreateOrder", request(merchant, "12599")).then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );
    expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    const raw = error?.metadata.get("grpc-status-details-bin")[0];
    expect(raw).toBeInstanceOf(Buffer);
    const root = protobuf.parse(googleRpcProto, { keepCase: true }).root;
    root.addJSON(protobuf.common.get("google/protobuf/any.proto")!.nested!);
    const status = root.lookupType("google.rpc.Status").toObject(root.lookupType("google.rpc.Status").decode(raw as Buffer)) as {
      details: { type_url: string; value: Uint8Array }[];
    };
    const badRequest = status.details.find((d) => d.type_url.endsWith("google.rpc.BadRequest"));
    expect(badRequest).toBeDefined();
    const decoded = root.lookupType("google.rpc.BadRequest").toObject(root.lookupType("google.rpc.BadRequest").decode(badRequest!.value)) as {
      field_violations: { field: string }[];
    };
    expect(decoded.field_violations.map((v) => v.field)).toEqual(["total.amount_minor"]);
  });

  it("is refused without a bearer token", async () => {
    const error = await new Promise<grpc.ServiceError | null>((resolve) => {
      client["ListOrders"]!({ merchant_id: "m" }, new grpc.Metadata(), (e) => resolve(e));
    });
    expect(error?.code).toBe(grpc.status.UNAUTHENTICATED);
  });
});

/** Runs `buf curl` (a Go gRPC client) with the repo's proto module as its only schema. */
function bufCurl(method: string, body: unknown, token: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      bufBinary,
      [
        "curl",
        "--schema",
        protoRoot,
        "--protocol",
        "grpc",
        "--http2-prior-knowledge",
        "-H",
        `authorization: Bearer ${token}`,
        "-d",
        JSON.stringify(body),
        `http://${env.service.address}/tributary.order.v1.OrderService/${method}`,
      ],
      { cwd: repoRoot, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr }),
    );
  });
}

describe("a client in another language (buf curl, written in Go) with the .proto files alone", () => {
  it("creates an order and reads it back", async () => {
    const merchant = uniqueMerchant("buf-curl");
    const created = await bufCurl("CreateOrder", request(merchant, "12600"), writerToken);
    expect(created.stderr).toBe("");
    const response = JSON.parse(created.stdout) as { order: { orderId: string; status: string; total: { amountMinor: string } }; created: boolean };
    expect(response.created).toBe(true);
    expect(response.order.status).toBe("ORDER_STATUS_ACCEPTED");
    expect(response.order.total.amountMinor).toBe("12600");
    const got = await bufCurl("GetOrder", { order_id: response.order.orderId }, writerToken);
    expect((JSON.parse(got.stdout) as { order: { merchantId: string } }).order.merchantId).toBe(merchant);
  });

  it("sees INVALID_ARGUMENT for a total that does not add up", async () => {
    const failed = await bufCurl("CreateOrder", request(uniqueMerchant("buf-curl-bad"), "1"), writerToken);
    expect(failed.code).not.toBe(0);
    expect(JSON.parse(failed.stderr)).toMatchObject({ code: "invalid_argument" });
    expect(failed.stderr).toContain("total.amount_minor");
  });
});

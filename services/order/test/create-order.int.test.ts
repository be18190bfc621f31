import { Code, RpcError } from "@tributary/grpc";
import { OrderStatus } from "@tributary/contracts/order/v1/order";
import type { Provider } from "@tributary/contracts/common/v1/provider";
import { Channel, Provider as ProviderEnum } from "@tributary/contracts/common/v1/provider";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rpcError, startOrderTestEnv, uniqueMerchant, validOrder, type OrderTestEnv, type PlainCreateRequest } from "./order-test-env.js";

type CreateRequest = PlainCreateRequest;

let env: OrderTestEnv;

beforeAll(async () => {
  env = await startOrderTestEnv();
});

afterAll(async () => {
  await env?.stop();
});

describe("CreateOrder over gRPC", () => {
  it("stores the order, answers with it, and publishes OrderAccepted through the outbox", async () => {
    const merchant = uniqueMerchant("create");
    const response = await env.writer.createOrder(validOrder(merchant, "ref-1"));
    expect(response.created).toBe(true);
    const order = response.order!;
    expect(order.orderId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/);
    expect(order.status).toBe(OrderStatus.ACCEPTED);
    expect(order.total).toMatchObject({ currency: "CNY", amountMinor: 4498n });
    expect(order.lines.map((l) => l.quantity)).toEqual([2n, 1n]);
    expect(order.paid?.amountMinor).toBe(0n);

    const got = await env.reader.getOrder({ orderId: order.orderId });
    expect(got.order?.merchantOrderRef).toBe("ref-1");
    expect(got.order?.buyer?.country).toBe("CN");

    const accepted = await env.orders.waitFor(
      (r) => r.key === order.orderId && r.headers["event-type"] === "tributary.order.v1.OrderAccepted",
      "OrderAccepted on orders.v1",
    );
    expect((accepted.message as { order: { merchantId: string } }).order.merchantId).toBe(merchant);
    expect(accepted.headers["producer"]).toBe("order");
  });

  it("keeps the buyer's provider accounts: stored, answered by GetOrder and carried by OrderAccepted", async () => {
    const merchant = uniqueMerchant("accounts");
    const request = validOrder(merchant, "ref-accounts");
    const accounts = [
      { provider: ProviderEnum.WECHAT_PAY, accountId: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o" },
      { provider: ProviderEnum.ALIPAY, accountId: "2088102146225135" },
    ];
    const response = await env.writer.createOrder({ ...request, buyer: { ...request.buyer!, providerAccounts: accounts } });
    const orderId = response.order!.orderId;
    const inContractOrder = [accounts[1], accounts[0]];
    expect(response.order?.buyer?.providerAccounts.map((a) => ({ provider: a.provider, accountId: a.accountId }))).toEqual(inContractOrder);
    const got = await env.reader.getOrder({ orderId });
    expect(got.order?.buyer?.providerAccounts.map((a) => ({ provider: a.provider, accountId: a.accountId }))).toEqual(inContractOrder);
    const accepted = await env.orders.waitFor(
      (r) => r.key === orderId && r.headers["event-type"] === "tributary.order.v1.OrderAccepted",
      "OrderAccepted with the buyer's accounts on orders.v1",
    );
    const carried = (accepted.message as { order: { buyer: { providerAccounts: { provider: Provider; accountId: string }[] } } }).order.buyer.providerAccounts;
    expect(carried.map((a) => ({ provider: a.provider, accountId: a.accountId }))).toEqual(inContractOrder);
  });

  it("returns the original order for the same reference and content, and creates nothing new", async () => {
    const merchant = uniqueMerchant("dup");
    const first = await env.writer.createOrder(validOrder(merchant, "ref-dup"));
    const second = await env.writer.createOrder(validOrder(merchant, "ref-dup"));
    expect(second.created).toBe(false);
    expect(second.order?.orderId).toBe(first.order?.orderId);
    const rows = await env.pool.query("SELECT count(*)::int AS n FROM orders WHERE merchant_id = $1", [merchant]);
    expect(rows.rows[0].n).toBe(1);
    const outbox = await env.pool.query(
      "SELECT count(*)::int AS n FROM outbox WHERE message_key = $1 AND event_type = 'tributary.order.v1.OrderAccepted'",
      [first.order?.orderId],
    );
    expect(outbox.rows[0].n).toBe(1);
  });

  it("refuses the same reference with different content with ALREADY_EXISTS naming the fields", async () => {
    const merchant = uniqueMerchant("conflict");
    await env.writer.createOrder(validOrder(merchant, "ref-c"));
    const changed = validOrder(merchant, "ref-c");
    changed.lines = [
      { sku: "TSHIRT-RED-M", category: "apparel", quantity: 3n, unitPrice: { currency: "CNY", amountMinor: 1999n } },
      { sku: "GIFT-WRAP", category: "services", quantity: 1n, unitPrice: { currency: "CNY", amountMinor: 500n } },
    ];
    changed.total = { currency: "CNY", amountMinor: 6497n };
    changed.channel = Channel.WEB;
    const error = await rpcError(env.writer.createOrder(changed));
    expect(error.code).toBe(Code.AlreadyExists);
    expect(error.reason).toBe("order_conflict");
    expect(error.fieldViolations.map((v) => v.field).sort()).toEqual(["channel", "lines[0].quantity", "total.amount_minor"]);
    expect(error.message).toContain("lines[0].quantity");
  });

  it("makes one order out of many concurrent identical creates", async () => {
    const merchant = uniqueMerchant("race");
    const responses = await Promise.all(
      Array.from({ length: 8 }, () => env.writer.createOrder(validOrder(merchant, "ref-race"))),
    );
    const ids = new Set(responses.map((r) => r.order?.orderId));
    expect(ids.size).toBe(1);
    expect(responses.filter((r) => r.created)).toHaveLength(1);
    const rows = await env.pool.query("SELECT count(*)::int AS n FROM orders WHERE merchant_id = $1", [merchant]);
    expect(rows.rows[0].n).toBe(1);
  });

  it("answers each of many concurrent mixed creates (new, repeated, conflicting, invalid) with its own outcome", async () => {
    const merchant = uniqueMerchant("mixed");
    await env.writer.createOrder(validOrder(merchant, "existing"));
    const conflicting = { ...validOrder(merchant, "existing"), channel: Channel.WEB };
    const invalid = { ...validOrder(merchant, "invalid"), total: { currency: "CNY", amountMinor: 1n } };
    const calls = [
      ...Array.from({ length: 10 }, (_, i) => ({ kind: "new", request: validOrder(merchant, `new-${i}`) })),
      ...Array.from({ length: 5 }, () => ({ kind: "repeat", request: validOrder(merchant, "existing") })),
      ...Array.from({ length: 3 }, () => ({ kind: "conflict", request: conflicting })),
      ...Array.from({ length: 3 }, () => ({ kind: "invalid", request: invalid })),
    ];
    const outcomes = await Promise.all(
      calls.map(({ kind, request }) =>
        env.writer.createOrder(request).then(
          (response) => `${kind}:${response.created ? "created" : "returned"}`,
          (error: unknown) => `${kind}:${error instanceof RpcError ? Code[error.code] : String(error)}`,
        ),
      ),
    );
    expect(outcomes).toEqual([
      ...Array.from({ length: 10 }, () => "new:created"),
      ...Array.from({ length: 5 }, () => "repeat:returned"),
      ...Array.from({ length: 3 }, () => "conflict:AlreadyExists"),
      ...Array.from({ length: 3 }, () => "invalid:InvalidArgument"),
    ]);
    const rows = await env.pool.query("SELECT count(*)::int AS n FROM orders WHERE merchant_id = $1", [merchant]);
    expect(rows.rows[0].n).toBe(11);
    const lines = await env.pool.query(
      "SELECT count(*)::int AS n FROM order_lines l JOIN orders o USING (order_id) WHERE o.merchant_id = $1",
      [merchant],
    );
    expect(lines.rows[0].n).toBe(22);
  });

  const shirt = { sku: "TSHIRT-RED-M", category: "apparel", quantity: 2n, unitPrice: { currency: "CNY", amountMinor: 1999n } };
  const wrap = { sku: "GIFT-WRAP", category: "services", quantity: 1n, unitPrice: { currency: "CNY", amountMinor: 500n } };
  const cases: [string, (o: CreateRequest) => CreateRequest, string][] = [
    ["a missing merchant", (o) => ({ ...o, merchantId: "" }), "merchant_id"],
    ["a missing reference", (o) => ({ ...o, merchantOrderRef: "" }), "merchant_order_ref"],
    ["a missing buyer", ({ buyer: _buyer, ...o }) => o, "buyer"],
    ["a bad buyer country", (o) => ({ ...o, buyer: { buyerId: "b", country: "china" } }), "buyer.country"],
    ["no lines", (o) => ({ ...o, lines: [] }), "lines"],
    ["a zero quantity", (o) => ({ ...o, lines: [{ ...shirt, quantity: 0n }, wrap] }), "lines[0].quantity"],
    [
      "a negative unit price",
      (o) => ({ ...o, lines: [shirt, { ...wrap, unitPrice: { currency: "CNY", amountMinor: -500n } }] }),
      "lines[1].unit_price.amount_minor",
    ],
    ["a missing unit price", (o) => ({ ...o, lines: [shirt, { sku: "X", category: "c", quantity: 1n }] }), "lines[1].unit_price"],
    [
      "a line in another currency",
      (o) => ({ ...o, lines: [shirt, { ...wrap, unitPrice: { currency: "HKD", amountMinor: 500n } }] }),
      "lines[1].unit_price.currency",
    ],
    ["an empty sku", (o) => ({ ...o, lines: [{ ...shirt, sku: "" }, wrap] }), "lines[0].sku"],
    ["an empty category", (o) => ({ ...o, lines: [shirt, { ...wrap, category: " " }] }), "lines[1].category"],
    ["a total off by one fen", (o) => ({ ...o, total: { currency: "CNY", amountMinor: 4499n } }), "total.amount_minor"],
    ["a missing total", ({ total: _total, ...o }) => o, "total"],
    ["an unknown currency", (o) => ({ ...o, total: { currency: "XXX", amountMinor: 4498n } }), "total.currency"],
    ["an unset channel", (o) => ({ ...o, channel: Channel.UNSPECIFIED }), "channel"],
    ["an undefined channel number", (o) => ({ ...o, channel: 42 as Channel }), "channel"],
    ["an undefined provider number", (o) => ({ ...o, preferredProvider: 9 as Provider }), "preferred_provider"],
    [
      "a line total beyond int64",
      (o) => ({ ...o, lines: [{ ...shirt, quantity: 2n ** 40n, unitPrice: { currency: "CNY", amountMinor: 2n ** 40n } }] }),
      "lines[0]",
    ],
  ];
  it.each(cases  )("refuses %s with INVALID_ARGUMENT on the field", async (_label, mutate, field) => {
    const merchant = uniqueMerchant("bad");
    const request = mutate(validOrder(merchant, "ref-bad"));
    const error = await rpcError(env.writer.createOrder(request));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.reason).toBe("invalid_order");
    expect(error.fieldViolations.map((v) => v.field)).toContain(field);
    const rows = await env.pool.query("SELECT count(*)::int AS n FROM orders WHERE merchant_id = $1", [merchant]);
    expect(rows.rows[0].n).toBe(0);
  });
});

describe("auth scopes", () => {
  it("lets a read-only client read but not create", async () => {
    const merchant = uniqueMerchant("scopes");
    const error = await rpcError(env.reader.createOrder(validOrder(merchant, "ref-r")));
    expect(error.code).toBe(Code.PermissionDenied);
    const list = await env.reader.listOrders({ merchantId: merchant });
    expect(list.orders).toEqual([]);
  });

  it("refuses callers without a token or with an unrelated scope", async () => {
    const merchant = uniqueMerchant("scopes");
    expect((await rpcError(env.anonymous.createOrder(validOrder(merchant, "ref-a")))).code).toBe(Code.Unauthenticated);
    expect((await rpcError(env.anonymous.listOrders({ merchantId: merchant }))).code).toBe(Code.Unauthenticated);
    expect((await rpcError(env.outsider.listOrders({ merchantId: merchant }))).code).toBe(Code.PermissionDenied);
    expect((await rpcError(env.outsider.createOrder(validOrder(merchant, "ref-o")))).code).toBe(Code.PermissionDenied);
  });
});

describe("GetOrder and ListOrders", () => {
  it("answers NOT_FOUND for an unknown id and INVALID_ARGUMENT for a malformed one", async () => {
    expect((await rpcError(env.reader.getOrder({ orderId: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b" }))).code).toBe(Code.NotFound);
    const bad = await rpcError(env.reader.getOrder({ orderId: "not-a-uuid" }));
    expect(bad.code).toBe(Code.InvalidArgument);
    expect(bad.fieldViolations.map((v) => v.field)).toEqual(["order_id"]);
  });

  it("pages a merchant's orders newest first, filters by status and time, and rejects a forged token", async () => {
    const merchant = uniqueMerchant("list");
    const created: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const response = await env.writer.createOrder(validOrder(merchant, `ref-${i}`));
      created.push(response.order!.orderId);
    }
    await env.writer.cancelOrder({ orderId: created[1]!, reason: "buyer changed their mind" });

    const seen: string[] = [];
    let pageToken = "";
    let pages = 0;
    do {
      const page = await env.reader.listOrders({ merchantId: merchant, pageSize: 2, pageToken });
      seen.push(...page.orders.map((o) => o.orderId));
      pageToken = page.nextPageToken;
      pages += 1;
    } while (pageToken !== "");
    expect(pages).toBe(3);
    expect(seen).toEqual([...created].reverse());

    const cancelled = await env.reader.listOrders({ merchantId: merchant, statuses: [OrderStatus.CANCELLED] });
    expect(cancelled.orders.map((o) => o.orderId)).toEqual([created[1]]);

    const future = await env.reader.listOrders({
      merchantId: merchant,
      createdFrom: { seconds: BigInt(Math.floor(Date.now() / 1000) + 3600), nanos: 0 },
    });
    expect(future.orders).toEqual([]);

    const forged = await rpcError(env.reader.listOrders({ merchantId: merchant, pageToken: "not-a-token" }));
    expect(forged.code).toBe(Code.InvalidArgument);
    expect(forged.fieldViolations.map((v) => v.field)).toEqual(["page_token"]);
    const noMerchant = await rpcError(env.reader.listOrders({ merchantId: "" }));
    expect(noMerchant.fieldViolations.map((v) => v.field)).toEqual(["merchant_id"]);
  });
});

import { money } from "@tributary/money";
import { describe, expect, it } from "vitest";
import { decide, decideCaptureRefundOutcome } from "./decide.js";
import { evolveAll, evolveUnownedCapture } from "./evolve.js";
import {
  captureRefundRef,
  noOrder,
  type Order,
  type OrderDraft,
  type OrderState,
  type OrderStatus,
  type UnownedCaptureReason,
} from "./order.js";
import type { OrderCommand } from "./order-command.js";
import type { OrderEvent } from "./order-event.js";

const orderId = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
const t0 = new Date("2026-11-24T08:00:00.000Z");
const t1 = new Date("2026-11-24T08:05:00.000Z");
const cny = (amountMinor: bigint) => money(amountMinor, "CNY");

const draft: OrderDraft = {
  merchantId: "m-1",
  merchantOrderRef: "ref-1",
  buyer: { buyerId: "b-1", country: "CN", providerAccounts: [] },
  lines: [
    { sku: "A", category: "apparel", quantity: 2n, unitPrice: cny(1999n) },
    { sku: "B", category: "services", quantity: 1n, unitPrice: cny(500n) },
  ],
  total: cny(4498n),
  channel: "app",
  preferredProvider: "alipay",
};

const accepted: OrderEvent = { type: "order_accepted", orderId, draft, at: t0 };
const paid: OrderEvent = { type: "order_paid", orderId, paymentId: "pay-1", amount: cny(4498n), at: t0 };
const paymentFailed: OrderEvent = { type: "order_payment_failed", orderId, paymentId: "pay-1", reason: "declined", at: t0 };
const cancelled: OrderEvent = { type: "order_cancelled", orderId, reason: "changed mind", at: t0 };
const refundRequested = (amountMinor: bigint, refundRef = "r1"): OrderEvent => ({
  type: "order_refund_requested",
  orderId,
  refundRef,
  amount: cny(amountMinor),
  reason: "returned",
  at: t0,
});

/** Given: the state after these events. */
function given(...events: OrderEvent[]): Order {
  const state = evolveAll(noOrder, events);
  if (state.status === "none") throw new Error("no order");
  return state;
}

const histories: Record<OrderStatus, OrderEvent[]> = {
  accepted: [accepted],
  paid: [accepted, paid],
  payment_failed: [accepted, paymentFailed],
  cancelled: [accepted, cancelled],
  partially_refunded: [accepted, paid, refundRequested(1000n)],
  refunded: [accepted, paid, refundRequested(4498n)],
};

const capture = (paymentId: string, amountMinor = 4498n): Extract<OrderCommand, { type: "record_payment_captured" }> => ({
  type: "record_payment_captured",
  orderId,
  paymentId,
  merchantId: "m-1",
  provider: "wechat_pay",
  providerTransactionId: `wx-${paymentId}`,
  amount: cny(amountMinor),
  at: t1,
});

const commands: Record<string, OrderCommand> = {
  place: { type: "place_order", orderId, draft, at: t1 },
  captureSame: capture("pay-1"),
  captureOther: capture("pay-2"),
  fail: { type: "record_payment_failed", paymentId: "pay-1", reason: "timed_out", at: t1 },
  cancel: { type: "cancel_order", reason: "buyer asked", at: t1 },
  refund: { type: "request_refund", refundRef: "r9", amount: cny(100n), reason: "damaged", at: t1 },
  refundCompleted: { type: "record_refund_completed", refundRef: "r1", amount: cny(1000n), at: t1 },
  refundFailed: { type: "record_refund_failed", refundRef: "r1", reason: "closed account", at: t1 },
};

/** Then: an event type, "nothing" (already done), or the error code. */
type Outcome = OrderEvent["type"] | "nothing" | `error:${string}`;

const matrix: Record<OrderStatus, Record<keyof typeof commands, Outcome>> = {
  accepted: {
    place: "error:order_already_exists",
    captureSame: "order_paid",
    captureOther: "order_paid",
    fail: "order_payment_failed",
    cancel: "order_cancelled",
    refund: "error:illegal_transition",
    refundCompleted: "error:illegal_transition",
    refundFailed: "error:illegal_transition",
  },
  paid: {
    place: "error:order_already_exists",
    captureSame: "nothing",
    captureOther: "capture_refund_requested",
    fail: "error:illegal_transition",
    cancel: "error:illegal_transition",
    refund: "order_refund_requested",
    refundCompleted: "error:illegal_transition",
    refundFailed: "error:illegal_transition",
  },
  payment_failed: {
    place: "error:order_already_exists",
    captureSame: "capture_refund_requested",
    captureOther: "capture_refund_requested",
    fail: "nothing",
    cancel: "error:illegal_transition",
    refund: "error:illegal_transition",
    refundCompleted: "error:illegal_transition",
    refundFailed: "error:illegal_transition",
  },
  cancelled: {
    place: "error:order_already_exists",
    captureSame: "capture_refund_requested",
    captureOther: "capture_refund_requested",
    fail: "nothing",
    cancel: "nothing",
    refund: "error:illegal_transition",
    refundCompleted: "error:illegal_transition",
    refundFailed: "error:illegal_transition",
  },
  partially_refunded: {
    place: "error:order_already_exists",
    captureSame: "nothing",
    captureOther: "capture_refund_requested",
    fail: "error:illegal_transition",
    cancel: "error:illegal_transition",
    refund: "order_refund_requested",
    refundCompleted: "order_refund_completed",
    refundFailed: "order_refund_failed",
  },
  refunded: {
    place: "error:order_already_exists",
    captureSame: "nothing",
    captureOther: "capture_refund_requested",
    fail: "error:illegal_transition",
    cancel: "error:illegal_transition",
    refund: "error:refund_exceeds_remaining",
    refundCompleted: "error:illegal_transition",
    refundFailed: "order_refund_failed",
  },
};
// In `refunded` the only refund r1 was for the full amount, so refundCompleted (for 1000) mismatches it.

function outcomeOf(state: OrderState, command: OrderCommand): Outcome {
  const decision = decide(state, command);
  if (!decision.ok) return `error:${decision.error.code}`;
  if (decision.value.length === 0) return "nothing";
  expect(decision.value).toHaveLength(1);
  return decision.value[0]!.type;
}

describe("decide: every status × every command", () => {
  const cases = Object.entries(matrix).flatMap(([status, row]) =>
    Object.entries(row).map(([command, outcome]) => [status as OrderStatus, command, outcome] as const),
  );
  it.each(cases)("given %s, when %s, then %s", (status, command, outcome) => {
    const state = given(...histories[status]);
    expect(state.status).toBe(status);
    const before = structuredClone(state);
    expect(outcomeOf(state, commands[command]!)).toBe(outcome);
    expect(state).toEqual(before);
  });

  it("gives every refusal a reason naming the status", () => {
    const decision = decide(given(accepted, cancelled), commands["refund"]!);
    expect(decision.ok).toBe(false);
    if (!decision.ok) {
      expect(decision.error.code).toBe("illegal_transition");
      expect(decision.error.message).toContain("cancelled");
    }
  });

  it("refuses anything but place_order (and a capture, which must be refunded) before the order exists", () => {
    const allowed: Record<string, Outcome> = {
      place: "order_accepted",
      captureSame: "capture_refund_requested",
      captureOther: "capture_refund_requested",
    };
    for (const [name, command] of Object.entries(commands)) {
      const outcome = outcomeOf(noOrder, command);
      expect(outcome, name).toBe(allowed[name] ?? "error:order_not_found");
    }
  });
});

describe("a capture no order owns is handed back for a refund, once per payment id", () => {
  const ownerless: [OrderStatus | "none", string, UnownedCaptureReason, string][] = [
    ["cancelled", "pay-1", "order_cancelled", "was cancelled (changed mind)"],
    ["cancelled", "pay-2", "order_cancelled", "was cancelled"],
    ["payment_failed", "pay-1", "order_payment_failed", "its payment pay-1 failed (declined)"],
    ["payment_failed", "pay-2", "order_payment_failed", "failed"],
    ["paid", "pay-2", "already_paid_by_other_payment", "already paid by payment pay-1"],
    ["partially_refunded", "pay-2", "already_paid_by_other_payment", "already paid by payment pay-1"],
    ["refunded", "pay-2", "already_paid_by_other_payment", "already paid by payment pay-1"],
    ["none", "pay-2", "order_unknown", `no order ${orderId} exists`],
  ];

  it.each(ownerless)("given %s, when %s is captured, then its refund is requested (%s)", (status, paymentId, reason, words) => {
    const state: OrderState = status === "none" ? noOrder : given(...histories[status]);
    const before = structuredClone(state);
    const decision = decide(state, capture(paymentId, 4000n));
    expect(state).toEqual(before);
    expect(decision.ok).toBe(true);
    if (!decision.ok) return;
    expect(decision.value).toEqual([
      {
        type: "capture_refund_requested",
        orderId,
        capture: {
          paymentId,
          merchantId: "m-1",
          provider: "wechat_pay",
          providerTransactionId: `wx-${paymentId}`,
          amount: cny(4000n),
          reason,
          refundRef: `capture-refund:${paymentId}`,
          description: expect.stringContaining(words) as string,
          refundStatus: "requested",
          refundFailedReason: undefined,
        },
        at: t1,
      },
    ]);

    // Then the order itself is untouched (status, paid, payment, updatedAt) and keeps the record …
    const after = evolveAll(state, decision.value);
    if (after.status === "none" || state.status === "none") {
      expect(after).toBe(noOrder);
      return;
    }
    const { unownedCaptures, ...rest } = after;
    const { unownedCaptures: none, ...restBefore } = state;
    expect(none).toEqual([]);
    expect(rest).toEqual(restBefore);
    expect(unownedCaptures.map((c) => c.paymentId)).toEqual([paymentId]);
    // … so a redelivery, or a re-send under a new event id at another time, requests nothing more,
    expect(outcomeOf(after, capture(paymentId, 4000n))).toBe("nothing");
    expect(outcomeOf(after, { ...capture(paymentId, 4000n), at: new Date("2026-11-25T00:00:00Z") })).toBe("nothing");
    // and the same payment id with another amount is a contradiction, not a second refund.
    expect(outcomeOf(after, capture(paymentId, 4498n))).toBe("error:illegal_transition");
  });

  it("keeps a paid order paid by its first payment while a second one is refunded", () => {
    const state = given(accepted, paid);
    const decision = decide(state, commands["captureOther"]!);
    if (!decision.ok) throw new Error(decision.error.message);
    const after = given(accepted, paid, ...decision.value);
    expect(after).toMatchObject({ status: "paid", paymentId: "pay-1", paid: cny(4498n), refunded: cny(0n) });
    // The surplus capture takes no share of what the merchant may refund from the order.
    expect(outcomeOf(after, { type: "request_refund", refundRef: "x", amount: cny(4499n), reason: "", at: t1 })).toBe(
      "error:refund_exceeds_remaining",
    );
  });

  it("derives the refund reference from the payment id alone", () => {
    expect(captureRefundRef("pay-7")).toBe("capture-refund:pay-7");
    const a = decide(given(accepted, cancelled), capture("pay-7"));
    const b = decide(noOrder, { ...capture("pay-7", 1n), at: t0 });
    const refs = [a, b].map((d) => (d.ok && d.value[0]?.type === "capture_refund_requested" ? d.value[0].capture.refundRef : "?"));
    expect(refs).toEqual(["capture-refund:pay-7", "capture-refund:pay-7"]);
  });

  it("still refuses a capture of the wrong amount for an order that waits for payment", () => {
    expect(outcomeOf(given(accepted), capture("pay-2", 4000n))).toBe("error:illegal_transition");
  });
});

describe("payment-routing's reply to a capture refund is recorded on the capture, once, and never touches the order", () => {
  const refundRef = "capture-refund:pay-9";
  const refunded = (amountMinor = 4000n, at = t1): Extract<OrderCommand, { type: "record_refund_completed" }> => ({
    type: "record_refund_completed",
    refundRef,
    amount: cny(amountMinor),
    at,
  });
  const failed = (reason = "account_closed: card cancelled", at = t1): Extract<OrderCommand, { type: "record_refund_failed" }> => ({
    type: "record_refund_failed",
    refundRef,
    reason,
    at,
  });

  /** Given: an order in `status` that recorded a capture of pay-9 (4000) it did not take. */
  function givenUnowned(status: OrderStatus): Order {
    const state = given(...histories[status]);
    const decision = decide(state, capture("pay-9", 4000n));
    if (!decision.ok) throw new Error(decision.error.message);
    return given(...histories[status], ...decision.value);
  }

  /** Then: the order is as it was but for its captures, and pay-9's capture is in this state. */
  function expectOnlyCaptureChanged(before: Order, after: OrderState, refundStatus: string, refundFailedReason?: string): void {
    if (after.status === "none") throw new Error("no order");
    const { unownedCaptures, ...rest } = after;
    const { unownedCaptures: capturesBefore, ...restBefore } = before;
    expect(rest).toEqual(restBefore);
    expect(unownedCaptures).toEqual(
      capturesBefore.map((c) => (c.paymentId === "pay-9" ? { ...c, refundStatus, refundFailedReason } : c)),
    );
  }

  const owning: OrderStatus[] = ["cancelled", "payment_failed", "paid", "partially_refunded", "refunded"];

  it.each(owning)("given %s with an unowned capture, when its refund is done, then it is refunded once", (status) => {
    const state = givenUnowned(status);
    const before = structuredClone(state);
    const decision = decide(state, refunded());
    expect(state).toEqual(before);
    expect(decision).toEqual({
      ok: true,
      value: [{ type: "capture_refund_completed", orderId, paymentId: "pay-9", refundRef, at: t1 }],
    });
    if (!decision.ok) return;
    const after = evolveAll(state, decision.value);
    expectOnlyCaptureChanged(state, after, "refunded");
    // A redelivery or a re-send later is nothing; a failure after the refund was done is a contradiction.
    expect(outcomeOf(after, refunded())).toBe("nothing");
    expect(outcomeOf(after, refunded(4000n, new Date("2026-11-26T00:00:00Z")))).toBe("nothing");
    expect(outcomeOf(after, failed())).toBe("error:illegal_transition");
    expect(outcomeOf(after, refunded(3999n))).toBe("error:illegal_transition");
  });

  it.each(owning)("given %s with an unowned capture, when its refund fails, then it is refund_failed with the reason, once", (status) => {
    const state = givenUnowned(status);
    const decision = decide(state, failed());
    expect(decision).toEqual({
      ok: true,
      value: [{ type: "capture_refund_failed", orderId, paymentId: "pay-9", refundRef, reason: "account_closed: card cancelled", at: t1 }],
    });
    if (!decision.ok) return;
    const after = evolveAll(state, decision.value);
    expectOnlyCaptureChanged(state, after, "refund_failed", "account_closed: card cancelled");
    // The first failure is kept, whatever a re-send says.
    expect(outcomeOf(after, failed())).toBe("nothing");
    expect(outcomeOf(after, failed("other_reason", new Date("2026-11-26T00:00:00Z")))).toBe("nothing");
    // A later attempt that succeeds is the truth: the money is back with the buyer.
    const late = decide(after, refunded());
    if (!late.ok) throw new Error(late.error.message);
    expect(late.value.map((e) => e.type)).toEqual(["capture_refund_completed"]);
    expectOnlyCaptureChanged(state, evolveAll(after, late.value), "refunded", "account_closed: card cancelled");
  });

  it("refuses a refund of another amount than the whole capture, naming both amounts", () => {
    const state = givenUnowned("cancelled");
    for (const amount of [cny(3999n), cny(4001n), money(4000n, "HKD")]) {
      const decision = decide(state, { type: "record_refund_completed", refundRef, amount, at: t1 });
      expect(decision.ok).toBe(false);
      if (decision.ok) continue;
      expect(decision.error.code).toBe("illegal_transition");
      expect(decision.error.message).toContain("captured 4000 CNY minor units");
      expect(decision.error.message).toContain(`but ${amount.amountMinor.toString()} ${amount.currency} minor units was refunded`);
    }
  });

  it("refuses a reply for a capture refund the order never requested, in every status", () => {
    for (const status of Object.keys(histories) as OrderStatus[]) {
      const state = given(...histories[status]);
      for (const command of [refunded(), failed()]) {
        const decision = decide(state, command);
        expect(decision.ok ? "ok" : decision.error.message, status).toContain("no capture refund was requested with refund_ref capture-refund:pay-9");
      }
    }
  });

  it("keeps a merchant's refunds and a capture's refund apart", () => {
    // pay-9 is unowned on a partially refunded order whose own refund r1 is still requested.
    const state = givenUnowned("partially_refunded");
    const after = evolveAll(state, [{ type: "capture_refund_completed", orderId, paymentId: "pay-9", refundRef, at: t1 }]);
    expect(after).toMatchObject({ status: "partially_refunded", refunded: cny(1000n), refunds: [{ refundRef: "r1", status: "requested" }] });
    expect(outcomeOf(after, commands["refundCompleted"]!)).toBe("order_refund_completed");
  });

  describe("for a capture that named no order (no order row: the app loads the capture)", () => {
    const recordedCapture = (() => {
      const decision = decide(noOrder, capture("pay-9", 4000n));
      if (!decision.ok || decision.value[0]?.type !== "capture_refund_requested") throw new Error("no request");
      return decision.value[0].capture;
    })();
    const noSuchOrder = { orderId, status: "none" as const };

    it("still leaves decide itself refusing it as order_not_found", () => {
      expect(outcomeOf(noOrder, refunded())).toBe("error:order_not_found");
      expect(outcomeOf(noOrder, failed())).toBe("error:order_not_found");
    });

    it("records the refund done, once", () => {
      const decision = decideCaptureRefundOutcome(noSuchOrder, { orderId, capture: recordedCapture }, refunded());
      expect(decision).toEqual({ ok: true, value: [{ type: "capture_refund_completed", orderId, paymentId: "pay-9", refundRef, at: t1 }] });
      if (!decision.ok) return;
      const after = evolveUnownedCapture(recordedCapture, decision.value[0]!);
      expect(after).toEqual({ ...recordedCapture, refundStatus: "refunded" });
      expect(evolveAll(noOrder, decision.value)).toBe(noOrder);
      const again = decideCaptureRefundOutcome(noSuchOrder, { orderId, capture: after }, refunded());
      expect(again).toEqual({ ok: true, value: [] });
    });

    it("records the refund failed with its reason, once", () => {
      const decision = decideCaptureRefundOutcome(noSuchOrder, { orderId, capture: recordedCapture }, failed());
      if (!decision.ok) throw new Error(decision.error.message);
      const after = evolveUnownedCapture(recordedCapture, decision.value[0]!);
      expect(after).toEqual({ ...recordedCapture, refundStatus: "refund_failed", refundFailedReason: "account_closed: card cancelled" });
      expect(decideCaptureRefundOutcome(noSuchOrder, { orderId, capture: after }, failed())).toEqual({ ok: true, value: [] });
    });

    it("refuses a reply for no recorded capture, one recorded under another order id, or of the wrong amount", () => {
      const codeOf = (decision: ReturnType<typeof decideCaptureRefundOutcome>) => (decision.ok ? "ok" : decision.error.message);
      expect(codeOf(decideCaptureRefundOutcome(noSuchOrder, undefined, refunded()))).toContain(
        "which names no order: no capture refund was requested",
      );
      const elsewhere = { orderId: "0190a1b2-0000-7000-8000-000000000000", capture: recordedCapture };
      expect(codeOf(decideCaptureRefundOutcome(noSuchOrder, elsewhere, failed()))).toContain(
        "was recorded for order 0190a1b2-0000-7000-8000-000000000000",
      );
      expect(codeOf(decideCaptureRefundOutcome(noSuchOrder, { orderId, capture: recordedCapture }, refunded(4498n)))).toContain(
        "but 4498 CNY minor units was refunded",
      );
    });
  });

  it("crashes when a capture refund outcome is applied to an order that never recorded the capture (a bug)", () => {
    expect(() => evolveAll(given(accepted, cancelled), [{ type: "capture_refund_completed", orderId, paymentId: "pay-9", refundRef, at: t1 }])).toThrow();
  });
});

describe("decide + evolve: given / when / then", () => {
  it("places an order as accepted with zero paid and refunded", () => {
    const state = given(accepted);
    expect(state).toMatchObject({ orderId, status: "accepted", paid: cny(0n), refunded: cny(0n), createdAt: t0 });
  });

  it("refuses a capture of another amount than the total", () => {
    const decision = decide(given(accepted), { ...commands["captureSame"]!, amount: cny(4497n) } as OrderCommand);
    expect(decision.ok ? "ok" : decision.error.code).toBe("illegal_transition");
  });

  it("pays, refunds in two parts up to the paid amount, and refuses a cent more", () => {
    let state: OrderState = given(accepted, paid);
    const first = decide(state, { type: "request_refund", refundRef: "a", amount: cny(4000n), reason: "", at: t1 });
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    state = evolveAll(state, first.value);
    expect(state).toMatchObject({ status: "partially_refunded", refunded: cny(4000n) });
    const tooMuch = decide(state, { type: "request_refund", refundRef: "b", amount: cny(499n), reason: "", at: t1 });
    expect(tooMuch.ok ? "ok" : tooMuch.error.code).toBe("refund_exceeds_remaining");
    const rest = decide(state, { type: "request_refund", refundRef: "b", amount: cny(498n), reason: "", at: t1 });
    expect(rest.ok).toBe(true);
    if (!rest.ok) return;
    state = evolveAll(state, rest.value);
    expect(state).toMatchObject({ status: "refunded", refunded: cny(4498n), updatedAt: t1 });
  });

  it("treats a repeated refund_ref with the same amount as done and with another amount as a conflict", () => {
    const state = given(accepted, paid, refundRequested(1000n));
    expect(outcomeOf(state, { type: "request_refund", refundRef: "r1", amount: cny(1000n), reason: "", at: t1 })).toBe("nothing");
    expect(outcomeOf(state, { type: "request_refund", refundRef: "r1", amount: cny(10n), reason: "", at: t1 })).toBe(
      "error:refund_ref_conflict",
    );
  });

  it("refuses a refund in another currency", () => {
    const state = given(accepted, paid);
    expect(outcomeOf(state, { type: "request_refund", refundRef: "x", amount: money(100n, "HKD"), reason: "", at: t1 })).toBe(
      "error:invalid_request",
    );
  });

  it("gives a failed refund's amount back, moving refunded → partially_refunded → paid", () => {
    let state: OrderState = given(accepted, paid, refundRequested(1000n, "a"), refundRequested(3498n, "b"));
    expect(state.status).toBe("refunded");
    state = evolveAll(state, [{ type: "order_refund_failed", orderId, refundRef: "b", amount: cny(3498n), reason: "x", at: t1 }]);
    expect(state).toMatchObject({ status: "partially_refunded", refunded: cny(1000n) });
    const failedAgain = decide(state, { type: "record_refund_failed", refundRef: "b", reason: "x", at: t1 });
    expect(failedAgain.ok && failedAgain.value.length === 0).toBe(true);
    const completeFailed = decide(state, { type: "record_refund_completed", refundRef: "b", amount: cny(3498n), at: t1 });
    expect(completeFailed.ok ? "ok" : completeFailed.error.code).toBe("illegal_transition");
    state = evolveAll(state, [{ type: "order_refund_failed", orderId, refundRef: "a", amount: cny(1000n), reason: "x", at: t1 }]);
    expect(state).toMatchObject({ status: "paid", refunded: cny(0n) });
  });

  it("records a completed refund once and refuses a mismatched amount or an unknown ref", () => {
    let state: OrderState = given(accepted, paid, refundRequested(1000n));
    const done = decide(state, { type: "record_refund_completed", refundRef: "r1", amount: cny(1000n), at: t1 });
    expect(done.ok).toBe(true);
    if (!done.ok) return;
    state = evolveAll(state, done.value);
    expect(state.status === "none" ? undefined : state.refunds[0]?.status).toBe("completed");
    expect(outcomeOf(state, { type: "record_refund_completed", refundRef: "r1", amount: cny(1000n), at: t1 })).toBe("nothing");
    expect(outcomeOf(state, { type: "record_refund_failed", refundRef: "r1", reason: "", at: t1 })).toBe("error:illegal_transition");
    expect(outcomeOf(state, { type: "record_refund_completed", refundRef: "r1", amount: cny(999n), at: t1 })).toBe(
      "error:illegal_transition",
    );
    expect(outcomeOf(state, { type: "record_refund_completed", refundRef: "nope", amount: cny(1n), at: t1 })).toBe(
      "error:illegal_transition",
    );
  });

  it("crashes when an event is applied to a state it cannot follow (a bug, never input)", () => {
    expect(() => evolveAll(noOrder, [paid])).toThrow();
    expect(() => evolveAll(given(accepted), [accepted])).toThrow();
  });
});

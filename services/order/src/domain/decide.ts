import { equals, subtract, type Money } from "@tributary/money";
import { assertNever, err, ok, type Result } from "@tributary/result";
import {
  captureRefundRef,
  isCaptureRefundRef,
  type Order,
  type OrderState,
  type RecordedUnownedCapture,
  type UnownedCaptureReason,
} from "./order.js";
import type { OrderCommand } from "./order-command.js";
import type { IllegalTransitionError, OrderError } from "./order-error.js";
import type { CaptureRefundOutcomeEvent, CaptureRefundRequestedEvent, OrderEvent } from "./order-event.js";

/** What {@link decide} may refuse with; a subset of {@link OrderError}. */
export type DecideError = Extract<
  OrderError,
  {
    code:
      | "order_not_found"
      | "order_already_exists"
      | "illegal_transition"
      | "refund_exceeds_remaining"
      | "refund_ref_conflict"
      | "invalid_request";
  }
>;

type Decision = Result<readonly OrderEvent[], DecideError>;

const none: Decision = ok([]);

function illegal(order: Order, command: OrderCommand, reason: string): Decision {
  const error: IllegalTransitionError = {
    code: "illegal_transition",
    message: `cannot ${command.type.replaceAll("_", " ")} on order ${order.orderId} in status ${order.status}: ${reason}`,
    from: order.status,
    command: command.type,
  };
  return err(error);
}

function formatMoney(amount: Money): string {
  return `${amount.amountMinor.toString()} ${amount.currency} minor units`;
}

/**
 * The order lifecycle's rules: given the current state and a command, the events that follow,
 * or the reason the command is refused. Pure — the clock and the new order id arrive inside the
 * command. An empty list means "already done" (a redelivered payment event, a repeated cancel or
 * refund request with the same reference), so replays change nothing.
 *
 * placed → accepted → paid | payment_failed | cancelled; paid → partially_refunded | refunded.
 * A capture the order cannot take (cancelled, closed unpaid, paid by another payment, or no such
 * order) is not refused: the money was taken, so it becomes `capture_refund_requested`.
 */
export function decide(state: OrderState, command: OrderCommand): Decision {
  if (state.status === "none") {
    switch (command.type) {
      case "place_order":
        return ok([{ type: "order_accepted", orderId: command.orderId, draft: command.draft, at: command.at }]);
      // Payment-routing pays only orders it saw accepted, and the order commits before its
      // OrderAccepted is published, so a capture naming no order is not early: nobody owns it.
      case "record_payment_captured":
        return ok([
          unownedCapture(command, "order_unknown", `no order ${command.orderId} exists`),
        ]);
      case "record_payment_failed":
      case "cancel_order":
      case "request_refund":
      case "record_refund_completed":
      case "record_refund_failed":
        return err({ code: "order_not_found", message: `no such order (${command.type})`, orderId: "" });
      default:
        return assertNever(command, "order command");
    }
  }
  const order = state;
  switch (command.type) {
    case "place_order":
      return err({
        code: "order_already_exists",
        message: `order ${order.orderId} already exists`,
        orderId: order.orderId,
      });
    case "record_payment_captured":
      return decidePaymentCaptured(order, command);
    case "record_payment_failed":
      return decidePaymentFailed(order, command);
    case "cancel_order":
      return decideCancel(order, command);
    case "request_refund":
      return decideRefund(order, command);
    // A capture refund's reply is about a capture the order did not take, never its own refunds.
    case "record_refund_completed":
      return isCaptureRefundRef(command.refundRef)
        ? decideCaptureRefundOutcome(order, recordedOn(order, command.refundRef), command)
        : decideRefundCompleted(order, command);
    case "record_refund_failed":
      return isCaptureRefundRef(command.refundRef)
        ? decideCaptureRefundOutcome(order, recordedOn(order, command.refundRef), command)
        : decideRefundFailed(order, command);
    default:
      return assertNever(command, "order command");
  }
}

function recordedOn(order: Order, refundRef: string): RecordedUnownedCapture | undefined {
  const capture = order.unownedCaptures.find((c) => c.refundRef === refundRef);
  return capture === undefined ? undefined : { orderId: order.orderId, capture };
}

type RefundOutcomeCommand = Extract<OrderCommand, { type: "record_refund_completed" | "record_refund_failed" }>;

/**
 * Payment-routing's reply to the refund of an unowned capture (`refund_ref` a
 * {@link captureRefundRef}): `capture_refund_completed` or `capture_refund_failed`, nothing when
 * the reply was already recorded, or `illegal_transition` for a reply that breaks the contract —
 * no such capture refund under this order id, a refunded amount other than the whole capture, or
 * a failure after the refund was done. `owner` is the order the reply names, or `{ orderId,
 * status: "none" }` when no order has that id (the app then loads and locks the capture itself).
 * A failed refund may still complete: the money is then back with the buyer, which is the truth
 * to record (unlike a merchant's refund, no balance of the order depends on it).
 */
export function decideCaptureRefundOutcome(
  owner: { readonly orderId: string; readonly status: OrderState["status"] },
  recorded: RecordedUnownedCapture | undefined,
  command: RefundOutcomeCommand,
): Result<readonly CaptureRefundOutcomeEvent[], DecideError> {
  const refuse = (reason: string): Result<never, DecideError> => {
    const where = owner.status === "none" ? "which names no order" : `in status ${owner.status}`;
    return err({
      code: "illegal_transition",
      message: `cannot ${command.type.replaceAll("_", " ")} ${command.refundRef} for order ${owner.orderId} ${where}: ${reason}`,
      from: owner.status,
      command: command.type,
    });
  };
  if (recorded === undefined) {
    return refuse(`no capture refund was requested with refund_ref ${command.refundRef}`);
  }
  const { capture } = recorded;
  if (recorded.orderId !== owner.orderId) {
    return refuse(`the capture of payment ${capture.paymentId} was recorded for order ${recorded.orderId}`);
  }
  const base = { orderId: owner.orderId, paymentId: capture.paymentId, refundRef: capture.refundRef, at: command.at };
  if (command.type === "record_refund_completed") {
    // A capture refund returns the whole capture; any other amount is a broken contract.
    if (!equals(command.amount, capture.amount)) {
      return refuse(
        `payment ${capture.paymentId} captured ${formatMoney(capture.amount)} and its whole amount was to be refunded, but ${formatMoney(command.amount)} was refunded`,
      );
    }
    switch (capture.refundStatus) {
      case "requested":
      case "refund_failed":
        return ok([{ type: "capture_refund_completed", ...base }]);
      case "refunded":
        return ok([]);
      default:
        return assertNever(capture.refundStatus, "capture refund status");
    }
  }
  switch (capture.refundStatus) {
    case "requested":
      return ok([{ type: "capture_refund_failed", ...base, reason: command.reason }]);
    // The first failure is kept: a redelivery or a re-send must not rewrite it.
    case "refund_failed":
      return ok([]);
    case "refunded":
      return refuse(`the refund of payment ${capture.paymentId} was already reported done`);
    default:
      return assertNever(capture.refundStatus, "capture refund status");
  }
}

type CaptureCommand = Extract<OrderCommand, { type: "record_payment_captured" }>;

/** The event that hands a capture nobody owns to payment-routing for a full refund. */
function unownedCapture(command: CaptureCommand, reason: UnownedCaptureReason, description: string): CaptureRefundRequestedEvent {
  return {
    type: "capture_refund_requested",
    orderId: command.orderId,
    capture: {
      paymentId: command.paymentId,
      merchantId: command.merchantId,
      provider: command.provider,
      providerTransactionId: command.providerTransactionId,
      amount: command.amount,
      reason,
      refundRef: captureRefundRef(command.paymentId),
      description,
      refundStatus: "requested",
      refundFailedReason: undefined,
    },
    at: command.at,
  };
}

/**
 * A capture the order does not take: nothing if this payment is already recorded as unowned (a
 * redelivery or a re-send under a new event id), otherwise its refund request.
 */
function refundUnowned(order: Order, command: CaptureCommand, reason: UnownedCaptureReason, description: string): Decision {
  const previous = order.unownedCaptures.find((capture) => capture.paymentId === command.paymentId);
  if (previous === undefined) {
    return ok([unownedCapture(command, reason, description)]);
  }
  if (!equals(previous.amount, command.amount)) {
    return illegal(
      order,
      command,
      `payment ${command.paymentId} was already recorded as captured for ${formatMoney(previous.amount)}, not ${formatMoney(command.amount)}`,
    );
  }
  return none;
}

function decidePaymentCaptured(order: Order, command: CaptureCommand): Decision {
  switch (order.status) {
    case "accepted":
      // A wrong amount is a broken contract with payment-routing, not an ownerless capture: the
      // order still waits for its payment, so a person decides (dead letter with the reason).
      if (!equals(command.amount, order.total)) {
        return illegal(
          order,
          command,
          `captured ${formatMoney(command.amount)} but the order total is ${formatMoney(order.total)}`,
        );
      }
      return ok([
        { type: "order_paid", orderId: order.orderId, paymentId: command.paymentId, amount: command.amount, at: command.at },
      ]);
    case "paid":
    case "partially_refunded":
    case "refunded":
      return order.paymentId === command.paymentId
        ? none
        : refundUnowned(
            order,
            command,
            "already_paid_by_other_payment",
            `order ${order.orderId} is already paid by payment ${order.paymentId ?? "?"}`,
          );
    case "payment_failed":
      return refundUnowned(
        order,
        command,
        "order_payment_failed",
        `order ${order.orderId} is closed: its payment ${order.paymentId ?? "?"} failed (${order.paymentFailureReason ?? "no reason"})`,
      );
    case "cancelled":
      return refundUnowned(
        order,
        command,
        "order_cancelled",
        `order ${order.orderId} was cancelled (${order.cancelReason ?? "no reason"})`,
      );
    default:
      return assertNever(order.status, "order status");
  }
}

function decidePaymentFailed(order: Order, command: Extract<OrderCommand, { type: "record_payment_failed" }>): Decision {
  switch (order.status) {
    case "accepted":
      return ok([
        {
          type: "order_payment_failed",
          orderId: order.orderId,
          paymentId: command.paymentId,
          reason: command.reason,
          at: command.at,
        },
      ]);
    // A failed payment of an already closed-unpaid order is the expected echo of the close.
    case "payment_failed":
    case "cancelled":
      return none;
    case "paid":
    case "partially_refunded":
    case "refunded":
      return illegal(order, command, `the order is already paid by payment ${order.paymentId ?? "?"}`);
    default:
      return assertNever(order.status, "order status");
  }
}

function decideCancel(order: Order, command: Extract<OrderCommand, { type: "cancel_order" }>): Decision {
  switch (order.status) {
    case "accepted":
      return ok([{ type: "order_cancelled", orderId: order.orderId, reason: command.reason, at: command.at }]);
    case "cancelled":
      return none;
    case "payment_failed":
      return illegal(order, command, "the order is already closed: its payment failed");
    case "paid":
    case "partially_refunded":
    case "refunded":
      return illegal(order, command, "the order is paid; request a refund instead");
    default:
      return assertNever(order.status, "order status");
  }
}

function decideRefund(order: Order, command: Extract<OrderCommand, { type: "request_refund" }>): Decision {
  switch (order.status) {
    case "accepted":
    case "payment_failed":
    case "cancelled":
      return illegal(order, command, "the order is not paid");
    case "paid":
    case "partially_refunded":
    case "refunded":
      break;
    default:
      return assertNever(order.status, "order status");
  }
  const previous = order.refunds.find((refund) => refund.refundRef === command.refundRef);
  if (previous !== undefined) {
    if (equals(previous.amount, command.amount)) {
      return none;
    }
    return err({
      code: "refund_ref_conflict",
      message: `refund_ref ${command.refundRef} was already used for ${formatMoney(previous.amount)}`,
      fieldViolations: [
        { field: "amount", description: `refund_ref ${command.refundRef} was already used for ${formatMoney(previous.amount)}` },
      ],
    });
  }
  if (command.amount.currency !== order.total.currency) {
    return err({
      code: "invalid_request",
      message: `the refund currency must be the order's currency ${order.total.currency}`,
      fieldViolations: [{ field: "amount.currency", description: `must be ${order.total.currency}, the order's currency` }],
    });
  }
  const remaining = subtract(order.paid, order.refunded);
  if (command.amount.amountMinor > remaining.amountMinor) {
    const description = `at most ${formatMoney(remaining)} can still be refunded (paid ${formatMoney(order.paid)}, refunded ${formatMoney(order.refunded)})`;
    return err({
      code: "refund_exceeds_remaining",
      message: description,
      fieldViolations: [{ field: "amount.amount_minor", description }],
    });
  }
  return ok([
    {
      type: "order_refund_requested",
      orderId: order.orderId,
      refundRef: command.refundRef,
      amount: command.amount,
      reason: command.reason,
      at: command.at,
    },
  ]);
}

function decideRefundCompleted(
  order: Order,
  command: Extract<OrderCommand, { type: "record_refund_completed" }>,
): Decision {
  const refund = order.refunds.find((r) => r.refundRef === command.refundRef);
  if (refund === undefined) {
    return illegal(order, command, `no refund was requested with refund_ref ${command.refundRef}`);
  }
  if (!equals(refund.amount, command.amount)) {
    return illegal(
      order,
      command,
      `refund ${command.refundRef} was requested for ${formatMoney(refund.amount)} but ${formatMoney(command.amount)} was refunded`,
    );
  }
  switch (refund.status) {
    case "requested":
      return ok([{ type: "order_refund_completed", orderId: order.orderId, refundRef: refund.refundRef, at: command.at }]);
    case "completed":
      return none;
    case "failed":
      return illegal(order, command, `refund ${command.refundRef} already failed`);
    default:
      return assertNever(refund.status, "refund status");
  }
}

function decideRefundFailed(order: Order, command: Extract<OrderCommand, { type: "record_refund_failed" }>): Decision {
  const refund = order.refunds.find((r) => r.refundRef === command.refundRef);
  if (refund === undefined) {
    return illegal(order, command, `no refund was requested with refund_ref ${command.refundRef}`);
  }
  switch (refund.status) {
    case "requested":
      return ok([
        {
          type: "order_refund_failed",
          orderId: order.orderId,
          refundRef: refund.refundRef,
          amount: refund.amount,
          reason: command.reason,
          at: command.at,
        },
      ]);
    case "failed":
      return none;
    case "completed":
      return illegal(order, command, `refund ${command.refundRef} already completed`);
    default:
      return assertNever(refund.status, "refund status");
  }
}

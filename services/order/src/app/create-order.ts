import { err, ok, type Result } from "@tributary/result";
import { decide } from "../domain/decide.js";
import { differingFields } from "../domain/differing-fields.js";
import { evolveAll } from "../domain/evolve.js";
import { noOrder, type Order, type OrderDraft } from "../domain/order.js";
import type { InvalidOrderError, OrderConflictError } from "../domain/order-error.js";
import type { OrderEvent } from "../domain/order-event.js";
import type { PlaceOrderInput } from "../domain/place-order-input.js";
import { validatePlaceOrder } from "../domain/validate-place-order.js";
import { merchantRefKey, type OrderChange, type OrderDeps, type TraceContext, type Tx } from "./ports.js";

/** A create that succeeded: the order, and whether this call made it or found it. */
export interface CreateOrderOutcome {
  readonly order: Order;
  readonly created: boolean;
}

/** Why a create was refused. */
export type CreateOrderError = InvalidOrderError | OrderConflictError;

/** The answer to one create. */
export type CreateOrderResult = Result<CreateOrderOutcome, CreateOrderError>;

function placeOrder(deps: OrderDeps, draft: OrderDraft): { order: Order; events: readonly OrderEvent[] } {
  const decision = decide(noOrder, { type: "place_order", orderId: deps.newOrderId(), draft, at: deps.clock() });
  if (!decision.ok) {
    throw new Error(`place_order refused on an empty state: ${decision.error.code}`);
  }
  const state = evolveAll(noOrder, decision.value);
  if (state.status === "none") {
    throw new Error("order_accepted did not create an order");
  }
  return { order: state, events: decision.value };
}

function conflict(existing: Order, draft: OrderDraft): CreateOrderResult {
  const differences = differingFields(existing, draft);
  if (differences.length === 0) {
    return ok({ order: existing, created: false });
  }
  return err({
    code: "order_conflict",
    message:
      `merchant ${draft.merchantId} already has order ${existing.orderId} with merchant_order_ref ` +
      `${draft.merchantOrderRef} and different content in: ${differences.map((d) => d.field).join(", ")}`,
    orderId: existing.orderId,
    fieldViolations: differences,
  });
}

/**
 * The one use case behind `CreateOrder` and the `OrderPlaced` intake, for one or many orders in
 * the caller's transaction: validate each, insert the new ones with their `OrderAccepted` in the
 * outbox, and answer each input in order. Idempotent per merchant + reference: the same content
 * returns the stored order (`created: false`), different content is an `order_conflict` naming
 * every differing field. Concurrent identical creates meet on the unique index; one inserts, the
 * others wait for it and return its order. A refused input writes nothing.
 */
export async function createOrders(
  deps: OrderDeps,
  tx: Tx,
  inputs: readonly PlaceOrderInput[],
  traceContexts: readonly (TraceContext | undefined)[] = [],
): Promise<CreateOrderResult[]> {
  const results: (CreateOrderResult | undefined)[] = inputs.map(() => undefined);
  const placed: { index: number; draft: OrderDraft; change: OrderChange }[] = [];
  inputs.forEach((input, index) => {
    const validated = validatePlaceOrder(input);
    if (!validated.ok) {
      results[index] = validated;
      return;
    }
    const { order, events } = placeOrder(deps, validated.value);
    const traceContext = traceContexts[index];
    placed.push({
      index,
      draft: validated.value,
      change: traceContext === undefined ? { order, events } : { order, events, traceContext },
    });
  });
  if (placed.length > 0) {
    const inserted = await deps.store.insertManyIfAbsent(
      tx,
      placed.map((p) => p.change.order),
    );
    const fresh = placed.filter((p) => inserted.has(p.change.order.orderId));
    await deps.outbox.appendEvents(
      tx,
      fresh.map((p) => p.change),
    );
    for (const p of fresh) results[p.index] = ok({ order: p.change.order, created: true });
    const taken = placed.filter((p) => !inserted.has(p.change.order.orderId));
    if (taken.length > 0) {
      // The conflicting inserts have committed (ON CONFLICT waited for them) or are this
      // transaction's own, so a fresh read sees them.
      const existing = await deps.store.findByMerchantRefs(tx, taken.map((p) => p.draft));
      for (const p of taken) {
        const stored = existing.get(merchantRefKey(p.draft));
        if (stored === undefined) {
          throw new Error(`order ${p.draft.merchantId}/${p.draft.merchantOrderRef} conflicted but cannot be read`);
        }
        results[p.index] = conflict(stored, p.draft);
      }
    }
  }
  return results.map((result, index) => {
    if (result === undefined) throw new Error(`create ${index} got no answer`);
    return result;
  });
}

/** {@link createOrders} for one order: what the Kafka intake and an unbatched call use. */
export async function createOrder(deps: OrderDeps, tx: Tx, input: PlaceOrderInput): Promise<CreateOrderResult> {
  const [result] = await createOrders(deps, tx, [input]);
  if (result === undefined) throw new Error("createOrders answered nothing");
  return result;
}

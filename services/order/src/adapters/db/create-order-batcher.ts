import { context, type Context } from "@opentelemetry/api";
import type { Pool } from "pg";
import { createOrder, createOrders, type CreateOrderResult } from "../../app/create-order.js";
import type { OrderDeps } from "../../app/ports.js";
import type { PlaceOrderInput } from "../../domain/place-order-input.js";
import { inTransaction } from "./in-transaction.js";

/** Tuning of {@link createOrderBatcher}. */
export interface CreateOrderBatcherOptions {
  /** Most creates committed in one transaction; 64 unless told. */
  readonly maxBatchSize?: number;
  /**
   * Most batch transactions open at once; 2 unless told. Two keep the database busy (one batch
   * commits while the next runs) and let calls pile up into larger batches; more in flight only
   * split the same calls into smaller batches, each paying BEGIN, two statements and COMMIT.
   */
  readonly maxInFlight?: number;
}

/** Creates orders, committing concurrent calls together. */
export interface CreateOrderBatcher {
  create(input: PlaceOrderInput): Promise<CreateOrderResult>;
}

interface Pending {
  readonly input: PlaceOrderInput;
  /** The caller's trace: its OrderAccepted continues it, whichever batch carries it. */
  readonly traceContext: Context;
  readonly resolve: (result: CreateOrderResult) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit for CreateOrder: calls that arrive while earlier batches are still committing wait
 * and then go together through `createOrders` in one transaction — one insert statement, one
 * outbox append and one WAL flush for all of them — without any added delay (a call that finds a
 * free slot starts at once). Each caller still gets only its own answer, and nothing is
 * acknowledged before its transaction committed. If a batch transaction fails (a deadlock, one
 * poisoned row), every call in it is retried alone, so one failure never fails its neighbours.
 */
export function createOrderBatcher(
  pool: Pool,
  deps: OrderDeps,
  options: CreateOrderBatcherOptions = {},
): CreateOrderBatcher {
  const maxBatchSize = options.maxBatchSize ?? 64;
  const maxInFlight = options.maxInFlight ?? 2;
  const queue: Pending[] = [];
  let inFlight = 0;

  const runAlone = async (pending: Pending): Promise<void> => {
    try {
      pending.resolve(
        await context.with(pending.traceContext, () => inTransaction(pool, (tx) => createOrder(deps, tx, pending.input))),
      );
    } catch (error) {
      pending.reject(error);
    }
  };

  const run = async (batch: readonly Pending[]): Promise<void> => {
    if (batch.length === 1) {
      await runAlone(batch[0]!);
      return;
    }
    let results: CreateOrderResult[];
    try {
      results = await inTransaction(pool, (tx) =>
        createOrders(
          deps,
          tx,
          batch.map((pending) => pending.input),
          batch.map((pending) => pending.traceContext),
        ),
      );
    } catch {
      await Promise.all(batch.map(runAlone));
      return;
    }
    batch.forEach((pending, index) => pending.resolve(results[index]!));
  };

  const pump = (): void => {
    while (inFlight < maxInFlight && queue.length > 0) {
      const batch = queue.splice(0, maxBatchSize);
      inFlight += 1;
      void run(batch).finally(() => {
        inFlight -= 1;
        pump();
      });
    }
  };

  return {
    create(input) {
      return new Promise<CreateOrderResult>((resolve, reject) => {
        queue.push({ input, traceContext: context.active(), resolve, reject });
        pump();
      });
    },
  };
}

import { PaymentRoutingService } from "@tributary/contracts/payment/v1/payment_routing_service";
import { closeClient, createClient } from "@tributary/grpc";
import { submitAlipayAppOrder } from "@tributary/provider-sandbox";
import type { RoutedAttempt } from "./day-watch.js";

/** What the day's Alipay app buyers did. */
export interface AlipayAppBuyerCounts {
  /** App payments routed to Alipay that a buyer's app took up. */
  readonly seen: number;
  /** Order strings Alipay accepted (the trade then exists; the sandbox's buyer pays or walks away). */
  readonly submitted: number;
  /** Order strings Alipay refused, or attempts whose order string never appeared; each with its reason. */
  readonly failed: readonly string[];
}

/** The running buyers. */
export interface AlipayAppBuyers {
  /** Stops taking up attempts and waits for the submissions under way; a second call gets the same counts. */
  stop(): Promise<AlipayAppBuyerCounts>;
}

export interface AlipayAppBuyerOptions {
  /** payment-routing's gRPC address and a token that may read the run's merchants' payments. */
  readonly paymentRoutingAddress: string;
  readonly token: string;
  /** The sandbox's `providers.alipay.appPayUrl`: Alipay's side of the app SDK. */
  readonly appPayUrl: string;
  /** The run's attempts as the topics announce them (the day watch's list, appended to as it goes). */
  readonly attempts: readonly RoutedAttempt[];
  /** How long one attempt's order string may take to appear in GetPayment. Default 30 s. */
  readonly actionTimeoutMs?: number;
}

const POLL_MS = 250;

/**
 * The buyers of the day who check out in a native app and were routed to Alipay. An Alipay app
 * payment exists at Alipay only once the buyer's Alipay app submits the order string payment-
 * routing signed, so somebody must play the app: for every such attempt, it reads the buyer action
 * from payment-routing's `GetPayment` — as a checkout would — and submits its `orderStr` to the
 * sandbox's Alipay. From then on the sandbox's simulated buyer decides (pay, pay late, walk away)
 * as for a scanned QR code. Every other product needs no app: its buyer is simulated by the sandbox
 * from the provider call itself.
 */
export function startAlipayAppBuyers(options: AlipayAppBuyerOptions): AlipayAppBuyers {
  const client = createClient(PaymentRoutingService, options.paymentRoutingAddress, { bearerToken: options.token, defaultDeadlineMs: 10_000 });
  const actionTimeoutMs = options.actionTimeoutMs ?? 30_000;
  // The attempts list only grows: each tick takes up the attempts announced since the last.
  let seen = 0;
  let taken = 0;
  const inFlight = new Set<Promise<void>>();
  const failed: string[] = [];
  let submitted = 0;
  let stopped = false;

  const orderStringOf = async (paymentId: string): Promise<string | undefined> => {
    const deadline = Date.now() + actionTimeoutMs;
    while (!stopped && Date.now() < deadline) {
      const action = (await client.getPayment({ paymentId })).payment?.buyerAction?.action;
      if (action?.case === "appParameters") return action.value.parameters["orderStr"];
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    return undefined;
  };

  const buy = async (attempt: RoutedAttempt): Promise<void> => {
    try {
      const orderString = await orderStringOf(attempt.paymentId);
      if (orderString === undefined) {
        if (!stopped) failed.push(`${attempt.paymentId}: no orderStr in GetPayment within ${actionTimeoutMs / 1000} s`);
        return;
      }
      const answer = await submitAlipayAppOrder(options.appPayUrl, orderString);
      if (answer.code === "10000") submitted += 1;
      else failed.push(`${attempt.paymentId}: Alipay refused the order string: ${answer.code} ${answer.subCode ?? ""}`.trim());
    } catch (error) {
      failed.push(`${attempt.paymentId}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };

  const timer = setInterval(() => {
    for (; seen < options.attempts.length; seen++) {
      const attempt = options.attempts[seen]!;
      if (attempt.provider !== "alipay" || attempt.channel !== "app") continue;
      taken += 1;
      const work = buy(attempt).finally(() => inFlight.delete(work));
      inFlight.add(work);
    }
  }, POLL_MS);

  let stopping: Promise<AlipayAppBuyerCounts> | undefined;
  return {
    stop() {
      stopping ??= (async () => {
        stopped = true;
        clearInterval(timer);
        await Promise.all([...inFlight]);
        closeClient(client);
        return { seen: taken, submitted, failed };
      })();
      return stopping;
    },
  };
}

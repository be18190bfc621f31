import { afterEach, describe, expect, it } from "vitest";
import { systemClock } from "../src/core/clock.js";
import { NotificationDispatcher, type NotificationSpec } from "../src/core/notification-dispatcher.js";
import { Scheduler } from "../src/core/scheduler.js";
import { startReceiver, type NotifyReceiver } from "./support/merchant.js";

let receiver: NotifyReceiver | undefined;
let scheduler: Scheduler | undefined;
afterEach(async () => {
  await scheduler?.stop();
  await receiver?.close();
});

function spec(url: string, event: string, scheduleMs: number[] = [0]): NotificationSpec {
  return {
    provider: "jdpay",
    event,
    outTradeNo: "O1",
    url,
    build: (attempt) => ({ body: `${event}#${attempt}`, headers: { "content-type": "text/plain" } }),
    buildForged: () => ({ body: `${event}#forged`, headers: { "content-type": "text/plain" } }),
    isAck: (status) => status === 200,
    scheduleMs,
  };
}

describe("notification dispatcher", () => {
  it("lets a later notification overtake one held back as out-of-order", async () => {
    receiver = await startReceiver();
    scheduler = new Scheduler((e) => {
      throw e;
    });
    const dispatcher = new NotificationDispatcher(scheduler, systemClock);
    dispatcher.dispatch(spec(receiver.url, "PAID"), { lost: false, duplicate: false, extraDelayMs: 200, forged: false });
    dispatcher.dispatch(spec(receiver.url, "REFUNDED"), { lost: false, duplicate: false, extraDelayMs: 0, forged: false });
    await receiver.waitFor(() => receiver!.received.length >= 2);
    expect(receiver.received.map((r) => r.body)).toEqual(["REFUNDED#1", "PAID#1"]);
  });

  it("retries on the schedule until acknowledged and stops there", async () => {
    receiver = await startReceiver();
    let n = 0;
    receiver.answer = () => (++n < 3 ? { status: 503, body: "" } : { status: 200, body: "" });
    scheduler = new Scheduler((e) => {
      throw e;
    });
    const dispatcher = new NotificationDispatcher(scheduler, systemClock);
    dispatcher.dispatch(spec(receiver.url, "PAID", [0, 20, 20, 20, 20]), { lost: false, duplicate: false, extraDelayMs: 0, forged: false });
    await receiver.waitFor(() => dispatcher.deliveries().some((d) => d.acked));
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(receiver.received.map((r) => r.body)).toEqual(["PAID#1", "PAID#2", "PAID#3"]);
    expect(dispatcher.deliveries().map((d) => [d.attempt, d.status, d.acked])).toEqual([[1, 503, false], [2, 503, false], [3, 200, true]]);
  });
});

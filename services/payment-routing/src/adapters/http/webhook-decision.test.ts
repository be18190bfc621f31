import { PROVIDER_IDS } from "@tributary/contracts";
import { money } from "@tributary/money";
import { err, ok } from "@tributary/result";
import { describe, expect, it } from "vitest";
import type { NotificationError, VerifiedNotification } from "../providers/provider-adapter.js";
import { decideNotification, DEFAULT_REPLAY_WINDOW_MS, DEFAULT_UNTIMED_RETENTION_MS, retentionMs, RETENTION_MARGIN_MS, webhookPath } from "./webhook-decision.js";

const now = new Date("2026-12-01T12:00:00.000Z");
const timed = { replayWindowMs: DEFAULT_REPLAY_WINDOW_MS, sentAtRequired: true };
const untimed = { replayWindowMs: DEFAULT_REPLAY_WINDOW_MS, sentAtRequired: false };

function paymentNotification(sentAt: Date | undefined, notificationId = "N1"): VerifiedNotification {
  return {
    kind: "payment",
    notificationId,
    ...(sentAt === undefined ? {} : { sentAt }),
    report: { paymentId: "P1", status: "captured", amount: money(100n, "CNY"), providerStatus: "TRADE_SUCCESS" },
  };
}
const at = (offsetMs: number) => new Date(now.getTime() + offsetMs);

describe("decideNotification", () => {
  it.each<NotificationError>([
    { code: "bad_signature", message: "forged" },
    { code: "malformed", message: "no notify_id" },
    { code: "decrypt_failed", message: "tag mismatch" },
    { code: "unknown_provider_status", providerStatus: "WEIRD", message: "not in the table" },
  ])("an adapter error $code is a rejection with that reason, and nothing is recorded", (error) => {
    expect(decideNotification(err(error), now, timed)).toEqual({ kind: "reject", reason: error.code, message: error.message });
  });

  it("a notification sent within the window is recorded, on either side of our clock and at its edges", () => {
    for (const offset of [0, -1_000, 1_000, -DEFAULT_REPLAY_WINDOW_MS, DEFAULT_REPLAY_WINDOW_MS]) {
      const notification = paymentNotification(at(offset));
      expect(decideNotification(ok(notification), now, timed)).toEqual({ kind: "record", notification });
    }
  });

  it("one sent a millisecond outside the window, old or ahead of our clock, is stale", () => {
    for (const offset of [-DEFAULT_REPLAY_WINDOW_MS - 1, DEFAULT_REPLAY_WINDOW_MS + 1, -3_600_000]) {
      expect(decideNotification(ok(paymentNotification(at(offset))), now, timed)).toMatchObject({ kind: "reject", reason: "stale" });
    }
  });

  it("the window is the configured one", () => {
    const narrow = { replayWindowMs: 10_000, sentAtRequired: true };
    expect(decideNotification(ok(paymentNotification(at(-10_001))), now, narrow)).toMatchObject({ reason: "stale" });
    expect(decideNotification(ok(paymentNotification(at(-9_999))), now, narrow)).toMatchObject({ kind: "record" });
  });

  it("a missing send time fails where the provider always signs one, and is left to the id store where it never does", () => {
    expect(decideNotification(ok(paymentNotification(undefined)), now, timed)).toMatchObject({ kind: "reject", reason: "missing_sent_at" });
    expect(decideNotification(ok(paymentNotification(undefined)), now, untimed)).toMatchObject({ kind: "record" });
  });

  it("an invalid send time is not a pass, even for a provider that may omit it", () => {
    expect(decideNotification(ok(paymentNotification(new Date(Number.NaN))), now, untimed)).toMatchObject({ kind: "reject", reason: "missing_sent_at" });
  });

  it("an empty notification id is malformed: two empty ids are not the same notification", () => {
    expect(decideNotification(ok(paymentNotification(now, "")), now, timed)).toMatchObject({ kind: "reject", reason: "malformed" });
  });
});

describe("retentionMs", () => {
  it("keeps a timestamped provider's ids twice the window plus the margin: a copy passes the window until then", () => {
    // Received at r with sentAt = r + W (ahead of our clock, the latest it is accepted); a copy
    // passes the window until sentAt + W = r + 2W.
    for (const provider of ["alipay", "wechat_pay", "jd_pay", "ecny"] as const) {
      expect(retentionMs(provider, 60_000)).toBe(2 * 60_000 + RETENTION_MARGIN_MS);
    }
  });

  it("keeps UnionPay's ids (no signed send time) for the untimed retention", () => {
    expect(retentionMs("unionpay", 60_000)).toBe(DEFAULT_UNTIMED_RETENTION_MS);
    expect(retentionMs("unionpay", 60_000, 1_000)).toBe(1_000);
  });
});

describe("webhookPath", () => {
  it("is one distinct path per provider, spelled with the provider id", () => {
    const paths = PROVIDER_IDS.map(webhookPath);
    expect(paths).toEqual(["/webhooks/alipay", "/webhooks/wechat_pay", "/webhooks/unionpay", "/webhooks/jd_pay", "/webhooks/ecny"]);
  });
});

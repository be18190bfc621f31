import type { ProviderId } from "@tributary/contracts";
import type { Result } from "@tributary/result";
import type { NotificationError, VerifiedNotification } from "../providers/provider-adapter.js";

/*
 * The pure part of the webhook layer: what to do with one verified (or unverifiable) notification
 * before the database is asked anything, and how long a notification id must be remembered. No
 * I/O and no clock of its own: `now` is a parameter, so every rule here is a unit test.
 */

/** Why a notification was refused before anything was stored or applied. */
export type RejectionReason =
  /** The signature did not verify with the key we hold (forged, tampered, another merchant's key). */
  | "bad_signature"
  /** Verified, or not verifiable, but not a notification we can read (fields missing, not ours). */
  | "malformed"
  /** WeChat's `resource` did not decrypt with our APIv3 key. */
  | "decrypt_failed"
  /** Verified, but a status the adapter does not know: logged for review, never guessed. */
  | "unknown_provider_status"
  /** The signed send time is outside the replay window (an old capture replayed, or a wild clock). */
  | "stale"
  /** The provider always signs a send time, and this notification has none: a check whose data is missing fails. */
  | "missing_sent_at";

/** The outcomes the webhook layer counts, one per notification. */
export type NotificationOutcome =
  /** Stored and handed to the lifecycle, which changed the payment or refund. */
  | "applied"
  /** Stored and handed to the lifecycle, which found nothing to change (already there, out of order, …). */
  | "ignored"
  /** The notification id was already stored: a retry, a duplicate or a replay. Acknowledged, nothing applied. */
  | "duplicate"
  /** Refused before anything was stored (see {@link RejectionReason}). */
  | "rejected"
  /** The lifecycle asked for the notification again later: rolled back, the provider retries. */
  | "deferred"
  /** The database (or the lifecycle) failed: rolled back, answered so the provider retries. */
  | "error";

/** Every outcome, in a fixed order (for tallies and tests). */
export const NOTIFICATION_OUTCOMES: readonly NotificationOutcome[] = ["applied", "ignored", "duplicate", "rejected", "deferred", "error"];

/** How the replay window is applied. */
export interface ReplayWindowPolicy {
  /** How far a signed send time may be from our clock, either way, in milliseconds. */
  readonly replayWindowMs: number;
  /**
   * Whether this provider always signs a send time. Alipay (`notify_time`), WeChat
   * (`Wechatpay-Timestamp`), JD Pay and e-CNY (`X-Sandbox-Timestamp`) do, so a notification of
   * theirs without one is refused; UnionPay's back notification carries none (its signature is
   * deterministic and every retry is the same bytes), so only the id store protects it.
   */
  readonly sentAtRequired: boolean;
}

/** What the webhook layer does with one notification before touching the database. */
export type NotificationDecision =
  | { readonly kind: "reject"; readonly reason: RejectionReason; readonly message: string }
  | { readonly kind: "record"; readonly notification: VerifiedNotification };

/**
 * Decides whether a notification goes on to the id store and the lifecycle. An adapter error is a
 * rejection with the adapter's own code; a verified notification is then held against the replay
 * window. A notification within the window may still be a replay: the id store decides that, in
 * the same transaction that applies it.
 */
export function decideNotification(
  verified: Result<VerifiedNotification, NotificationError>,
  now: Date,
  policy: ReplayWindowPolicy,
): NotificationDecision {
  if (!verified.ok) return { kind: "reject", reason: verified.error.code, message: verified.error.message };
  const notification = verified.value;
  if (notification.notificationId === "") return { kind: "reject", reason: "malformed", message: "notification has an empty id" };
  const sentAt = notification.sentAt;
  if (sentAt === undefined) {
    return policy.sentAtRequired
      ? { kind: "reject", reason: "missing_sent_at", message: "notification carries no signed send time, and this provider always signs one" }
      : { kind: "record", notification };
  }
  const sentAtMs = sentAt.getTime();
  if (Number.isNaN(sentAtMs)) return { kind: "reject", reason: "missing_sent_at", message: "notification's send time is not a valid time" };
  const skewMs = now.getTime() - sentAtMs;
  if (Math.abs(skewMs) > policy.replayWindowMs) {
    const direction = skewMs > 0 ? "old" : "ahead of our clock";
    return {
      kind: "reject",
      reason: "stale",
      message: `notification sent at ${sentAt.toISOString()} is ${Math.round(Math.abs(skewMs) / 1000)} s ${direction}; the replay window is ${Math.round(policy.replayWindowMs / 1000)} s`,
    };
  }
  return { kind: "record", notification };
}

/** Providers whose notifications carry no signed send time (see {@link ReplayWindowPolicy.sentAtRequired}). */
export const PROVIDERS_WITHOUT_SENT_AT: ReadonlySet<ProviderId> = new Set<ProviderId>(["unionpay"]);

/** The replay window the issue names: five minutes, as WeChat's own timestamp check. */
export const DEFAULT_REPLAY_WINDOW_MS = 5 * 60_000;

/** Extra time a stored id is kept beyond what the window needs, for clocks that differ between instances. */
export const RETENTION_MARGIN_MS = 5 * 60_000;

/**
 * How long ids of a provider without a signed send time are kept: nothing but the store stops a
 * replay of theirs, so far longer than any retry schedule (UnionPay's ends after 31 minutes).
 */
export const DEFAULT_UNTIMED_RETENTION_MS = 30 * 24 * 60 * 60_000;

/**
 * How long a notification id must stay in the store. A notification is accepted while its send
 * time is within the window of our clock, either way; it was received within the window of its
 * send time, so a copy of it can pass the window check until twice the window after it was
 * received. Kept that long plus a margin, an id is never pruned while a replay of it could still
 * pass the window; providers without a signed send time keep theirs for `untimedRetentionMs`.
 */
export function retentionMs(provider: ProviderId, replayWindowMs: number, untimedRetentionMs: number = DEFAULT_UNTIMED_RETENTION_MS): number {
  return PROVIDERS_WITHOUT_SENT_AT.has(provider) ? untimedRetentionMs : 2 * replayWindowMs + RETENTION_MARGIN_MS;
}

/** The URL path of a provider's webhook endpoint: `/webhooks/<provider id>`. */
export function webhookPath(provider: ProviderId): string {
  return `/webhooks/${provider}`;
}

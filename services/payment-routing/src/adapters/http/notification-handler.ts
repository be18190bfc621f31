import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context as otelContext, propagation, trace, type Span, type Tracer } from "@opentelemetry/api";
import type { ProviderId } from "@tributary/contracts";
import { contextOfTraceParent, type Logger } from "@tributary/telemetry";
import type { Pool, PoolClient } from "pg";
import type { DeferredCapture, DeferredCaptures } from "../../app/apply-payment-report.js";
import type { NotificationAcknowledgement, ProviderAdapter, RawNotification, VerifiedNotification } from "../providers/provider-adapter.js";
import type { EffectOutcome, NotificationContext, NotificationEffects } from "./notification-effects.js";
import { beginAndRecordNotificationId, beginAndRecordPaymentNotificationIds, writeDeferredCaptures } from "./notification-store.js";
import { decideNotification, PROVIDERS_WITHOUT_SENT_AT, type NotificationOutcome } from "./webhook-decision.js";
import type { CountedNotification, WebhookMetrics } from "./webhook-metrics.js";

/** What handling one notification needs. */
export interface NotificationHandlerDeps {
  readonly adapters: ReadonlyMap<ProviderId, ProviderAdapter>;
  readonly pool: Pool;
  readonly effects: NotificationEffects;
  readonly clock: () => Date;
  readonly replayWindowMs: number;
  readonly logger: Logger;
  readonly metrics: WebhookMetrics;
  readonly tracer: Tracer;
  /**
   * Where payment notifications handled at the same time are committed together
   * ({@link createNotificationGroupCommit}); without it each has a transaction of its own.
   */
  readonly groupCommit?: NotificationGroupCommit;
}

/** The answer for the provider and what became of the notification. */
export interface HandledNotification {
  readonly reply: NotificationAcknowledgement;
  readonly outcome: NotificationOutcome;
}

/**
 * Handles one notification exactly as it arrived, whatever the transport: verify with the key we
 * hold, hold it against the replay window, then in ONE transaction store its id (`ON CONFLICT DO
 * NOTHING`) and — only when the id is new — apply it through the lifecycle. The provider is told
 * "accepted" only after the commit; a duplicate is acknowledged (so the provider stops) without
 * applying anything; a database failure gets a 5xx so the provider retries. Runs in one span,
 * joined to the caller's trace when the request carries a W3C `traceparent`.
 */
export async function handleNotification(deps: NotificationHandlerDeps, provider: ProviderId, raw: RawNotification): Promise<HandledNotification> {
  const adapter = deps.adapters.get(provider);
  if (adapter === undefined) throw new Error(`no adapter for ${provider}: the server registers routes only for the adapters it has`);
  const parent = propagation.extract(ROOT_CONTEXT, raw.headers);
  return deps.tracer.startActiveSpan(
    `POST /webhooks/${provider}`,
    { kind: SpanKind.SERVER, attributes: { "http.request.method": "POST", "http.route": `/webhooks/${provider}`, "tributary.provider": provider } },
    parent,
    async (span) => {
      try {
        const handled = await handleInSpan(deps, adapter, provider, raw, span);
        span.setAttribute("tributary.webhook.outcome", handled.outcome);
        span.setAttribute("http.response.status_code", handled.reply.status);
        if (handled.outcome === "error") span.setStatus({ code: SpanStatusCode.ERROR, message: "notification not applied: database or lifecycle failure" });
        return handled;
      } finally {
        span.end();
      }
    },
  );
}

async function handleInSpan(deps: NotificationHandlerDeps, adapter: ProviderAdapter, provider: ProviderId, raw: RawNotification, span: Span): Promise<HandledNotification> {
  const receivedAt = deps.clock();
  const decision = decideNotification(adapter.verifyNotification(raw), receivedAt, {
    replayWindowMs: deps.replayWindowMs,
    sentAtRequired: !PROVIDERS_WITHOUT_SENT_AT.has(provider),
  });
  if (decision.kind === "reject") {
    span.setAttribute("tributary.webhook.reason", decision.reason);
    // A verified notification in a status we do not know goes to review: louder than a forgery.
    const level = decision.reason === "unknown_provider_status" ? "error" : "warn";
    deps.logger[level]({ provider, reason: decision.reason, detail: decision.message }, "webhook notification rejected");
    return finish(deps, { provider, outcome: "rejected", reason: decision.reason }, adapter.acknowledgement(false));
  }
  const notification = decision.notification;
  const context: NotificationContext = { provider, notificationId: notification.notificationId, receivedAt };
  const paymentId = notification.report.paymentId;
  span.setAttributes({ "tributary.notification.id": notification.notificationId, "tributary.payment.id": paymentId, "tributary.notification.kind": notification.kind });
  let stored: StoredOutcome;
  try {
    stored =
      notification.kind === "payment" && deps.groupCommit !== undefined
        ? await deps.groupCommit.submit(deps, { notification, context, span })
        : await storeAndApply(deps, notification, context, span);
  } catch (error) {
    span.recordException(error instanceof Error ? error : new Error(String(error)));
    deps.logger.error({ provider, notificationId: notification.notificationId, paymentId, err: error }, "webhook notification not applied: rolled back, the provider will retry");
    return finish(deps, { provider, outcome: "error", reason: "database" }, retryReply(adapter));
  }
  const fields = { provider, notificationId: notification.notificationId, paymentId, kind: notification.kind };
  switch (stored.code) {
    case "duplicate":
      deps.logger.info(fields, "webhook notification already stored: a retry, duplicate or replay; acknowledged, nothing applied");
      return finish(deps, { provider, outcome: "duplicate" }, adapter.acknowledgement(true));
    case "applied":
      // The success path of every payment: debug, not one log line (a write) per payment at info;
      // the webhook metrics count it and the trace records it. Everything else stays louder.
      deps.logger.debug({ ...fields, detail: stored.detail }, "webhook notification applied");
      return finish(deps, { provider, outcome: "applied" }, adapter.acknowledgement(true));
    case "ignored":
      deps.logger.info({ ...fields, reason: stored.reason }, "webhook notification stored; the lifecycle had nothing to change");
      return finish(deps, { provider, outcome: "ignored" }, adapter.acknowledgement(true));
    case "retry_later":
      deps.logger.warn({ ...fields, reason: stored.reason }, "webhook notification deferred by the lifecycle: rolled back, the provider will retry");
      return finish(deps, { provider, outcome: "deferred", reason: "effects_retry_later" }, adapter.acknowledgement(false));
  }
}

type StoredOutcome = EffectOutcome | { readonly code: "duplicate" };

/** The one transaction: the id is stored and the report applied together, or neither. */
async function storeAndApply(deps: NotificationHandlerDeps, notification: VerifiedNotification, context: NotificationContext, span: Span): Promise<StoredOutcome> {
  const client: PoolClient = await deps.pool.connect();
  let broken: Error | undefined;
  try {
    const recorded = await beginAndRecordNotificationId(client, context.provider, notification.notificationId, notification.report.paymentId, context.receivedAt, {
      lockPayment: notification.kind === "payment",
    });
    if (!recorded.fresh) {
      await client.query("ROLLBACK");
      return { code: "duplicate" };
    }
    const applying: NotificationContext = recorded.payment === undefined ? context : { ...context, payment: recorded.payment };
    const outcome = await inPaymentTrace(deps.tracer, recorded.traceParent, span, `payment-routing apply ${notification.kind} notification`, () =>
      notification.kind === "payment" ? deps.effects.applyPayment(client, notification.report, applying) : deps.effects.applyRefund(client, notification.report, applying),
    );
    await client.query(outcome.code === "retry_later" ? "ROLLBACK" : "COMMIT");
    return outcome;
  } catch (error) {
    broken = error instanceof Error ? error : new Error(String(error));
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    // A client whose transaction failed is destroyed rather than returned half-way through one.
    client.release(broken);
  }
}

/** One payment notification waiting for its group, with its request's server span. */
interface GroupEntry {
  readonly notification: Extract<VerifiedNotification, { readonly kind: "payment" }>;
  readonly context: NotificationContext;
  readonly span: Span;
}

/**
 * Group commit of payment notifications: the ones that arrive while a group is being written go
 * into the next, so one transaction stores the ids of all of them, locks their payments, applies
 * each report and writes the plain captures in one UPDATE and one outbox append (five statements
 * for the group instead of five per notification). The first is written at once — no timer, no
 * wait when the service is quiet. Each notification keeps its own semantics: a duplicate id is a
 * duplicate, and each is acknowledged only after the group's COMMIT. A group whose transaction
 * fails (a lifecycle error, a deadlock) or in which any apply defers (`retry_later`) is rolled
 * back whole and each of its notifications is then handled alone, as without the group — so what
 * one notification gets (applied, deferred, a 503) never depends on the others it arrived with.
 */
export interface NotificationGroupCommit {
  /** Stores and applies one verified payment notification with whatever else is queued; settles after its transaction. */
  submit(deps: NotificationHandlerDeps, entry: GroupEntry): Promise<StoredOutcome>;
}

/** A group never holds more than this many notifications (a bound on one statement's size). */
const MAX_GROUP_SIZE = 64;

/** A {@link NotificationGroupCommit} of one webhook server: one group in flight at a time. */
export function createNotificationGroupCommit(): NotificationGroupCommit {
  let queued: Array<GroupEntry & { readonly resolve: (outcome: StoredOutcome) => void; readonly reject: (error: unknown) => void }> = [];
  let writing = false;
  const drain = async (deps: NotificationHandlerDeps): Promise<void> => {
    writing = true;
    try {
      while (queued.length > 0) {
        // At most one notification per payment and per id in a group: a second one waits for the
        // next group, where it sees the first one's effect (or its stored id) as it would alone.
        const group: typeof queued = [];
        const later: typeof queued = [];
        const payments = new Set<string>();
        const ids = new Set<string>();
        for (const entry of queued) {
          const id = `${entry.context.provider}\u0000${entry.notification.notificationId}`;
          const paymentId = entry.notification.report.paymentId;
          if (group.length >= MAX_GROUP_SIZE || payments.has(paymentId) || ids.has(id)) later.push(entry);
          else {
            group.push(entry);
            payments.add(paymentId);
            ids.add(id);
          }
        }
        queued = later;
        await runGroup(deps, group);
      }
    } finally {
      writing = false;
    }
  };
  return {
    submit: (deps, entry) =>
      new Promise<StoredOutcome>((resolve, reject) => {
        queued.push({ ...entry, resolve, reject });
        if (!writing) void drain(deps);
      }),
  };
}

/** Settles every entry of the group; never throws. */
async function runGroup(
  deps: NotificationHandlerDeps,
  group: ReadonlyArray<GroupEntry & { readonly resolve: (outcome: StoredOutcome) => void; readonly reject: (error: unknown) => void }>,
): Promise<void> {
  const alone = (entry: (typeof group)[number]): Promise<void> =>
    storeAndApply(deps, entry.notification, entry.context, entry.span).then(entry.resolve, entry.reject);
  if (group.length === 1) {
    await alone(group[0]!);
    return;
  }
  let outcomes: StoredOutcome[];
  try {
    outcomes = await storeAndApplyGroup(deps, group);
  } catch (error) {
    deps.logger.info(
      { notifications: group.length, reason: error instanceof GroupDeferred ? error.message : String(error) },
      "webhook group commit rolled back; each of its notifications is handled alone",
    );
    await Promise.all(group.map(alone));
    return;
  }
  group.forEach((entry, i) => entry.resolve(outcomes[i]!));
}

/** An apply of the group deferred its notification: the group rolls back and each goes alone. */
class GroupDeferred extends Error {}

/** The group's one transaction: every id stored and every report applied together, or none. */
async function storeAndApplyGroup(deps: NotificationHandlerDeps, group: readonly GroupEntry[]): Promise<StoredOutcome[]> {
  const client: PoolClient = await deps.pool.connect();
  let broken: Error | undefined;
  try {
    const recorded = await beginAndRecordPaymentNotificationIds(
      client,
      group.map((entry) => ({
        provider: entry.context.provider,
        notificationId: entry.notification.notificationId,
        paymentId: entry.notification.report.paymentId,
        receivedAt: entry.context.receivedAt,
      })),
    );
    const captures: DeferredCapture[] = [];
    const deferred: DeferredCaptures = {
      add: (capture) => void captures.push(capture),
      flush: (tx) => writeDeferredCaptures(tx, captures.splice(0)),
    };
    const outcomes: StoredOutcome[] = [];
    for (const [i, entry] of group.entries()) {
      const stored = recorded[i]!;
      if (!stored.fresh) {
        outcomes.push({ code: "duplicate" });
        continue;
      }
      const applying: NotificationContext = { ...entry.context, payment: { record: stored.payment?.record, deferred } };
      const outcome = await inPaymentTrace(deps.tracer, stored.traceParent, entry.span, "payment-routing apply payment notification", () =>
        deps.effects.applyPayment(client, entry.notification.report, applying),
      );
      if (outcome.code === "retry_later") throw new GroupDeferred(`notification ${entry.notification.notificationId} deferred: ${outcome.reason}`);
      outcomes.push(outcome);
    }
    await deferred.flush(client);
    await client.query("COMMIT");
    return outcomes;
  } catch (error) {
    // Rolled back whole; a connection that cannot even roll back is destroyed, never reused.
    await client.query("ROLLBACK").catch((rollbackError: unknown) => {
      broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    });
    throw error;
  } finally {
    client.release(broken);
  }
}

/**
 * Runs the apply in a span that continues the payment's trace (the attempt's stored traceparent),
 * linked to the notification's own server span, so the events it appends (PaymentCaptured, …)
 * carry the order's trace on to settlement. Without a stored traceparent it runs in the server
 * span. The server span is passed, not taken from the active context: in a group commit the apply
 * runs in whichever request started the group.
 */
async function inPaymentTrace<T>(tracer: Tracer, traceParent: string | undefined, serverSpan: Span, name: string, work: () => Promise<T>): Promise<T> {
  if (traceParent === undefined) return otelContext.with(trace.setSpan(otelContext.active(), serverSpan), work);
  const server = serverSpan.spanContext();
  return tracer.startActiveSpan(name, { kind: SpanKind.INTERNAL, links: [{ context: server }] }, contextOfTraceParent(traceParent), async (span) => {
    try {
      return await work();
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** The provider's "not accepted" answer as a 5xx: the notification was fine, we failed; retry it. */
function retryReply(adapter: ProviderAdapter): NotificationAcknowledgement {
  return { ...adapter.acknowledgement(false), status: 503 };
}

function finish(deps: NotificationHandlerDeps, counted: CountedNotification, reply: NotificationAcknowledgement): HandledNotification {
  deps.metrics.record(counted);
  return { reply, outcome: counted.outcome };
}

/** The tracer the webhook spans are made with, unless the caller hands one in. */
export function defaultWebhookTracer(): Tracer {
  return trace.getTracer("@tributary/payment-routing");
}

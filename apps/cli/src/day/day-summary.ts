import type pg from "pg";
import { PROVIDER_IDS, type ProviderId } from "@tributary/contracts";
import { PaymentRoutingService } from "@tributary/contracts/payment/v1/payment_routing_service";
import { closeClient, createClient } from "@tributary/grpc";
import { activeStepIndex, policyFromJsonText } from "@tributary/payment-routing";
import { formatDecimal, money } from "@tributary/money";
import type { InjectedDiscrepancy } from "./day-run.js";
import type { AnnouncedDiscrepancy, DayEvents } from "./day-watch.js";
import type { TrialOutcome } from "./wechat-trial.js";

/** A provider's day: from payment-routing's events and the reconciliation worker's run. */
export interface ProviderDay {
  readonly provider: ProviderId;
  /** Orders first routed to this rail (PaymentRouted). */
  readonly routed: number;
  /** PaymentCaptured count, gross and the fee the provider reported in the event. */
  readonly captured: number;
  readonly grossMinor: bigint;
  readonly paymentFailures: number;
  readonly reconciliation:
    | {
        readonly billRows: bigint;
        readonly ledgerRecords: bigint;
        readonly matched: bigint;
        readonly discrepancies: bigint;
        readonly billNetMinor: bigint;
        readonly ledgerNetMinor: bigint;
        /** `class/disposition` → items, from the run's recon_items rows. */
        readonly classes: Readonly<Record<string, number>>;
      }
    | undefined;
}

/** One settlement batch of the day, as its row stands after reconciliation. */
export interface BatchRow {
  readonly batchId: string;
  readonly merchantId: string;
  readonly provider: string;
  readonly status: string;
  readonly paymentCount: bigint;
  readonly grossMinor: bigint;
  readonly providerFeesMinor: bigint;
  readonly platformFeesMinor: bigint;
  readonly netMinor: bigint;
  readonly payableMinor: bigint;
  readonly discrepancyCount: bigint | undefined;
  /** Why it is held: the discrepancies settlement attached to it (class: provider transaction id). */
  readonly heldFor: readonly string[];
}

/** Everything `day run` prints and writes; numbers from events and rows only. */
export interface DaySummary {
  readonly runId: string;
  readonly billDate: string;
  /** The instant the day was closed as of (its cut-off). */
  readonly closedAsOf: string;
  readonly orders: { readonly published: number; readonly accepted: number; readonly rejected: number; readonly paid: number; readonly paymentFailed: number };
  readonly failureReasons: Readonly<Record<string, number>>;
  /** Routing rule of each order's first route (PaymentRouted) → orders. */
  readonly routingRules: Readonly<Record<string, number>>;
  /** Each roll-out of the routing policy at the end of the day, from payment-routing's API: its step, share and whether the guardrail paused it. */
  readonly rollouts: readonly RolloutState[];
  /** The day's WeChat Pay trial: what each ramp step admitted and the guardrail's verdict (added by the day run). */
  readonly trial?: TrialOutcome;
  readonly providers: readonly ProviderDay[];
  readonly batches: readonly BatchRow[];
  readonly totals: { readonly grossMinor: bigint; readonly providerFeesMinor: bigint; readonly platformFeesMinor: bigint; readonly netMinor: bigint; readonly payableMinor: bigint };
  /** Sum of every ledger posting per currency (must be 0). */
  readonly ledgerSumByCurrency: Readonly<Record<string, bigint>>;
  readonly injected: readonly InjectedDiscrepancy[];
  readonly discrepancies: readonly AnnouncedDiscrepancy[];
  readonly dayMs: number;
  readonly totalMs: number;
  readonly reports: readonly string[];
}

/** A roll-out as payment-routing's policy has it at the end of the day. */
export interface RolloutState {
  readonly rolloutId: string;
  readonly provider: string;
  /** "2/4", or "not started". */
  readonly step: string;
  readonly sharePercent: number;
  readonly trial: boolean;
  /** Who paused it and why (the guardrail, or a person), or undefined when it runs. */
  readonly paused: string | undefined;
}

/** What {@link summariseDay} reads. */
export interface SummaryInputs {
  readonly runId: string;
  readonly billDate: string;
  readonly cutoff: Date;
  readonly published: number;
  readonly events: DayEvents;
  readonly injected: readonly InjectedDiscrepancy[];
  readonly settlementDb: pg.Pool;
  readonly reconciliationDb: pg.Pool;
  readonly paymentRoutingAddress: string;
  readonly operatorToken: string;
  readonly dayMs: number;
  readonly totalMs: number;
}

/** Counts the day from the watched events, settlement's batch rows and reconciliation's items. */
export async function summariseDay(inputs: SummaryInputs): Promise<DaySummary> {
  const { events } = inputs;
  const failureReasons: Record<string, number> = {};
  for (const reason of events.failed.values()) failureReasons[reason === "" ? "(none given)" : reason] = (failureReasons[reason === "" ? "(none given)" : reason] ?? 0) + 1;

  const routingRules: Record<string, number> = {};
  for (const route of events.routed.values()) routingRules[route.rule] = (routingRules[route.rule] ?? 0) + 1;
  const rollouts = await rolloutsOf(inputs.paymentRoutingAddress, inputs.operatorToken);

  const itemRows = await inputs.reconciliationDb.query<{ provider: string; match_class: string; disposition: string; n: string }>(
    `SELECT r.provider, i.match_class, i.disposition, count(*) AS n
       FROM recon_items i JOIN recon_runs r ON r.run_id = i.run_id
      WHERE r.bill_date = $1 AND r.status = 'completed'
      GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
    [inputs.billDate],
  );
  const providers: ProviderDay[] = PROVIDER_IDS.map((provider) => {
    const captures = [...events.captured.values()].filter((payment) => payment.provider === provider);
    const run = events.reconciliations.get(provider);
    const classes: Record<string, number> = {};
    for (const row of itemRows.rows) if (row.provider === provider) classes[`${row.match_class}/${row.disposition}`] = Number(row.n);
    return {
      provider,
      routed: [...events.routed.values()].filter((route) => route.provider === provider).length,
      captured: captures.length,
      grossMinor: captures.reduce((sum, payment) => sum + payment.amountMinor, 0n),
      paymentFailures: [...events.paymentFailures.values()].filter((failure) => failure.provider === provider).length,
      reconciliation:
        run === undefined
          ? undefined
          : {
              billRows: run.billRowCount,
              ledgerRecords: run.ledgerRecordCount,
              matched: run.matchedCount,
              discrepancies: run.discrepancyCount,
              billNetMinor: run.billNetMinor,
              ledgerNetMinor: run.ledgerNetMinor,
              classes,
            },
    };
  });

  const batchRows = await inputs.settlementDb.query<{
    batch_id: string; merchant_id: string; provider: string; status: string; payment_count: string; gross_minor: string; provider_fees_minor: string;
    platform_fees_minor: string; net_minor: string; payable_minor: string; discrepancy_count: string | null;
  }>(
    `SELECT batch_id, merchant_id, provider::text AS provider, status::text AS status, payment_count, gross_minor, provider_fees_minor,
            platform_fees_minor, net_minor, payable_minor, discrepancy_count
       FROM settlement_batch WHERE business_date = $1 ORDER BY provider, merchant_id`,
    [inputs.billDate],
  );
  const heldRows = await inputs.settlementDb.query<{ provider: string; merchant_id: string | null; discrepancy_class: string; provider_transaction_id: string }>(
    `SELECT provider::text AS provider, merchant_id, discrepancy_class, provider_transaction_id FROM reconciliation_discrepancy WHERE business_date = $1 ORDER BY received_at`,
    [inputs.billDate],
  );
  const batches: BatchRow[] = batchRows.rows.map((row) => ({
    batchId: row.batch_id,
    merchantId: row.merchant_id,
    provider: row.provider,
    status: row.status,
    paymentCount: BigInt(row.payment_count),
    grossMinor: BigInt(row.gross_minor),
    providerFeesMinor: BigInt(row.provider_fees_minor),
    platformFeesMinor: BigInt(row.platform_fees_minor),
    netMinor: BigInt(row.net_minor),
    payableMinor: BigInt(row.payable_minor),
    discrepancyCount: row.discrepancy_count === null ? undefined : BigInt(row.discrepancy_count),
    heldFor:
      row.status === "held"
        ? heldRows.rows
            .filter((d) => d.provider === row.provider && (d.merchant_id === row.merchant_id || d.merchant_id === null))
            .map((d) => `${d.discrepancy_class}: ${d.provider_transaction_id === "" ? "(no provider id)" : d.provider_transaction_id}${d.merchant_id === null ? " (no record of ours: holds the whole day)" : ""}`)
        : [],
  }));
  const sum = (pick: (batch: BatchRow) => bigint): bigint => batches.reduce((total, batch) => total + pick(batch), 0n);
  const ledger = await inputs.settlementDb.query<{ currency: string; total: string }>("SELECT currency, sum(amount_minor) AS total FROM ledger_posting GROUP BY currency ORDER BY currency");

  return {
    runId: inputs.runId,
    billDate: inputs.billDate,
    closedAsOf: inputs.cutoff.toISOString(),
    orders: {
      published: inputs.published,
      accepted: events.accepted.size,
      rejected: events.rejected.size,
      paid: events.paid.size,
      paymentFailed: events.failed.size,
    },
    failureReasons,
    routingRules,
    rollouts,
    providers,
    batches,
    totals: {
      grossMinor: sum((b) => b.grossMinor),
      providerFeesMinor: sum((b) => b.providerFeesMinor),
      platformFeesMinor: sum((b) => b.platformFeesMinor),
      netMinor: sum((b) => b.netMinor),
      payableMinor: sum((b) => b.payableMinor),
    },
    ledgerSumByCurrency: Object.fromEntries(ledger.rows.map((row) => [row.currency.trim(), BigInt(row.total)])),
    injected: inputs.injected,
    discrepancies: [...events.discrepancies],
    dayMs: inputs.dayMs,
    totalMs: inputs.totalMs,
    reports: [],
  };
}

/** The policy's roll-outs as payment-routing serves them now (GetRoutingPolicy). */
async function rolloutsOf(address: string, token: string): Promise<RolloutState[]> {
  const client = createClient(PaymentRoutingService, address, { bearerToken: token, defaultDeadlineMs: 10_000 });
  try {
    const version = (await client.getRoutingPolicy({})).policy;
    if (version === undefined) throw new Error("payment-routing answered GetRoutingPolicy without a policy");
    const decoded = policyFromJsonText(version.policyJson);
    if (!decoded.ok) throw new Error(`the routing policy does not decode: ${decoded.error.message}`);
    const now = new Date();
    return decoded.value.rollouts.map((rollout) => {
      const index = activeStepIndex(rollout, now);
      const active = index < 0 ? undefined : rollout.ramp[index];
      return {
        rolloutId: rollout.rolloutId,
        provider: rollout.provider,
        step: active === undefined ? "not started" : `${index + 1}/${rollout.ramp.length}`,
        sharePercent: active?.percent ?? 0,
        trial: rollout.trial,
        paused: rollout.pause === undefined ? undefined : `${rollout.pause.by} at ${rollout.pause.pausedAt.toISOString()}: ${rollout.pause.reason}`,
      };
    });
  } finally {
    closeClient(client);
  }
}

/** Minor units of CNY as exact decimal text. */
export function yuan(amountMinor: bigint): string {
  return formatDecimal(money(amountMinor, "CNY"));
}

/** The summary as plain JSON (amounts as exact decimal strings, counts as numbers). */
export function summaryJson(summary: DaySummary): unknown {
  return JSON.parse(
    JSON.stringify(summary, (key, value: unknown) => {
      if (typeof value !== "bigint") return value;
      return key.endsWith("Minor") ? yuan(value) : Number(value);
    }),
  ) as unknown;
}

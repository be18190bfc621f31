import parsePrometheusTextFormat, { type PrometheusFamily } from "parse-prometheus-text-format";

/**
 * The metric names `tributary stack status` reads, as the services export them on `/metrics`
 * (OpenTelemetry's Prometheus exporter: dots become underscores, counters end in `_total`). Each
 * is made in the code named beside it; nothing here is a metric of the CLI's own.
 */
export const KEY_METRICS = {
  /** payment-routing `payment_routing.payments` {provider, outcome, reason}: payment lifecycle changes. */
  payments: "payment_routing_payments_total",
  /** payment-routing `payment_routing.provider_calls` {provider, call, outcome}: calls to a provider's API. */
  providerCalls: "payment_routing_provider_calls_total",
  /** payment-routing `tributary.webhook.notifications` {provider, outcome, reason}. */
  webhookNotifications: "tributary_webhook_notifications_total",
  /** service kit `tributary.outbox.unpublished` {state = pending | quarantined}. */
  outboxUnpublished: "tributary_outbox_unpublished",
  /** service kit `tributary.outbox.oldest_unpublished.age` (s). */
  outboxOldestAge: "tributary_outbox_oldest_unpublished_age",
  /** service kit `tributary.consumer.lag` {group, topic, partition}. */
  consumerLag: "tributary_consumer_lag",
  /** service kit `tributary.consumer.parked_keys` {group, topic}. */
  parkedKeys: "tributary_consumer_parked_keys",
  /** @tributary/events `tributary.messaging.dead_lettered.messages` {topic, group}. */
  deadLettered: "tributary_messaging_dead_lettered_messages_total",
  /** service kit `tributary.metrics.read.age` {part, group}: how stale the kit's gauges are. */
  readAge: "tributary_metrics_read_age",
  /** settlement `settlement.ledger.imbalance` {currency}: the sum of every posting, in minor units; must be 0. */
  ledgerImbalance: "settlement_ledger_imbalance",
  /** settlement `settlement.ledger.imbalance.read.age` (s): how stale that sum is. */
  ledgerImbalanceReadAge: "settlement_ledger_imbalance_read_age",
  /** reconciliation `reconciliation.items` {provider, class}: items of completed runs by match class. */
  reconciliationItems: "reconciliation_items_total",
} as const;

/**
 * What the issue asks `stack status` to show that no service exports as a metric today; the
 * status reads it from elsewhere (and says from where).
 */
export const NOT_EXPORTED: readonly string[] = [];

/** The gauges every service kit process exports; one missing from a scrape is reported. */
const KIT_GAUGES = [KEY_METRICS.outboxUnpublished, KEY_METRICS.outboxOldestAge, KEY_METRICS.readAge] as const;

const GROUP = "messaging_consumer_group_name";
const TOPIC = "messaging_destination_name";

/** One service's `/metrics` text as scraped, or why it could not be. */
export type Scrape = { readonly service: string; readonly text: string } | { readonly service: string; readonly error: string };

/** The key metrics of the stack, summed over partitions, per service. */
export interface KeyMetricsReport {
  readonly payments: readonly { readonly provider: string; readonly outcome: string; readonly reason: string; readonly count: number }[];
  /** settlement's sum of every posting per currency (minor units, must be 0) and how old that reading is. */
  readonly ledgerImbalance: readonly { readonly currency: string; readonly imbalanceMinor: number; readonly readAgeS: number | undefined }[];
  readonly providerCalls: readonly { readonly provider: string; readonly call: string; readonly outcome: string; readonly count: number }[];
  /** Items of the reconciliation runs each worker completed since it started, by class. */
  readonly reconciliationItems: readonly { readonly provider: string; readonly matchClass: string; readonly count: number }[];
  readonly webhookNotifications: readonly { readonly provider: string; readonly outcome: string; readonly reason: string; readonly count: number }[];
  readonly outbox: readonly { readonly service: string; readonly pending: number; readonly quarantined: number; readonly oldestPendingAgeS: number }[];
  readonly consumerLag: readonly { readonly service: string; readonly group: string; readonly topic: string; readonly lag: number }[];
  readonly parkedKeys: readonly { readonly service: string; readonly group: string; readonly topic: string; readonly keys: number }[];
  /** Counted since each process started; a service that dead-lettered nothing has no series yet. */
  readonly deadLettered: readonly { readonly service: string; readonly group: string; readonly topic: string; readonly count: number }[];
  /** The oldest read behind a service's kit gauges, in seconds (growing past a few poll intervals: stale). */
  readonly readAgeMaxS: readonly { readonly service: string; readonly seconds: number }[];
  /** Scrapes that failed, and kit gauges a scrape lacked. */
  readonly problems: readonly string[];
  readonly notExported: readonly string[];
}

/** Reads the key metrics out of each service's scrape; pure (the scraping is {@link scrapeMetrics}). */
export function summariseMetrics(scrapes: readonly Scrape[]): KeyMetricsReport {
  const report = {
    payments: [] as { provider: string; outcome: string; reason: string; count: number }[],
    ledgerImbalance: [] as { currency: string; imbalanceMinor: number; readAgeS: number | undefined }[],
    providerCalls: [] as { provider: string; call: string; outcome: string; count: number }[],
    reconciliationItems: [] as { provider: string; matchClass: string; count: number }[],
    webhookNotifications: [] as { provider: string; outcome: string; reason: string; count: number }[],
    outbox: [] as { service: string; pending: number; quarantined: number; oldestPendingAgeS: number }[],
    consumerLag: [] as { service: string; group: string; topic: string; lag: number }[],
    parkedKeys: [] as { service: string; group: string; topic: string; keys: number }[],
    deadLettered: [] as { service: string; group: string; topic: string; count: number }[],
    readAgeMaxS: [] as { service: string; seconds: number }[],
    problems: [] as string[],
    notExported: [...NOT_EXPORTED],
  };
  for (const scrape of scrapes) {
    if ("error" in scrape) {
      report.problems.push(`${scrape.service}: /metrics not read: ${scrape.error}`);
      continue;
    }
    let families: PrometheusFamily[];
    try {
      families = parsePrometheusTextFormat(scrape.text);
    } catch (error) {
      report.problems.push(`${scrape.service}: /metrics does not parse: ${error instanceof Error ? error.message : String(error)}`);
      continue;
    }
    const byName = new Map(families.map((family) => [family.name, family]));
    const samples = (name: string) => (byName.get(name)?.metrics ?? []).map((sample) => ({ labels: sample.labels ?? {}, value: Number(sample.value) }));
    for (const name of KIT_GAUGES) if (!byName.has(name)) report.problems.push(`${scrape.service}: no ${name} on /metrics`);
    const { service } = scrape;

    for (const { labels, value } of samples(KEY_METRICS.payments)) {
      report.payments.push({ provider: labels["provider"] ?? "", outcome: labels["outcome"] ?? "", reason: labels["reason"] ?? "", count: value });
    }
    const imbalanceReadAgeS = samples(KEY_METRICS.ledgerImbalanceReadAge)[0]?.value;
    for (const { labels, value } of samples(KEY_METRICS.ledgerImbalance)) {
      report.ledgerImbalance.push({ currency: labels["currency"] ?? "", imbalanceMinor: value, readAgeS: imbalanceReadAgeS });
    }
    for (const { labels, value } of samples(KEY_METRICS.providerCalls)) {
      report.providerCalls.push({ provider: labels["provider"] ?? "", call: labels["call"] ?? "", outcome: labels["outcome"] ?? "", count: value });
    }
    for (const { labels, value } of samples(KEY_METRICS.reconciliationItems)) {
      report.reconciliationItems.push({ provider: labels["provider"] ?? "", matchClass: labels["class"] ?? "", count: value });
    }
    for (const { labels, value } of samples(KEY_METRICS.webhookNotifications)) {
      report.webhookNotifications.push({ provider: labels["tributary_provider"] ?? "", outcome: labels["tributary_webhook_outcome"] ?? "", reason: labels["tributary_webhook_reason"] ?? "", count: value });
    }
    const unpublished = samples(KEY_METRICS.outboxUnpublished);
    if (unpublished.length > 0) {
      const state = (name: string) => unpublished.filter((sample) => sample.labels["state"] === name).reduce((sum, sample) => sum + sample.value, 0);
      const age = samples(KEY_METRICS.outboxOldestAge)[0]?.value ?? 0;
      report.outbox.push({ service, pending: state("pending"), quarantined: state("quarantined"), oldestPendingAgeS: age });
    }
    report.consumerLag.push(...sumBy(samples(KEY_METRICS.consumerLag)).map(({ group, topic, total }) => ({ service, group, topic, lag: total })));
    report.parkedKeys.push(...sumBy(samples(KEY_METRICS.parkedKeys)).map(({ group, topic, total }) => ({ service, group, topic, keys: total })));
    report.deadLettered.push(...sumBy(samples(KEY_METRICS.deadLettered)).map(({ group, topic, total }) => ({ service, group, topic, count: total })));
    const ages = samples(KEY_METRICS.readAge).map((sample) => sample.value);
    if (ages.length > 0) report.readAgeMaxS.push({ service, seconds: Math.max(...ages) });
  }
  return report;
}

/** Samples summed per consumer group and topic (the partitions of a group's lag add up), in first-seen order. */
function sumBy(samples: readonly { readonly labels: Readonly<Record<string, string>>; readonly value: number }[]): { group: string; topic: string; total: number }[] {
  const totals = new Map<string, { group: string; topic: string; total: number }>();
  for (const { labels, value } of samples) {
    const group = labels[GROUP] ?? "";
    const topic = labels[TOPIC] ?? "";
    const key = `${group}\u0000${topic}`;
    const entry = totals.get(key) ?? { group, topic, total: 0 };
    entry.total += value;
    totals.set(key, entry);
  }
  return [...totals.values()];
}

/** Scrapes every service's `/metrics` on its health address, side by side, each within `timeoutMs`. */
export async function scrapeMetrics(services: readonly { readonly name: string; readonly healthAddress: string }[], timeoutMs = 3_000): Promise<Scrape[]> {
  return Promise.all(
    services.map(async (service): Promise<Scrape> => {
      try {
        const response = await fetch(`http://${service.healthAddress}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
        const text = await response.text();
        if (response.status !== 200) return { service: service.name, error: `HTTP ${response.status}: ${text.slice(0, 200).trim()}` };
        return { service: service.name, text };
      } catch (error) {
        return { service: service.name, error: error instanceof Error ? error.message : String(error) };
      }
    }),
  );
}

import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { basename, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { providerIdFromProto, statementsTopic, type ProviderId } from "@tributary/contracts";
import { NonRetryableError, requireFields, startIdempotentConsumer, type IdempotentConsumer } from "@tributary/events";
import type { Logger } from "@tributary/telemetry";
import type { Kafka } from "kafkajs";
import type { Pool } from "pg";
import type { ReconDeps } from "../../app/ports.js";
import { reconcileBill } from "../../app/reconcile-bill.js";
import type { ReconciliationMetrics } from "../../reconciliation-metrics.js";
import { describeRejection } from "../../domain/bill.js";
import type { BillSource, FetchedBill } from "../../providers/bill-source.js";

/** The consumer group of one provider's worker: each provider's workers scale on their own. */
export function statementsGroupId(provider: ProviderId): string {
  return `reconciliation-${provider}`;
}

/**
 * A bill named by `location` as a local file (`file:` URL or absolute path), checked against the
 * event's digest (SHA1 or SHA256) when it states one. Only files under `root` are read: an event
 * must not make the worker read any file it can reach.
 */
async function readLocalBill(location: string, algorithm: string, digest: string, root: string | undefined): Promise<FetchedBill> {
  if (root === undefined) throw new NonRetryableError(`location ${location} is a local file, and this worker reads no local bills (localBillRoot is not set)`);
  const path = resolve(location.startsWith("file:") ? fileURLToPath(location) : location);
  const base = resolve(root);
  if (!path.startsWith(base.endsWith(sep) ? base : `${base}${sep}`)) throw new NonRetryableError(`location ${location} is outside ${base}`);
  const bytes = await readFile(path);
  if (digest !== "") {
    const name = algorithm.toLowerCase().replace("-", "");
    if (name !== "sha1" && name !== "sha256") throw new NonRetryableError(`digest_algorithm ${JSON.stringify(algorithm)} is not SHA1 or SHA256`);
    const actual = createHash(name).update(bytes).digest("hex");
    if (actual !== digest.toLowerCase()) throw new NonRetryableError(`${path}: ${algorithm} ${actual}, the event says ${digest}`);
  }
  return { fileName: basename(path), bytes, providerDigest: digest === "" ? undefined : { algorithm: algorithm.toUpperCase(), hex: digest.toLowerCase() } };
}

/**
 * One provider's worker on `statements.v1`: a `StatementAvailable` for another provider is not
 * ours and is skipped; ours is fetched — through the provider's signed download API, or from the
 * local file its `location` names under `localBillRoot` (digest checked) — and reconciled in the inbox's transaction,
 * so a redelivered event changes nothing. A bill not yet ready or a failed download is retried
 * (then dead-lettered); a malformed bill is recorded as a rejected run, logged, and not retried.
 */
export function startStatementsConsumer(options: {
  readonly kafka: Kafka;
  readonly pool: Pool;
  readonly provider: ProviderId;
  readonly source: BillSource;
  readonly deps: ReconDeps;
  readonly logger?: Logger;
  readonly groupId?: string;
  /** The folder local bill locations must lie in; none (the default) refuses local locations. */
  readonly localBillRoot?: string;
  readonly metrics?: ReconciliationMetrics;
}): Promise<IdempotentConsumer> {
  return startIdempotentConsumer({
    kafka: options.kafka,
    pool: options.pool,
    groupId: options.groupId ?? statementsGroupId(options.provider),
    topic: statementsTopic,
    chunkSize: 1,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    handle: async (event, tx) => {
      const message = event.message;
      const missing = requireFields(message, ["provider", "billDate"]);
      if (missing !== undefined) throw missing;
      const provider = providerIdFromProto(message.provider);
      if (provider === undefined) throw new NonRetryableError(`provider ${String(message.provider)} is unknown`);
      if (provider !== options.provider) return;
      if (!/^\d{4}-\d{2}-\d{2}$/.test(message.billDate)) throw new NonRetryableError(`bill_date ${JSON.stringify(message.billDate)} is not YYYY-MM-DD`);
      const local = message.location !== "" && (message.location.startsWith("file:") || message.location.startsWith("/"));
      let bill: FetchedBill;
      if (local) {
        bill = await readLocalBill(message.location, message.digestAlgorithm, message.digest, options.localBillRoot);
      } else {
        const fetched = await options.source.fetch(message.billDate);
        if (!fetched.ok) {
          if (fetched.error.retryable) throw new Error(`${fetched.error.code}: ${fetched.error.message}`);
          throw new NonRetryableError(`${fetched.error.code}: ${fetched.error.message}`);
        }
        bill = fetched.value;
      }
      const outcome = await reconcileBill(options.deps, tx, { provider, billDate: message.billDate, bill });
      options.metrics?.recordRun(provider, outcome);
      if (outcome.kind === "rejected") {
        options.logger?.warn({ provider, billDate: message.billDate, runId: outcome.runId }, `reconciliation: bill rejected: ${describeRejection(outcome.rejection)}`);
      }
    },
  });
}

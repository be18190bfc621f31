/**
 * `npm run bench -- ledger`: the settlement ledger's write path against raw `pg` INSERTs of the
 * same rows, in the same run, on the same Postgres, with the same transaction sizes and writers.
 * - baseline: per transaction, one multi-row INSERT (`unnest` of column arrays) into
 *   `journal_entry` and one into `ledger_posting` of rows computed beforehand (the same columns our path writes; the schema's
 *   triggers — posting admission, commit-time balance check — run for both sides, they are the
 *   ledger's guarantees, not our path's overhead).
 * - subject: `applyPaymentEvents` — what the `payments.v1` consumer's handleBatch runs — on decoded
 *   `PaymentCaptured` events: validation, fee schedules, entry building, account upserts, the two
 *   multi-row INSERTs, commit. The Kafka fetch and inbox are not in this bench (bench/consume.ts
 *   measures the consumer); this isolates the ledger.
 * - hot vs spread: the subject with every capture of one merchant on one provider (every posting
 *   on the same 4 accounts) against captures spread over 1,000 merchants and 5 providers
 *   (≈1,011 accounts), same writers. Goal ≥ 0.8: hot accounts do not serialise writers.
 * BENCH_WRITERS (4) concurrent connections each commit transactions of BENCH_TX_EVENTS (500)
 * captures; BENCH_ROUND_EVENTS (20,000) per round; BENCH_ROUNDS (5) alternating rounds. Rates are
 * postings per second. Then the detail CSV of BENCH_EXPORT_ROWS (1,000,000) lines, streamed by a
 * child process: rows per second and its peak RSS (goal ≤ 256 MB). Last stdout line:
 * `{"bench":"ledger","ratio":…,"subject":{"hotAccountRatio":…,"exportPeakRssMb":…,…},"baseline":{…}}`.
 */
import { fileURLToPath } from "node:url";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { paymentsTopic, type TopicMessage } from "@tributary/contracts";
import { Provider } from "@tributary/contracts/common/v1/provider";
import { PaymentCapturedSchema } from "@tributary/contracts/payment/v1/payment_events";
import type { ConsumedEvent } from "@tributary/events";
import { newEventId } from "@tributary/events";
import { databaseUrl, dropDatabase, ensureDatabase, findServiceDatabases, migrateServiceDatabase } from "@tributary/local-postgres";
import { applyPaymentEvents, captureEntry, DEFAULT_FEE_TERMS, accountIdOf, ensurePlatformAccounts, type Capture } from "@tributary/settlement";
import { postgres as testPostgres } from "@tributary/testkit";
import { money } from "@tributary/money";
import pg from "pg";
import { describeSpread, log, pairedRatios, roundCount, spreadOf } from "./_rounds.js";

const writers = Number.parseInt(process.env["BENCH_WRITERS"] ?? "4", 10);
const txEvents = Number.parseInt(process.env["BENCH_TX_EVENTS"] ?? "500", 10);
const roundEvents = Number.parseInt(process.env["BENCH_ROUND_EVENTS"] ?? "20000", 10);
const repoRoot = fileURLToPath(new URL("..", import.meta.url));
const deps = { terms: DEFAULT_FEE_TERMS, newId: () => newEventId(), clock: () => new Date() };
const providers = [Provider.ALIPAY, Provider.WECHAT_PAY, Provider.UNIONPAY, Provider.JD_PAY, Provider.ECNY] as const;
const providerIds = ["alipay", "wechat_pay", "unionpay", "jd_pay", "ecny"] as const;

const server = await testPostgres();
const database = `tributary_settlement_bench_test_${process.pid}`;
await dropDatabase(server.serverUrl, database);
await ensureDatabase(server.serverUrl, database);
const url = databaseUrl(server.serverUrl, database);
const service = (await findServiceDatabases(repoRoot)).find((s) => s.packageName === "@tributary/settlement");
if (service === undefined) throw new Error("the settlement service declares no database");
await migrateServiceDatabase(url, service);
const pool = new pg.Pool({ connectionString: url, max: writers + 1 });
pool.on("error", () => undefined);
await ensurePlatformAccounts(pool, ["CNY"]);

type Spread = "hot" | "spread";
let serial = 0;

function shape(i: number, spread: Spread): { merchantId: string; provider: number } {
  return spread === "hot" ? { merchantId: "m-hot", provider: 1 } : { merchantId: `m-${i % 1000}`, provider: i % 5 };
}

function events(count: number, spread: Spread): ConsumedEvent<typeof paymentsTopic>[] {
  const capturedAt = timestampFromDate(new Date());
  return Array.from({ length: count }, (_, i) => {
    serial += 1;
    const { merchantId, provider } = shape(i, spread);
    const message = create(PaymentCapturedSchema, {
      paymentId: `pay-${serial}-${newEventId()}`,
      orderId: `order-${serial}`,
      merchantId,
      provider: providers[provider]!,
      providerTransactionId: `tx-${serial}`,
      amount: { currency: "CNY", amountMinor: 1000n + BigInt(i % 100_000) },
      capturedAt,
    }) as TopicMessage<typeof paymentsTopic>;
    return { eventId: newEventId(), eventType: PaymentCapturedSchema.typeName, key: `order-${serial}`, topic: paymentsTopic.name, partition: 0, offset: String(serial), occurredAt: new Date(), producer: "bench", headers: {}, message };
  });
}

/** Runs `chunks` on `writers` connections, one transaction per chunk; returns elapsed ms. */
async function run<T>(chunks: T[][], work: (tx: pg.PoolClient, chunk: T[]) => Promise<void>): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      const client = await pool.connect();
      try {
        for (;;) {
          const chunk = chunks[next];
          next += 1;
          if (chunk === undefined) return;
          await client.query("BEGIN");
          await work(client, chunk);
          await client.query("COMMIT");
        }
      } finally {
        client.release();
      }
    }),
  );
  return performance.now() - start;
}

function chunked<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += txEvents) out.push(items.slice(i, i + txEvents));
  return out;
}

const entryColumns = [
  "entry_id", "source_key", "source_event_id", "entry_type", "phase", "payment_id", "order_id", "merchant_id", "provider", "provider_reference",
  "currency", "amount_minor", "provider_fee_minor", "platform_fee_minor", "fee_rate_ppm", "provider_fee_rounding", "platform_fee_rounding",
  "merchant_bears_provider_fee", "business_date", "booked_at", "posting_count", "memo",
];

interface RawRows {
  readonly entries: unknown[][];
  readonly postings: unknown[][];
}

function rawRows(count: number, spread: Spread): RawRows[] {
  const captures: Capture[] = Array.from({ length: count }, (_, i) => {
    serial += 1;
    const { merchantId, provider } = shape(i, spread);
    return { eventId: newEventId(), paymentId: `pay-${serial}-${newEventId()}`, orderId: `order-${serial}`, merchantId, provider: providerIds[provider]!, providerTransactionId: `tx-${serial}`, amount: money(1000n + BigInt(i % 100_000), "CNY"), reportedFee: undefined, capturedAt: new Date() };
  });
  return chunked(captures).map((chunk) => {
    const drafts = chunk.map((c) => captureEntry(c, DEFAULT_FEE_TERMS, newEventId()));
    return {
      entries: drafts.map((e) => [
        e.entryId, e.sourceKey, e.sourceEventId, "payment_captured", "posted", e.paymentId, e.orderId, e.merchantId, e.provider, e.providerReference,
        e.currency, e.amountMinor.toString(), e.providerFeeMinor.toString(), e.platformFeeMinor.toString(), e.feeRatePpm?.toString(), e.providerFeeRounding, e.platformFeeRounding,
        e.merchantBearsProviderFee, e.businessDate, e.bookedAt.toISOString(), e.postings.length, e.memo,
      ]),
      postings: drafts.flatMap((e) => e.postings.map((p, i) => [e.entryId, i + 1, accountIdOf(p.account), p.account.currency, p.amountMinor.toString(), p.lineType])),
    };
  });
}

/**
 * A raw multi-row INSERT: one array parameter per column through `unnest`, the fastest multi-row
 * form for `pg` (a `VALUES` list of 13,000 scalar parameters was measured ~25 % slower than this).
 */
function unnestSql(table: string, columns: readonly { name: string; type: string }[], rows: readonly unknown[][]): { text: string; values: unknown[] } {
  const values = columns.map((_, i) => rows.map((row) => row[i] ?? null));
  const casts = columns.map((c, i) => `$${i + 1}::${c.type}[]`).join(", ");
  return { text: `INSERT INTO ${table} (${columns.map((c) => c.name).join(", ")}) SELECT * FROM unnest(${casts})`, values };
}

const entryTypes = [
  "uuid", "text", "text", "entry_type", "entry_phase", "text", "text", "text", "payment_provider", "text",
  "char(3)", "bigint", "bigint", "bigint", "bigint", "text", "text", "boolean", "date", "timestamptz", "integer", "text",
];
const entryColumnTypes = entryColumns.map((name, i) => ({ name, type: entryTypes[i]! }));
const postingColumnTypes = [
  { name: "entry_id", type: "uuid" }, { name: "line_no", type: "integer" }, { name: "account_id", type: "text" },
  { name: "currency", type: "char(3)" }, { name: "amount_minor", type: "bigint" }, { name: "line_type", type: "text" },
];

async function baselineRound(): Promise<number> {
  // The raw side needs the accounts our path creates on the fly; make them first, outside the clock.
  await applyPaymentEventsOnce(events(1000, "spread"));
  const chunks = rawRows(roundEvents, "spread");
  const postings = chunks.reduce((n, c) => n + c.postings.length, 0);
  const ms = await run(chunks.map((c) => [c]), async (tx, [c]) => {
    const e = unnestSql("journal_entry", entryColumnTypes, c!.entries);
    await tx.query(e.text, e.values);
    const p = unnestSql("ledger_posting", postingColumnTypes, c!.postings);
    await tx.query(p.text, p.values);
  });
  return (postings * 1000) / ms;
}

async function applyPaymentEventsOnce(list: ConsumedEvent<typeof paymentsTopic>[]): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await applyPaymentEvents(deps, list, client);
    await client.query("COMMIT");
  } finally {
    client.release();
  }
}

async function postingCount(): Promise<number> {
  const { rows } = await pool.query<{ n: string }>("SELECT count(*) AS n FROM ledger_posting");
  return Number(rows[0]!.n);
}

async function subjectRound(spread: Spread): Promise<number> {
  const list = events(roundEvents, spread);
  const before = await postingCount();
  const ms = await run(chunked(list), (tx, chunk) => applyPaymentEvents(deps, chunk, tx));
  return ((await postingCount()) - before) * 1000 / ms;
}

log(`ledger bench: ${writers} writers × transactions of ${txEvents} captures, ${roundEvents} captures per round, ${roundCount} rounds`);
// Warm-up: JIT, the accounts of the spread shape, the indexes' first pages.
await subjectRound("spread");
await subjectRound("hot");
await baselineRound();

const baseline: number[] = [];
const subject: number[] = [];
const hot: number[] = [];
for (let round = 0; round < roundCount; round += 1) {
  baseline.push(await baselineRound());
  subject.push(await subjectRound("spread"));
  hot.push(await subjectRound("hot"));
  log(`round ${round + 1}: raw ${Math.round(baseline[round]!)} postings/s, ours (1,011 accounts) ${Math.round(subject[round]!)}, ours (4 hot accounts) ${Math.round(hot[round]!)}`);
}
// Export: BENCH_EXPORT_ROWS (1,000,000) detail lines of one business date, seeded straight into the
// tables (with triggers off, in this scratch database only: balanced by construction), streamed as
// CSV by a child process whose peak RSS is the figure (BENCH_EXPORT_ROWS=0 skips it).
const exportRows = Number.parseInt(process.env["BENCH_EXPORT_ROWS"] ?? "1000000", 10);
let exportResult:
  | { rows: number; bytes: number; elapsedMs: number; peakRssMb: number; importedRssMb: number; heapTotalMbMax: number; heapUsedMbMax: number; externalMbMax: number }
  | undefined;
if (exportRows > 0) {
  const day = "2030-01-01";
  const seedStart = performance.now();
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SET LOCAL session_replication_role = replica");
    await client.query(
      `INSERT INTO journal_entry (entry_id, source_key, entry_type, phase, payment_id, order_id, merchant_id, provider, provider_reference, currency,
          amount_minor, provider_fee_minor, platform_fee_minor, fee_rate_ppm, provider_fee_rounding, platform_fee_rounding, merchant_bears_provider_fee,
          business_date, booked_at, posting_count, memo, tx_id)
       SELECT gen_random_uuid(), 'bench-export:' || i, 'payment_captured', 'posted', 'pay-x-' || i, 'order-x-' || i, '商户-' || (i % 1000),
              'alipay', '2088' || i, 'CNY', 1000 + i % 9000, (1000 + i % 9000) * 6 / 1000, (1000 + i % 9000) * 5 / 1000, 6000, 'half_up', 'half_up', true,
              $1::date, $1::date + (i % 86400) * interval '1 second' - interval '8 hours', 2, '', 0
         FROM generate_series(1, $2::integer) AS i`,
      [day, exportRows],
    );
    await client.query(
      `INSERT INTO settlement_batch (batch_id, merchant_id, provider, business_date, settlement_date, currency, status, payment_count, refund_count,
          gross_minor, refunds_minor, provider_fees_minor, platform_fees_minor, adjustments_minor, reserve_withheld_minor, reserve_released_minor,
          carried_in_minor, net_minor, payable_minor, carried_forward_minor, closed_at, updated_at)
       SELECT gen_random_uuid()::text, merchant_id, 'alipay', $1::date, $1::date + 1, 'CNY', 'closed', count(*), 0, sum(amount_minor), 0,
              sum(provider_fee_minor), sum(platform_fee_minor), 0, 0, 0, 0, sum(amount_minor - provider_fee_minor - platform_fee_minor),
              sum(amount_minor - provider_fee_minor - platform_fee_minor), 0, now(), now()
         FROM journal_entry WHERE business_date = $1::date AND source_key LIKE 'bench-export:%' GROUP BY merchant_id`,
      [day],
    );
    await client.query(
      `INSERT INTO batch_entry (entry_id, batch_id)
       SELECT e.entry_id, b.batch_id FROM journal_entry e JOIN settlement_batch b ON b.merchant_id = e.merchant_id AND b.business_date = e.business_date
        WHERE e.business_date = $1::date AND e.source_key LIKE 'bench-export:%'`,
      [day],
    );
    await client.query("COMMIT");
  } finally {
    client.release();
  }
  await pool.query("ANALYZE journal_entry; ANALYZE batch_entry; ANALYZE settlement_batch");
  log(`export: seeded ${exportRows} detail lines in ${Math.round(performance.now() - seedStart)} ms`);
  const { execFileSync } = await import("node:child_process");
  const out = execFileSync(process.execPath, ["--import", "tsx", "--conditions=source", fileURLToPath(new URL("./_ledger-export.ts", import.meta.url)), url, day], { encoding: "utf8", maxBuffer: 1 << 20 });
  exportResult = JSON.parse(out.trim().split("\n").pop() ?? "{}") as typeof exportResult;
  log(`export: ${exportResult?.rows} CSV rows (${exportResult?.bytes} bytes) in ${exportResult?.elapsedMs} ms, peak RSS ${exportResult?.peakRssMb} MB`);
  log(`export: RSS ${exportResult?.importedRssMb} MB once imported; while streaming at most heap ${exportResult?.heapTotalMbMax} MB (${exportResult?.heapUsedMbMax} MB used), external ${exportResult?.externalMbMax} MB`);
}

const ratios = pairedRatios(subject, baseline);
const hotRatios = pairedRatios(hot, subject);
const b = spreadOf(baseline);
const s = spreadOf(subject);
const h = spreadOf(hot);
log(describeSpread("raw INSERTs", b, "postings/s"));
log(describeSpread("ours, spread", s, "postings/s"));
log(describeSpread("ours, hot", h, "postings/s"));
const ratio = spreadOf(ratios, 3);
const hotAccountRatio = spreadOf(hotRatios, 3);
log(describeSpread("ratio ours/raw", ratio, ""));
log(describeSpread("hot/spread", hotAccountRatio, ""));
await pool.end();
await dropDatabase(server.serverUrl, database);
await server.stop();
console.log(
  JSON.stringify({
    bench: "ledger",
    ratio: ratio.median,
    goal: 0.5,
    subject: { postingsPerSecond: s, hotPostingsPerSecond: h, hotAccountRatio: hotAccountRatio.median, hotAccountGoal: 0.8, hotAccountRatios: hotAccountRatio, exportRows: exportResult?.rows ?? null,
      exportRowsPerSecond: exportResult === undefined ? null : Math.round((exportResult.rows * 1000) / exportResult.elapsedMs),
      exportPeakRssMb: exportResult?.peakRssMb ?? null, exportPeakRssGoalMb: 256, exportImportedRssMb: exportResult?.importedRssMb ?? null,
      exportHeapTotalMbMax: exportResult?.heapTotalMbMax ?? null, exportExternalMbMax: exportResult?.externalMbMax ?? null },
    baseline: { postingsPerSecond: b },
    spread: { ratio },
    agreed: ratio.agreed && hotAccountRatio.agreed,
  }),
);

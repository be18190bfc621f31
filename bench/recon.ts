/**
 * `npm run bench -- recon`: a generated WeChat trade bill (BENCH_RECON_LINES detail lines,
 * 1,000,000 unless told; current 27-column ALL format, backtick cells, CRLF, a summary that adds
 * up) parsed and matched against the same number of ledger records streamed over gRPC, against
 * parse-only and against a bare line split of the same file, in the same run.
 * - baseline: node:readline over the file, each line split on commas — no decoding checks,
 *   amounts, times or rows.
 * - parse-only: `wechatTradeBillRowBatches` of @tributary/reconciliation streaming the file (the
 *   parse the subject's thread runs, a batch of rows per decoded piece): every cell checked, every
 *   amount parsed exactly, times and the bill's day checked, the summary checked at the end; rows
 *   counted, not kept (the same code `parseWechatTradeBill` collects).
 * - subject: the same parse on a worker thread (`wechatTradeBillChunksOffThread`: the rows handed to
 *   the main thread packed, 1,000 a chunk, at most 8 chunks ahead), merged on the main thread by
 *   booking time with our records from
 *   `SettlementService.StreamPaymentsForReconciliation` through reconciliation's own settlement
 *   adapter (`createSettlementLedgerRecords(…).chunksFor`: real gRPC client, bearer token bound to
 *   wechat_pay, settlement's real `SettlementRecord` messages, 1,000 to a message, each record read
 *   off the wire by `ledgerRecordFromWire` without protobuf-es message objects), into
 *   `createStreamMatcher` (pass 0 as a hash join closed behind a 30-min booking-time horizon, the
 *   rest by `matchBill`); items are counted as they come out, every one must be `matched`, every
 *   record must have been streamed, and the bill's summary must have checked out. So the subject
 *   uses two threads (parse | receive + decode + match) where parse-only uses one: its wall time
 *   tends to the slower side rather than the sum. Parse-only is untouched (one thread, as before),
 *   so `ratio` is a two-thread subject's wall time over a one-thread parse's.
 * The records come from the real settlement service: `services/settlement/src/main.ts` started as
 * its own process, as the stack runs it (`startSettlement`), on a settlement database whose day
 * holds the bill's 1,000,000 payments, posted by settlement's own consumer code (`seededLedger`:
 * each order's OrderAccepted, then its PaymentCaptured through `applyPaymentEvents`; kept between
 * runs, ~4 min to seed). Its StreamPaymentsForReconciliation reads the day with one binary COPY
 * and writes the messages' bytes from it (services/settlement/README.md), so settlement and
 * Postgres share the two cores with the subject's two threads: the ratio measures reconciliation
 * with its source, as deployed on one box. A `records` phase streams the day alone (no bill, no
 * match): settlement's own records/s. Each phase's report gives the CPU of its own process (from
 * the phase's start), of settlement, and of the rest of the machine (Postgres, the idle broker).
 * Each phase runs in a child process of its own, so its peak RSS (`maxRSS`) is its own
 * (settlement's is not in the subject's); each runs BENCH_ROUNDS (3 unless told) times,
 * alternating, and the medians are reported. BENCH_CPU_PROF=DIR writes a V8 CPU profile of each
 * phase's process, and of settlement's; BENCH_RECON_PHASE_NODE_ARGS adds Node flags to every phase's
 * process (to try V8 settings). Runs and numbers: services/reconciliation/README.md.
 * Last stdout line: `{"bench":"recon","ratio":…,"subject":{"linesPerSecond":…,"peakRssMb":…},…}`
 * with `ratio` = parse+match time / parse-only time (median of per-round ratios); `roundRatios`,
 * `subject.roundsMs`, `parseOnly.roundsMs` and `parseOnly.roundsCpuMs` give each round.
 * Parse-only runs in one of two modes, decided by V8 per process: ~2.0 s (2.0–2.2 s of CPU, peak
 * RSS ~170 MB) or ~3.0 s (3.7–4.0 s of CPU, ~255 MB: every scavenge promotes ~3 MB, a mark-compact
 * every ~0.4 s; `--trace-gc`). V8's allocation-site pretenuring is the switch: with
 * `--no-allocation-site-pretenuring` all fifteen rounds were ~2.0 s (1,915–2,405 ms), and in six
 * runs of the parse alone too (which site it tenures was not found: not the rows' nested
 * `location` literal, tried). So the ratio of a round depends on the mode its parse-only drew.
 * Last measured (2026-12-04 21:10–21:22 UTC, code of 10576ac, five runs under flock, 3 rounds each,
 * the bench alone on the machine, 1-minute load at start 1.4–3.6), against the real settlement service:
 *   defaults: parse + match 164,771, 155,103, 164,529, 152,050, 142,037 lines/s — median 155,103
 *   (15 % spread): met (≥ 100k; the host ran ~1.8× faster than on 2026-12-03 — bare split 772k–786k
 *   lines/s against ~368k); ratio 3.194, 2.615, 1.997, 2.216, 2.176 — median 2.216: NOT met (≤ 2);
 *   per round 1.918–3.367, ≤ 2 in three rounds, each one whose parse-only drew the slow mode (11 of 15 did);
 *   peak RSS 481–498 MB: met (≤ 512). Parse-only median 330,947 (309,028–502,099).
 *   With BENCH_RECON_PHASE_NODE_ARGS=--no-allocation-site-pretenuring (every phase; the steady
 *   baseline): parse + match 134,522, 139,714, 149,294, 153,594, 146,661 — median 146,661 (no gain
 *   for the subject); parse-only median 489,344 (457,896–502,934); ratio 3.543, 3.362, 3.359,
 *   3.145, 3.387 — median 3.362: NOT met. Why ≤ 2 is out of reach as built: both cores are busy
 *   through the match phase (the machine's CPU over the phase's wall time: 2.0 cores), so the
 *   subject's time is the machine's CPU / 2 — 12.1–14.0 s a million lines: the subject's process
 *   6.9–8.1 µs a line (of which the parse: parse-only alone takes 2.0–4.0), settlement 2.3–2.7 µs a record, Postgres
 *   and the rest 1.2–1.6. Against a 2.0-s parse, 2× needs ≤ 8 s of CPU, ~5.9 s of which the parse
 *   thread, settlement and Postgres already take: the matching thread (receive, decode, unpack,
 *   match, its GC; ~4–5 µs a line now, 3.6–4.2 in a scratch loop without gRPC) would have to
 *   get to ≤ ~2.
 * Before (2026-12-03 16:20–16:31 UTC, code of 1467357, five runs under flock, 3 rounds each,
 * the bench alone on the machine, 1-minute load at start 2.5–3.4), against the real settlement service:
 *   parse + match 84,632, 85,734, 85,879, 86,569, 87,548 lines/s — median 85,879 (3.4 % spread):
 *   NOT met (≥ 100k); ratio 1.864, 2.109, 1.958, 2.072, 2.325 — median 2.072: NOT met (≤ 2), met in
 *   runs 1 and 3; peak RSS 490, 463, 481, 490, 478 MB — met. Parse-only median 180,812
 *   (163,449–190,931), split median 368,010, settlement's stream alone median 189,860 records/s. CPU
 *   per line in the match phase: the subject's process 13.4–13.8 µs (parse-only's 6.4–7.2),
 *   settlement 4.3–5.0, the rest of the machine 3.0–3.3. The same bench on the code before (3371a45)
 *   in one run earlier that day: 84,014 lines/s, ratio 1.958, parse-only 170,161 with the per-row
 *   generator; the parse got ~2× cheaper (batches per decoded piece, decimals by hand), the records'
 *   decode ~1.8× (a plain reader), Postgres's share ~1.6 µs a line less (no order_context join), but
 *   the rate hardly moved: the main thread (receive, decode, match) is the long pole and both cores
 *   are busy, so parse-only got faster than the subject and the ratio went over 2.
 * Before (2026-12-02 01:02–01:20 UTC, five runs under flock, 3 rounds each, the bench alone
 * on the machine, 1-minute load 2.3–4.7), against the real settlement service:
 *   parse + match 63,525, 77,471, 80,040, 68,834, 65,172 lines/s — median 68,834: NOT met (≥ 100k);
 *   ratio 1.479, 1.541, 2.156, 1.851, 2.308 — median 1.851 (1.479–2.308): met on the median, not in
 *   runs 3 and 5; peak RSS 489, 476, 474, 465, 489 MB — met (≤ 512); parse-only median 122,324
 *   (100,975–166,334; single rounds 5.2–11.3 s, the host's drift), split median 399,852 (598,396 in
 *   the stand-in runs below: this machine ran ~1.5× slower today). Settlement's stream alone:
 *   150,157–196,841 records/s (median 163,240), settlement 3.1–4.2 µs of CPU a record through gRPC
 *   (2.5 in-process without it). CPU per line in the match phase: the subject's process 15.2–18.8 µs
 *   (parse-only's 7–14), settlement 4.0–5.5, the rest of the machine (Postgres, the idle broker)
 *   5.1–6.0 (runs 3–5). Both cores are busy through the match phase: the subject's two threads,
 *   settlement and Postgres. In a profile of the match phase's main thread (one round): GC 3.3 s,
 *   the stream matcher 2.8 s, the wire decode ~2.5 s, the merge loop 1.2 s, 5 s waiting.
 * Against the stand-in server this bench used before (records encoded before the stream began,
 * not settlement), 2026-12-01 21:17–21:37 UTC, code of 86eb1f3, five runs under flock, 3 rounds each;
 * 1-minute load at start → end 3.61 → 3.29, 9.72 → 8.11, 9.81 → 5.28, 2.97 → 2.67, 2.67 → 2.88):
 *   parse + match 115,736, 70,841, 122,804, 134,990, 112,583 lines/s — median 115,736 (55 % spread):
 *   met on the median, not in run 2; ratio 1.801, 3.222, 1.486, 1.705, 1.663 — median 1.705 (102 %
 *   spread): met on the median, not in run 2 (single rounds 1.30–4.31, nine of fifteen ≤ 2); peak
 *   RSS 406, 419, 410, 407, 422 MB — met (≤ 512); parse-only 222,740, 225,519, 226,417, 230,142,
 *   187,188 (median 225,519); split median 598,396.
 * Before (87531ac, protobuf-es decoding the records, four runs): 153,367 lines/s, ratio 2.36 (2.21–2.64).
 * Before that (on-thread parse, same stand-in): 93,324 lines/s, ratio 3.86, RSS ≤ 486 MB.
 */
import { execFileSync } from "node:child_process";
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { ordersTopic, paymentsTopic, type TopicMessage } from "@tributary/contracts";
import { Channel, Provider } from "@tributary/contracts/common/v1/provider";
import { OrderAcceptedSchema } from "@tributary/contracts/order/v1/order_events";
import { PaymentCapturedSchema } from "@tributary/contracts/payment/v1/payment_events";
import { newEventId, type ConsumedEvent } from "@tributary/events";
import { databaseUrl, dropDatabase, ensureDatabase, findServiceDatabases, migrateServiceDatabase } from "@tributary/local-postgres";
import { freeLocalPort, startServiceProcess, type ServiceProcess } from "@tributary/service-process";
import { applyOrderEvent, applyPaymentEvents, DEFAULT_FEE_TERMS, ensurePlatformAccounts, takeCheckpoint } from "@tributary/settlement";
import { kafka as testKafka, postgres as testPostgres } from "@tributary/testkit";
import pg from "pg";
import { createSettlementLedgerRecords, createStreamMatcher, dayEndMs, daysBetween, wechatTradeBillChunksOffThread, wechatTradeBillRowBatches, type BillRow, type LedgerRecord } from "@tributary/reconciliation";
import { log, median } from "./_rounds.js";

const DAY = "2026-11-23";
const DAY_START_MS = Date.parse("2026-11-22T16:00:00Z");
const lines = Number.parseInt(process.env["BENCH_RECON_LINES"] ?? "1000000", 10);
const rounds = Number.parseInt(process.env["BENCH_ROUNDS"] ?? "3", 10);
/** Node flags for every phase's process (space-separated, e.g. V8 heap settings to try); none unless told. */
const phaseNodeArgs = (process.env["BENCH_RECON_PHASE_NODE_ARGS"] ?? "").split(" ").filter((arg) => arg !== "");

/** Row `i` of the generated day: deterministic, so the ledger side is generated the same way. */
function rowOf(i: number): { amountMinor: bigint; feeMinor: bigint; atMs: number; txn: string; order: string } {
  const amountMinor = BigInt(100 + ((i * 7_919) % 500_000));
  return {
    amountMinor,
    feeMinor: (amountMinor * 6n + 500n) / 1_000n, // 0.60 %, half-up to the fen
    atMs: DAY_START_MS + Math.floor((i * 86_000_000) / Math.max(1, lines)),
    txn: `4200${String(i).padStart(24, "0")}`,
    order: `ORD${String(i).padStart(12, "0")}`,
  };
}

const yuan = (fen: bigint, fractionDigits = 2): string => `${fen / 100n}.${String(fen % 100n).padStart(2, "0")}${fractionDigits === 5 ? "000" : ""}`;
const wallClock = (ms: number): string => new Date(ms + 8 * 3_600_000).toISOString().slice(0, 19).replace("T", " ");

async function writeBill(path: string): Promise<void> {
  const out = createWriteStream(path);
  const write = (text: string): Promise<void> => (out.write(text) ? Promise.resolve() : new Promise((resolve) => out.once("drain", () => resolve())));
  await write("交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\r\n");
  let total = 0n;
  let fees = 0n;
  let chunk = "";
  for (let i = 0; i < lines; i++) {
    const r = rowOf(i);
    total += r.amountMinor;
    fees += r.feeMinor;
    const cells = [wallClock(r.atMs), "wx01", "1900000001", "0", "", r.txn, r.order, "oUpF8bench", "NATIVE", "SUCCESS", "CMB_DEBIT", "CNY", yuan(r.amountMinor), "0.00", "0", "0", "0.00", "0.00", "", "", "Coffee", "", yuan(r.feeMinor, 5), "0.60%", yuan(r.amountMinor), "0.00", ""];
    chunk += `${cells.map((c) => `\`${c}`).join(",")}\r\n`;
    if (chunk.length > 1 << 20) {
      await write(chunk);
      chunk = "";
    }
  }
  await write(chunk);
  await write("总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n");
  await write(`\`${lines},\`${yuan(total)},\`0.00,\`0.00,\`${yuan(fees, 5)},\`${yuan(total)},\`0.00\r\n`);
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
}

const TOKEN = "bench-recon-records";
/** The seeded ledger's layout; a change to `rowOf` or to the seeding bumps it (a new database). */
const SEED_VERSION = 2;
const SEED_WRITERS = 2;
const SEED_TX_EVENTS = 1000;
const repoRoot = fileURLToPath(new URL("..", import.meta.url));

/** The day's captures as settlement's `payments.v1` consumer receives them, rows `from`…`to` − 1. */
function capturedEvents(from: number, to: number): ConsumedEvent<typeof paymentsTopic>[] {
  const out: ConsumedEvent<typeof paymentsTopic>[] = [];
  for (let i = from; i < to; i++) {
    const r = rowOf(i);
    const message = create(PaymentCapturedSchema, {
      paymentId: `pay-${r.order}`,
      orderId: r.order,
      merchantId: "m-bench",
      provider: Provider.WECHAT_PAY,
      providerTransactionId: r.txn,
      amount: { currency: "CNY", amountMinor: r.amountMinor },
      // The provider's capture time is its bill's trade time; our booking follows 300 ms later.
      capturedAt: timestampFromMs(r.atMs + 300),
    }) as TopicMessage<typeof paymentsTopic>;
    out.push({ eventId: newEventId(), eventType: PaymentCapturedSchema.typeName, key: r.order, topic: paymentsTopic.name, partition: 0, offset: String(i), occurredAt: new Date(r.atMs + 300), producer: "bench", headers: {}, message });
  }
  return out;
}

/** The day's orders as settlement's `orders.v1` consumer receives them (their merchant order references). */
function acceptedEvents(from: number, to: number): ConsumedEvent<typeof ordersTopic>[] {
  const out: ConsumedEvent<typeof ordersTopic>[] = [];
  for (let i = from; i < to; i++) {
    const r = rowOf(i);
    const message = create(OrderAcceptedSchema, {
      order: {
        orderId: r.order,
        merchantId: "m-bench",
        merchantOrderRef: r.order,
        channel: Channel.WEB,
        lines: [{ sku: "COFFEE", category: "coffee", quantity: 1n, unitPrice: { currency: "CNY", amountMinor: r.amountMinor } }],
        total: { currency: "CNY", amountMinor: r.amountMinor },
      },
    }) as TopicMessage<typeof ordersTopic>;
    out.push({ eventId: newEventId(), eventType: OrderAcceptedSchema.typeName, key: r.order, topic: ordersTopic.name, partition: 0, offset: String(i), occurredAt: new Date(r.atMs), producer: "bench", headers: {}, message });
  }
  return out;
}

async function capturedOnDay(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM journal_entry WHERE provider = 'wechat_pay' AND business_date = $1::date AND entry_type = 'payment_captured'",
    [DAY],
  );
  return rows[0]?.n ?? 0;
}

/** Drops the kept ledgers of earlier seed versions (this version's, of any size, stay). */
async function dropOlderSeeds(serverUrl: string): Promise<void> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE datname LIKE 'tributary\\_recon\\_bench\\_ledger\\_v%' AND datname NOT LIKE $1",
      [`tributary\\_recon\\_bench\\_ledger\\_v${SEED_VERSION}\\_%`],
    );
    for (const { datname } of rows) await dropDatabase(serverUrl, datname);
  } finally {
    await admin.end();
  }
}

/**
 * The settlement database the records are streamed from: settlement's own migrations, and the
 * day's `lines` captures posted by `applyPaymentEvents` — the code settlement's `payments.v1`
 * consumer runs — after each order's `OrderAccepted` through `applyOrderEvent` (the `orders.v1`
 * consumer's code: the merchant order reference the records carry), in transactions of 1,000
 * orders on two writers (fee schedules, entries, postings, the schema's balance triggers). A few
 * minutes for a million, so it is kept between runs (`tributary_recon_bench_ledger_v<SEED_VERSION>_<lines>`,
 * migrated again at each run) and seeded again only when its day is not exactly the `lines` captures.
 */
async function seededLedger(): Promise<{ url: string; seededSeconds: number | undefined }> {
  const server = await testPostgres();
  const database = `tributary_recon_bench_ledger_v${SEED_VERSION}_${lines}`;
  const url = databaseUrl(server.serverUrl, database);
  const service = (await findServiceDatabases(repoRoot)).find((s) => s.packageName === "@tributary/settlement");
  if (service === undefined) throw new Error("the settlement service declares no database");
  await dropOlderSeeds(server.serverUrl);
  await ensureDatabase(server.serverUrl, database);
  await migrateServiceDatabase(url, service);
  let pool = new pg.Pool({ connectionString: url, max: SEED_WRITERS + 1 });
  try {
    const have = await capturedOnDay(pool);
    if (have === lines) {
      await takeCheckpoint(pool);
      return { url, seededSeconds: undefined };
    }
    log(`bench recon: seeding settlement's ledger with ${lines.toLocaleString("en")} captures (${database}; ${have} found), kept for later runs`);
    await pool.end();
    await dropDatabase(server.serverUrl, database);
    await ensureDatabase(server.serverUrl, database);
    await migrateServiceDatabase(url, service);
    pool = new pg.Pool({ connectionString: url, max: SEED_WRITERS + 1 });
    await ensurePlatformAccounts(pool, ["CNY"]);
    const deps = { terms: DEFAULT_FEE_TERMS, newId: () => newEventId(), clock: () => new Date() };
    const started = performance.now();
    let next = 0;
    let reported = 0;
    await Promise.all(
      Array.from({ length: SEED_WRITERS }, async () => {
        const client = await pool.connect();
        try {
          while (next < lines) {
            const from = next;
            next = Math.min(lines, next + SEED_TX_EVENTS);
            await client.query("BEGIN");
            for (const accepted of acceptedEvents(from, next)) await applyOrderEvent(deps, accepted, client);
            await applyPaymentEvents(deps, capturedEvents(from, next), client);
            await client.query("COMMIT");
            if (next - reported >= 100_000) {
              reported = next;
              log(`  ${next.toLocaleString("en")} captures posted`);
            }
          }
        } finally {
          client.release();
        }
      }),
    );
    const seededSeconds = (performance.now() - started) / 1000;
    const posted = await capturedOnDay(pool);
    if (posted !== lines) throw new Error(`seeded ${posted} captures on ${DAY}, expected ${lines}`);
    const { rows } = await pool.query<{ currency: string; sum: string }>("SELECT currency, sum(amount_minor)::text AS sum FROM ledger_posting GROUP BY currency");
    if (rows.some((row) => row.sum !== "0")) throw new Error(`the seeded ledger does not balance: ${JSON.stringify(rows)}`);
    // Vacuumed, analysed and checkpointed now, so autovacuum and the checkpointer do not run
    // inside the first rounds (right after a seed they took a core: parse-only ran 10.6 s, not 7).
    for (const table of ["journal_entry", "ledger_posting", "order_context", "ledger_account"]) await pool.query(`VACUUM ANALYZE ${table}`);
    await pool.query("CHECKPOINT");
    // A balance checkpoint, as settlement's checkpointer takes every minute: without one its
    // ledger-balance metric sums every posting since the start (3 million here) every 10 s, and
    // Postgres spent most of a core on it inside the rounds.
    await takeCheckpoint(pool);
    log(`bench recon: seeded in ${seededSeconds.toFixed(0)} s (${Math.round(lines / seededSeconds).toLocaleString("en")} captures/s), ledger balanced`);
    return { url, seededSeconds };
  } finally {
    await pool.end();
  }
}

/**
 * The real settlement service, as the stack runs it: `services/settlement/src/main.ts` in its own
 * process on the seeded database and a broker, its token for this bench bound to `wechat_pay` with
 * `settlement:records` only; its schedulers (checkpoints, day close, payouts) set to an hour so none
 * runs inside a round.
 */
async function startSettlement(databaseUrlOfLedger: string, brokers: readonly string[], logDir: string): Promise<ServiceProcess & { address: string }> {
  const address = `127.0.0.1:${await freeLocalPort()}`;
  const healthAddress = `127.0.0.1:${await freeLocalPort()}`;
  const hour = String(3_600_000);
  const service = await startServiceProcess({
    name: "settlement",
    entry: join(repoRoot, "services/settlement/src/main.ts"),
    cwd: join(repoRoot, "services/settlement"),
    env: {
      ...process.env,
      KAFKA_BROKERS: brokers.join(","),
      SETTLEMENT_DATABASE_URL: databaseUrlOfLedger,
      SETTLEMENT_GRPC_ADDRESS: address,
      SETTLEMENT_HEALTH_ADDRESS: healthAddress,
      SETTLEMENT_AUTH_TOKENS: `${TOKEN}:recon-bench:settlement:records:providers=wechat_pay`,
      SETTLEMENT_CHECKPOINT_INTERVAL_MS: hour,
      SETTLEMENT_CLOSE_INTERVAL_MS: hour,
      SETTLEMENT_PAYOUT_INTERVAL_MS: hour,
    },
    healthAddress,
    logFile: join(logDir, "settlement.log"),
    readyTimeoutMs: 120_000,
    // BENCH_CPU_PROF=DIR: settlement's profiles too (DIR/settlement), written when it stops at the end.
    ...(process.env["BENCH_CPU_PROF"] === undefined
      ? {}
      : { extraNodeArgs: ["--cpu-prof", `--cpu-prof-dir=${join(process.env["BENCH_CPU_PROF"], "settlement")}`] }),
  });
  return Object.assign(service, { address });
}

/** One side, in this (child) process: its time in ms and the lines it handled. */
async function runPhase(phase: string, path: string, settlementAddress: string): Promise<{ ms: number; lines: number; pendingMax?: number }> {
  if (phase === "split") {
    const started = performance.now();
    let count = 0;
    let cells = 0;
    for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
      cells += line.split(",").length;
      count++;
    }
    if (cells === 0) throw new Error("no cells");
    return { ms: performance.now() - started, lines: count };
  }
  if (phase === "parse") {
    const started = performance.now();
    const batches = wechatTradeBillRowBatches({ bytes: createReadStream(path), file: "bench.csv", billDate: DAY });
    let count = 0;
    for (;;) {
      const next = await batches.next();
      if (next.done === true) {
        if (next.value !== count) throw new Error(`summary confirmed ${next.value} rows, ${count} read`);
        break;
      }
      count += next.value.length;
    }
    return { ms: performance.now() - started, lines: count };
  }
  const source = createSettlementLedgerRecords({ address: settlementAddress, bearerToken: TOKEN });
  if (phase === "records") {
    // Settlement's stream alone: its records per second with nothing matched (its own figure).
    const started = performance.now();
    let count = 0;
    for await (const chunk of source.chunksFor("wechat_pay", DAY)) count += chunk.length;
    if (count !== lines) throw new Error(`${count} of ${lines} records streamed`);
    return { ms: performance.now() - started, lines: count };
  }
  {
    const started = performance.now();
    let matched = 0;
    let other = 0;
    let pendingMax = 0;
    const matcher = createStreamMatcher({
      billDate: DAY, carried: [], dayEndMs, daysBetween,
      onItem: (item) => {
        if (item.matchClass === "matched") matched++;
        else other++;
      },
    });
    const bill = wechatTradeBillChunksOffThread({ path, file: "bench.csv", billDate: DAY });
    const chunks = source.chunksFor("wechat_pay", DAY)[Symbol.asyncIterator]();
    // Each side one chunk at a time: `rows[r]` / `records[at]` is the next, undefined when its stream is done.
    let rows: readonly BillRow[] = [];
    let r = 0;
    let billDone: number | undefined;
    const nextRows = async (): Promise<void> => {
      const next = await bill.next();
      if (next.done === true) {
        rows = [];
        billDone = next.value;
      } else {
        rows = next.value;
      }
      r = 0;
    };
    let chunk: readonly LedgerRecord[] = [];
    let at = 0;
    const nextChunk = async (): Promise<void> => {
      const next = await chunks.next();
      chunk = next.done === true ? [] : next.value;
      at = 0;
    };
    await Promise.all([nextRows(), nextChunk()]);
    let rowCount = 0;
    let recordCount = 0;
    let n = 0;
    // Merge by booking time, so both sides move through the day together and the horizon holds.
    while (r < rows.length || at < chunk.length) {
      const row = rows[r];
      const record = chunk[at];
      if (row !== undefined && (record === undefined || row.bookedAtMs <= record.bookedAtMs)) {
        matcher.addBillRow(row);
        rowCount++;
        if (++r === rows.length) await nextRows();
      } else if (record !== undefined) {
        matcher.addLedgerRecord(record);
        recordCount++;
        if (++at === chunk.length) await nextChunk();
      }
      if ((++n & 0xffff) === 0) pendingMax = Math.max(pendingMax, matcher.pendingCount());
    }
    if (recordCount !== lines) throw new Error(`${recordCount} of ${lines} records streamed`);
    // The generator returned: the summary checked out, so the outcome may be used.
    if (billDone !== rowCount) throw new Error(`summary confirmed ${String(billDone)} rows, ${rowCount} read`);
    const { carryForward } = matcher.finish();
    if (matched !== lines || other !== 0 || carryForward.length !== 0) throw new Error(`${matched} of ${lines} matched, ${other} other items, ${carryForward.length} carried`);
    return { ms: performance.now() - started, lines: rowCount, pendingMax };
  }
}

/** The machine's busy CPU time so far (every core, every process), in ms, from /proc/stat. */
function machineBusyMs(): number {
  const fields = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "").trim().split(/\s+/).slice(1).map(Number);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  const total = fields.slice(0, 8).reduce((sum, x) => sum + x, 0);
  return ((total - idle) * 1000) / 100; // USER_HZ = 100 on Linux
}

type PhaseName = "split" | "parse" | "records" | "match";
interface PhaseResult {
  readonly ms: number;
  readonly lines: number;
  readonly peakRssMb: number;
  readonly pendingMax?: number;
  /** The phase's own process, from the phase's start: user + system CPU (every thread). */
  readonly cpuMs: number;
  /** The phase's process from its start (tsx compiling and loading the bench, then the phase). */
  readonly processCpuMs: number;
  /** Settlement's process during the phase (0 for phases that do not call it). */
  readonly settlementCpuMs: number;
  /** Every process on the machine during the phase, the phase's process start included. */
  readonly machineCpuMs: number;
}

const [phaseArg, pathArg, addressArg] = process.argv.slice(2).filter((a) => !a.startsWith("--"));
if (phaseArg !== undefined && pathArg !== undefined) {
  // CPU from here on: the process's start (tsx compiling the bench, ~3 s) is not the phase's.
  const cpuAtStart = process.cpuUsage();
  const result = await runPhase(phaseArg, pathArg, addressArg ?? "");
  const cpu = process.cpuUsage(cpuAtStart);
  const usage = process.resourceUsage();
  process.stdout.write(
    `${JSON.stringify({ ...result, peakRssMb: usage.maxRSS / 1024, cpuMs: (cpu.user + cpu.system) / 1000, processCpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000 })}\n`,
  );
} else {
  const dir = mkdtempSync(join(tmpdir(), "bench-recon-"));
  const path = join(dir, "wechat-tradebill.csv");
  let broker: Awaited<ReturnType<typeof testKafka>> | undefined;
  let settlement: (ServiceProcess & { address: string }) | undefined;
  try {
    log(`bench recon: writing a ${lines.toLocaleString("en")}-line WeChat bill`);
    await writeBill(path);
    const ledger = await seededLedger();
    broker = await testKafka();
    settlement = await startSettlement(ledger.url, broker.brokers, dir);
    const settlementAddress = settlement.address;
    const settlementCpuMs = (): number => {
      const t = settlement?.cpuTime();
      if (t === undefined) throw new Error(`settlement is not running; its log: ${join(dir, "settlement.log")}`);
      return t.userMs + t.systemMs;
    };
    log(`bench recon: settlement (pid ${settlement.pid}) serving ${lines.toLocaleString("en")} records on ${settlementAddress}`);
    const self = fileURLToPath(import.meta.url);
    const phase = (name: PhaseName): PhaseResult => {
      const settlementBefore = settlementCpuMs();
      const machineBefore = machineBusyMs();
      // BENCH_CPU_PROF=DIR: a V8 CPU profile of each phase's process (every thread) into DIR.
      const profile = process.env["BENCH_CPU_PROF"] === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${process.env["BENCH_CPU_PROF"]}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`];
      const out = execFileSync(process.execPath, [...process.execArgv, ...phaseNodeArgs, ...profile, self, name, path, settlementAddress], { encoding: "utf8", maxBuffer: 1 << 20 });
      const own = JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as Omit<PhaseResult, "settlementCpuMs" | "machineCpuMs">;
      return { ...own, settlementCpuMs: settlementCpuMs() - settlementBefore, machineCpuMs: machineBusyMs() - machineBefore };
    };
    // One untimed pass of the stream first: settlement's JIT, and the seeded tables in Postgres's cache.
    phase("records");
    const names = ["split", "parse", "records", "match"] as const;
    const results: Record<PhaseName, PhaseResult[]> = { split: [], parse: [], records: [], match: [] };
    for (let round = 0; round < rounds; round++) {
      for (const name of names) {
        const r = phase(name);
        results[name].push(r);
        log(
          `round ${round + 1} ${name}: ${Math.round(r.ms)} ms, ${Math.round(r.lines / (r.ms / 1000)).toLocaleString("en")} lines/s, ` +
            `peak RSS ${Math.round(r.peakRssMb)} MB, CPU: own ${Math.round(r.cpuMs)} ms, settlement ${Math.round(r.settlementCpuMs)} ms, ` +
            `machine ${Math.round(r.machineCpuMs)} ms${r.pendingMax === undefined ? "" : `, at most ${String(r.pendingMax)} rows/records held`}`,
        );
      }
    }
    const rate = (name: PhaseName): number => Math.round(median(results[name].map((r) => r.lines / (r.ms / 1000))));
    const rss = (name: PhaseName): number => Math.round(Math.max(...results[name].map((r) => r.peakRssMb)));
    const perLineUs = (name: PhaseName, cpu: (r: PhaseResult) => number): number => Number(median(results[name].map((r) => (cpu(r) * 1000) / r.lines)).toFixed(2));
    const roundsMs = (name: PhaseName): number[] => results[name].map((r) => Math.round(r.ms));
    const roundRatios = results.match.map((m, i) => m.ms / (results.parse[i]?.ms ?? m.ms));
    const ratio = median(roundRatios);
    const splitRatio = median(results.match.map((m, i) => m.ms / (results.split[i]?.ms ?? m.ms)));
    const cpuOf = (name: PhaseName) => ({
      ownUsPerLine: perLineUs(name, (r) => r.cpuMs),
      settlementUsPerRecord: perLineUs(name, (r) => r.settlementCpuMs),
      // Postgres, the broker, anything else: the machine less the phase's whole process and settlement.
      restOfMachineUsPerLine: perLineUs(name, (r) => r.machineCpuMs - r.processCpuMs - r.settlementCpuMs),
    });
    console.log(
      JSON.stringify({
        bench: "recon",
        lines,
        rounds,
        ratio: Number(ratio.toFixed(3)),
        // Per round too: parse-only's rounds fall into two modes (see the header), so a median hides which.
        roundRatios: roundRatios.map((r) => Number(r.toFixed(3))),
        subject: { linesPerSecond: rate("match"), peakRssMb: rss("match"), cpu: cpuOf("match"), roundsMs: roundsMs("match") },
        parseOnly: { linesPerSecond: rate("parse"), peakRssMb: rss("parse"), cpu: cpuOf("parse"), roundsMs: roundsMs("parse"), roundsCpuMs: results.parse.map((r) => Math.round(r.cpuMs)) },
        baseline: { linesPerSecond: rate("split"), peakRssMb: rss("split") },
        settlementStream: { recordsPerSecond: rate("records"), cpu: cpuOf("records") },
        subjectOverSplit: Number(splitRatio.toFixed(2)),
        seededSeconds: ledger.seededSeconds === undefined ? null : Math.round(ledger.seededSeconds),
        goal: { linesPerSecond: 100_000, ratio: 2, peakRssMb: 512 },
      }),
    );
  } finally {
    await settlement?.stop();
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

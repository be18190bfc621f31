/**
 * `npm run bench -- routing`: two halves, each against a raw baseline measured in the same run.
 *
 * Pure half — routing decisions per second on one core.
 * - subject: `route()` of @tributary/payment-routing with the example policy (5 rails, 2 merchants,
 *   3 rules incl. AND/OR/NOT and a time window, a trial roll-out of e-CNY at its 10 % step with
 *   allowlists and an excluded category), a health book for every rail × channel (125-attempt
 *   windows, one rail half-open on one channel) and a pre-drawn exploration number per decision:
 *   the full decision with every kept/dropped/ranked reason's code. Each reason's sentence is
 *   written when it is first read (`reasonOf`; the payment path reads codes only), so the run
 *   also reports `explainedDecisionsPerSecond`: one round reading every sentence, as
 *   `PreviewRoute` does (not the goal). Paired before/after on 2026-12-03 11:18 (three runs each,
 *   3 × 3-s rounds): eager sentences 60.6k, 57.1k, 129.5k decisions/s (0.022–0.050 of the sort),
 *   written on read 141.2k, 145.1k, 142.3k (0.052–0.055).
 * - baseline: the same five-rail candidate list copied and sorted by a precomputed score — what
 *   any router does at the least; no rules, roll-out hash, health, fee maths or explanations.
 * Both cycle through the same 4,096 pre-built orders (varied merchants, buyers, categories,
 * channels, countries, amounts, preferences), so neither measures order construction.
 * `decisionRatio` is the median of the per-round subject/baseline ratios; the goal is absolute,
 * 100,000 decisions/s on one core (Juspay's decision engine publishes ~835 decisions/s per 2-CPU
 * pod, over HTTP with Redis — not comparable one to one).
 *
 * End-to-end half (bench/_routing-e2e.ts) — payments per second through payment-routing and the
 * provider sandbox.
 * - set-up: the testkit's broker (a fresh one unless KAFKA_BROKERS), a scratch database
 *   `tributary_payment_routing_bench_test_<pid>` migrated like the service's own and dropped at the
 *   end, payment-routing as its OWN process started exactly as the stack starts it
 *   (`startPaymentRoutingProcess` of @tributary/cli: its main.ts settings, telemetry, the webhook
 *   server, the Prisma policy store seeded with the example policy), and two sandboxes in this
 *   process: the subject's, whose buyers pay at once (payProbability 1, fixed 0 ms, no faults), and
 *   the baseline's, whose buyers never pay.
 * - subject: OrderAccepted published on orders.v1 with the envelope headers (as the order service
 *   would), consumed by the service, routed, created at the rail, paid by the buyer, notified to
 *   the service's webhook, verified, captured; done when its PaymentCaptured is on payments.v1
 *   (consumed here). BENCH_ROUTING_CONCURRENCY (32) payments in flight, closed loop.
 * - baseline: the service's own adapters (`createProviderAdapters(sandboxProviderSettings(…))`,
 *   as main.ts builds them) calling `createPayment` straight at the sandbox: the sandbox's raw
 *   signed-request rate, same mix, same concurrency.
 * - mix: every order of merchant m-taobao-1 (all five rails), web channel (QR products), prefers
 *   a rail, round-robin over all five — alipay, wechat_pay, unionpay, jd_pay, ecny, a fifth each; a
 *   preferred eligible rail always leads, and e-CNY (trial roll-out, allowlist step) is preferred
 *   by its allowlisted buyer `b-staff-1`. The rails captured are counted and reported.
 * - per round: subject payments/s and baseline requests/s (`ratio` = median of the per-round
 *   ratios, goal ≥ 0.3); `cpuMsPerPayment` = payment-routing's user + system CPU time (from
 *   /proc/<pid>/stat) over the round ÷ payments (goal ≤ 1.0), idle polling included (the idle
 *   rate is measured for 3 s after the warm-up and reported beside it); this process's CPU per
 *   payment and per request; the database's transactions and rows written per payment
 *   (pg_stat_database); the 1-minute load average.
 * - RSA bound: the payments/s the two cores could sustain if the sandbox's and our RSA work alone
 *   were the limit. Per payment on an RSA rail (Alipay RSA2, WeChat RSA-2048, UnionPay signMethod
 *   01), counted in the code: create = we sign the request, the sandbox verifies it and signs its
 *   answer, we verify the answer; notification = the sandbox signs it, our webhook verifies it —
 *   so the sandbox 2 signs + 1 verify, we 1 sign + 2 verifies, 3 signs + 3 verifies in all
 *   (no query: the first is due 30 s after creation). JD Pay and e-CNY are HMAC: no RSA. With
 *   `s` signs/s and `v` verifies/s of bare RSA-2048 SHA256withRSA on one core (a parsed key, a
 *   ~400-byte message; 1 s of signs and 0.5 s of verifies before each round pair, median), one
 *   payment costs t = Σ_rail share(rail) × (signs / s + verifies / v) seconds of RSA, and the bound
 *   is cores / t. E.g. s = 3,700, v = 44,000, 3/5 of payments on RSA rails:
 *   t = 0.6 × (3 / 3,700 + 3 / 44,000) = 0.527 ms → 2 / 0.527 ms ≈ 3,800 payments/s (WeChat
 *   alone: 0.88 ms → ~2,270/s). The same for one baseline request (2 signs + 2 verifies on an RSA
 *   rail). It is an upper bound: the sandbox parses its PEM key on every signature, which costs
 *   more than the bare primitive.
 * - rounds are timed: each side keeps its payments in flight and starts no new one after
 *   BENCH_ROUND_SECONDS (5 s; or BENCH_ROUTING_MAX_ROUND_PAYMENTS, 20,000), so every round lasts
 *   at least that long; BENCH_ROUTING_WARMUP_SECONDS (60) of warm-up per side first.
 * - BENCH_ROUTING_PARTS=pure|e2e runs one half; BENCH_ROUTING_SERVICE_NODE_ARGS (e.g. `--cpu-prof
 *   --cpu-prof-dir=/tmp/prof`) go to the service process alone, for a profile of it.
 *
 * Last measured, 2026-12-01 17:37–18:03 UTC on the shared 2-core machine, three runs of this bench
 * after `4ea2577` (1-minute load during the e2e rounds 4.3–5.8, 2.5–2.9, 5.3–6.3):
 * - decisions/s 239,270, 264,082, 227,313 — median 239,270 (goal ≥ 100,000 met in every run);
 * - e2e ratio 0.2571, 0.2823, 0.1895 — median 0.2571 (0.19–0.28, 36 %; goal ≥ 0.3 NOT met);
 *   163, 212, 129 payments/s against 677, 775, 649 signed requests/s; no payment failed;
 * - payment-routing CPU 3.452, 2.623, 2.974 ms per payment — median 2.974 (2.62–3.45, 28 %; goal
 *   ≤ 1.0 NOT met); idle 23–33 CPU ms/s.
 * The code before (`50fdbcb`, e2e half only, interleaved with those runs from a worktree; load
 * 3.0–3.8, 2.5–5.7, 3.2–4.0): ratio 0.2296, 0.2116, 0.2494 — median 0.2296; CPU 3.671, 3.759,
 * 3.085 — median 3.671. SQL statements per payment, counted by a `pg` query counter preloaded into
 * the service (`--import`, polls included): 17.2 before, 10.5 after.
 *
 * Rounds of the pure half: a warm-up measures each side's rate; each side's rounds then last
 * BENCH_ROUND_SECONDS (5 s) at that rate. Both halves: BENCH_ROUNDS (5) alternating rounds
 * (bench/_rounds.ts), median and spread per side. Last stdout line: `{"bench":"routing","subject":{"decisionsPerSecond":…,
 * "paymentsPerSecond":…,"cpuMsPerPayment":…},"baseline":{"sortsPerSecond":…,
 * "signedRequestsPerSecond":…},"ratio":<e2e>,"decisionRatio":…,"rsaBound":{"paymentsPerSecond":…},…}`.
 */
import { PROVIDER_IDS, type ProviderId } from "@tributary/contracts";
import { money } from "@tributary/money";
import {
  examplePolicy,
  healthKey,
  route,
  CHANNELS,
  type HealthState,
  type RoutingDecision,
  type RoutingOrder,
} from "@tributary/payment-routing";
import { describeSpread, log, pairedRatios, roundCount, sizeRound, spreadOf } from "./_rounds.js";
import { measureEndToEnd, type EndToEndReport } from "./_routing-e2e.js";

/** Which halves run: `pure`, `e2e` or both (the default); BENCH_ROUTING_PARTS=pure skips the services. */
const parts = new Set((process.env["BENCH_ROUTING_PARTS"] ?? "pure,e2e").split(",").map((part) => part.trim()));

const poolSize = 4_096; // a power of two: index with `& mask`
const mask = poolSize - 1;
const policy = examplePolicy();
const now = new Date("2026-12-09T04:00:00Z"); // e-CNY roll-out at its 10 % step, 12:00 in Beijing

let seed = 20261201;
function next(): number {
  seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
  return seed / 4_294_967_296;
}
function pick<T>(items: readonly T[]): T {
  return items[Math.floor(next() * items.length)]!;
}

const categories = ["apparel", "shoes", "food", "electronics", "gift_card", "books"];
const orders: RoutingOrder[] = Array.from({ length: poolSize }, (_, i) => ({
  merchantId: next() < 0.8 ? "m-taobao-1" : "m-small-2",
  buyerId: `buyer-${i * 7_919}`,
  amount: money(BigInt(100 + Math.floor(next() * 6_000_000)), "CNY"),
  lineCategories: Array.from({ length: 1 + Math.floor(next() * 3) }, () => pick(categories)),
  channel: pick(CHANNELS),
  country: next() < 0.95 ? "CN" : "HK",
  preferredProvider: next() < 0.3 ? pick(PROVIDER_IDS) : undefined,
  // Every buyer's wallets are known, so mini-program orders keep WeChat JSAPI and Alipay eligible.
  buyerAccounts: { alipay: `2088${String(100_000_000_000 + i)}`, wechat_pay: `oBench${i}` },
}));
const draws = Array.from({ length: poolSize }, () => next());

function windowOf(successRate: number): HealthState {
  const samples = Array.from({ length: policy.health.windowSize }, () => ({ success: next() < successRate, slow: next() < 0.01 }));
  return {
    samples,
    successCount: samples.filter((s) => s.success).length,
    slowCount: samples.filter((s) => s.slow).length,
    breaker: { state: "closed" },
  };
}
const rates: Record<ProviderId, number> = { alipay: 0.97, wechat_pay: 0.96, unionpay: 0.93, jd_pay: 0.92, ecny: 0.95 };
const health = new Map<string, HealthState>();
for (const provider of PROVIDER_IDS) {
  for (const channel of CHANNELS) health.set(healthKey(provider, channel), windowOf(rates[provider]));
}
health.set(healthKey("jd_pay", "web"), { ...windowOf(0.5), breaker: { state: "open", openedAt: new Date(now.getTime() - 60_000) } });

// The baseline's input: per order, the five rails with a precomputed score.
const scored = orders.map(() => PROVIDER_IDS.map((provider) => ({ provider, score: next() })));

let sink = 0;

function subject(count: number): number {
  const started = performance.now();
  for (let i = 0; i < count; i += 1) {
    const decision: RoutingDecision = route({ order: orders[i & mask]!, policy, health, now, random: draws[i & mask]! });
    sink += decision.candidates.length + decision.dropped.length;
  }
  return performance.now() - started;
}

/** `route()` with every reason's sentence read, as `PreviewRoute` and the CLI do (sentences are written on first read). */
function subjectExplained(count: number): number {
  const started = performance.now();
  for (let i = 0; i < count; i += 1) {
    const decision: RoutingDecision = route({ order: orders[i & mask]!, policy, health, now, random: draws[i & mask]! });
    for (const candidate of decision.candidates) for (const reason of candidate.reasons) sink += reason.text.length;
    for (const out of decision.dropped) for (const reason of out.reasons) sink += reason.text.length;
  }
  return performance.now() - started;
}

function baseline(count: number): number {
  const started = performance.now();
  for (let i = 0; i < count; i += 1) {
    const list = scored[i & mask]!.slice();
    list.sort((a, b) => b.score - a.score);
    sink += list.length;
  }
  return performance.now() - started;
}

const rate = (count: number, ms: number) => Math.round(count / (ms / 1_000));

/** The pure half: warm-up, then alternating rounds of `route()` and the raw sort. */
function measurePure() {
  // What the decisions look like, so the number is about real work. Summed as they go: keeping 4,096
  // decisions alive through the rounds made the garbage collector half of each round's time.
  const shape = { candidates: 0, dropped: 0, reasons: 0, explored: 0, trial: 0 };
  orders.forEach((order, i) => {
    const d = route({ order, policy, health, now, random: draws[i]! });
    shape.candidates += d.candidates.length;
    shape.dropped += d.dropped.length;
    shape.reasons += d.candidates.reduce((s, c) => s + c.reasons.length, 0) + d.dropped.reduce((s, x) => s + x.reasons.length, 0);
    shape.explored += d.explored ? 1 : 0;
    shape.trial += d.candidates[0]?.tier === "trial" ? 1 : 0;
  });
  const perDecision = (total: number) => (total / poolSize).toFixed(2);
  log(
    `pool: ${poolSize} orders; per decision on average ${perDecision(shape.candidates)} candidates, ${perDecision(shape.dropped)} dropped, ` +
      `${perDecision(shape.reasons)} reasons; ${shape.explored} explored, ${shape.trial} on the e-CNY trial`,
  );

  // Warm-up (JIT), then the rates that size each side's rounds.
  subject(50_000);
  baseline(50_000);
  const warmupCount = 200_000;
  const subjectCount = sizeRound(rate(warmupCount, subject(warmupCount)), warmupCount, 200_000_000);
  const baselineCount = sizeRound(rate(warmupCount, baseline(warmupCount)), warmupCount, 200_000_000);
  log(`warm-up sized the rounds: baseline ${baselineCount} sorts, subject ${subjectCount} decisions`);

  const baselineRates: number[] = [];
  const subjectRates: number[] = [];
  for (let round = 0; round < roundCount; round += 1) {
    const baselineMs = baseline(baselineCount);
    const subjectMs = subject(subjectCount);
    baselineRates.push(rate(baselineCount, baselineMs));
    subjectRates.push(rate(subjectCount, subjectMs));
    log(
      `round ${round + 1}: baseline ${baselineRates[round]} sorts/s (${(baselineMs / 1_000).toFixed(1)} s), ` +
        `route ${subjectRates[round]} decisions/s (${(subjectMs / 1_000).toFixed(1)} s)`,
    );
  }
  // Not the goal: the rate when every sentence is read too (the PreviewRoute path), one round.
  subjectExplained(50_000);
  const explainedCount = Math.max(50_000, Math.round(subjectCount / 3));
  const explainedPerSecond = rate(explainedCount, subjectExplained(explainedCount));
  log(`route() with every reason's sentence read (PreviewRoute's path, not the goal): ${explainedPerSecond} decisions/s`);
  const baselineSpread = spreadOf(baselineRates);
  const subjectSpread = spreadOf(subjectRates);
  const ratioSpread = spreadOf(pairedRatios(subjectRates, baselineRates), 4);
  log(describeSpread("baseline: copy + sort 5 precomputed scores", baselineSpread, "/s"));
  log(describeSpread("route(): decision with every reason (sentences written when read)", subjectSpread, "decisions/s"));
  log(describeSpread("ratio", ratioSpread, "×"));
  log(`goal ≥ ${goal} decisions/s on one core: ${subjectSpread.median >= goal ? "met" : "NOT met"} (sink ${sink})`);
  return { explainedPerSecond, subjectCount, baselineCount, subjectRates, baselineRates, subjectSpread, baselineSpread, ratioSpread, goalMet: subjectSpread.median >= goal };
}

/** The goals: decisions/s of the pure half, the e2e ratio, our CPU per payment. */
const goal = 100_000;
const ratioGoal = 0.3;
const cpuMsGoal = 1.0;

const pure = parts.has("pure") ? measurePure() : undefined;
const e2e: EndToEndReport | undefined = parts.has("e2e") ? await measureEndToEnd() : undefined;
if (e2e !== undefined) {
  const verdict = (met: boolean) => (met ? "met" : "NOT met");
  log(`e2e goal ratio ≥ ${ratioGoal}: ${verdict(e2e.ratio.median >= ratioGoal)} (${e2e.ratio.median}); goal payment-routing CPU ≤ ${cpuMsGoal} ms/payment: ${verdict(e2e.subject.cpuMsPerPayment.median <= cpuMsGoal)} (${e2e.subject.cpuMsPerPayment.median})`);
}
console.log(
  JSON.stringify({
    bench: "routing",
    subject: {
      name: "pure: route() with the example policy, every reason's code decided (its sentence is written when read; explainedDecisionsPerSecond reads them all); e2e: OrderAccepted on orders.v1 to PaymentCaptured on payments.v1 through payment-routing (own process) and the sandbox",
      rounds: roundCount,
      decisionsPerRound: pure?.subjectCount,
      decisionsPerSecond: pure?.subjectSpread.median,
      roundDecisionsPerSecond: pure?.subjectRates,
      explainedDecisionsPerSecond: pure?.explainedPerSecond,
      paymentsPerRound: e2e?.subject.paymentsPerRound,
      paymentsPerSecond: e2e?.subject.paymentsPerSecond.median,
      roundPaymentsPerSecond: e2e?.subject.paymentsPerSecond.rounds,
      cpuMsPerPayment: e2e?.subject.cpuMsPerPayment.median,
      roundCpuMsPerPayment: e2e?.subject.cpuMsPerPayment.rounds,
      idleCpuMsPerSecond: e2e?.subject.idleCpuMsPerSecond,
      databaseTransactionsPerPayment: e2e?.subject.databaseTransactionsPerPayment.median,
      databaseRowsWrittenPerPayment: e2e?.subject.databaseRowsWrittenPerPayment.median,
      benchProcessCpuMsPerPayment: e2e?.subject.benchCpuMsPerPayment.median,
      failedPayments: e2e?.subject.failed,
    },
    baseline: {
      name: "pure: copy and sort the same 5 candidates by a precomputed score; e2e: the service's adapters' signed createPayment straight to the sandbox, same mix and concurrency",
      rounds: roundCount,
      sortsPerRound: pure?.baselineCount,
      sortsPerSecond: pure?.baselineSpread.median,
      roundSortsPerSecond: pure?.baselineRates,
      signedRequestsPerRound: e2e?.baseline.requestsPerRound,
      signedRequestsPerSecond: e2e?.baseline.signedRequestsPerSecond.median,
      roundSignedRequestsPerSecond: e2e?.baseline.signedRequestsPerSecond.rounds,
      benchProcessCpuMsPerRequest: e2e?.baseline.benchCpuMsPerRequest.median,
    },
    ratio: e2e?.ratio.median ?? null,
    ratioOf: "e2e: payments/s ÷ signed requests/s, median of the per-round ratios",
    decisionRatio: pure?.ratioSpread.median,
    goal: ratioGoal,
    goalOf: "ratio",
    goalMet: e2e === undefined ? null : e2e.ratio.median >= ratioGoal,
    goals: {
      decisionsPerSecond: { goal, met: pure?.goalMet ?? null },
      ratio: { goal: ratioGoal, met: e2e === undefined ? null : e2e.ratio.median >= ratioGoal },
      cpuMsPerPayment: { goal: cpuMsGoal, met: e2e === undefined ? null : e2e.subject.cpuMsPerPayment.median <= cpuMsGoal },
    },
    rsaBound:
      e2e === undefined
        ? undefined
        : {
            paymentsPerSecond: e2e.rsa.boundPaymentsPerSecond,
            baselineRequestsPerSecond: e2e.rsa.boundBaselineRequestsPerSecond,
            msPerPayment: e2e.rsa.msPerPayment,
            msPerPaymentSandbox: e2e.rsa.msPerPaymentSandbox,
            msPerPaymentOurs: e2e.rsa.msPerPaymentOurs,
            signsPerSecondPerCore: e2e.rsa.signsPerSecond.median,
            verifiesPerSecondPerCore: e2e.rsa.verifiesPerSecond.median,
            cores: e2e.rsa.cores,
          },
    endToEnd:
      e2e === undefined
        ? "not run (BENCH_ROUTING_PARTS)"
        : { concurrency: e2e.concurrency, providerMix: e2e.providerMix, capturedByProvider: e2e.capturedByProvider, loadAverages: e2e.loadAverages, serviceLog: e2e.serviceLog },
    reference: { name: "Juspay decision engine, published peak per 2-CPU pod over HTTP with Redis", decisionsPerSecond: 835 },
    spread: {
      baseline: pure?.baselineSpread,
      subject: pure?.subjectSpread,
      decisionRatio: pure?.ratioSpread,
      signedRequests: e2e?.baseline.signedRequestsPerSecond,
      payments: e2e?.subject.paymentsPerSecond,
      cpuMsPerPayment: e2e?.subject.cpuMsPerPayment,
      ratio: e2e?.ratio,
      rsaSigns: e2e?.rsa.signsPerSecond,
      rsaVerifies: e2e?.rsa.verifiesPerSecond,
    },
    agreed: [pure?.baselineSpread.agreed, pure?.subjectSpread.agreed, e2e?.baseline.signedRequestsPerSecond.agreed, e2e?.subject.paymentsPerSecond.agreed].every((a) => a !== false),
  }),
);

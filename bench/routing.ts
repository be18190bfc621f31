/**
 * `npm run bench -- routing`: pure routing decisions per second on one core, against a raw
 * baseline measured in the same run.
 * - subject: `route()` of @tributary/payment-routing with the example policy (5 rails, 2 merchants,
 *   3 rules incl. AND/OR/NOT and a time window, a trial roll-out of e-CNY at its 10 % step with
 *   allowlists and an excluded category), a health book for every rail × channel (125-attempt
 *   windows, one rail half-open on one channel) and a pre-drawn exploration number per decision:
 *   the full decision with every kept/dropped/ranked reason and its text.
 * - baseline: the same five-rail candidate list copied and sorted by a precomputed score — what
 *   any router does at the least; no rules, roll-out hash, health, fee maths or explanations.
 * Both cycle through the same 4,096 pre-built orders (varied merchants, buyers, categories,
 * channels, countries, amounts, preferences), so neither measures order construction.
 * Rounds: a warm-up measures each side's rate; each side's rounds then last BENCH_ROUND_SECONDS
 * (5 s), BENCH_ROUNDS (5) alternating rounds (bench/_rounds.ts). `ratio` is the median of the
 * per-round subject/baseline rate ratios (how much of the raw sort's speed a full decision keeps);
 * `goal` is the absolute target, 100,000 decisions/s on one core (Juspay's decision engine
 * publishes ~835 decisions/s per 2-CPU pod, over HTTP with Redis — not comparable one to one).
 * Last stdout line: `{"bench":"routing","subject":{"decisionsPerSecond":…},"baseline":{…},"ratio":…,"goal":100000,…}`.
 *
 * Not built: the end-to-end half (payments/s through the routing service and the provider
 * sandbox) needs the payment-routing service, which does not exist yet.
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
const baselineSpread = spreadOf(baselineRates);
const subjectSpread = spreadOf(subjectRates);
const ratioSpread = spreadOf(pairedRatios(subjectRates, baselineRates), 4);
const goal = 100_000;
log(describeSpread("baseline: copy + sort 5 precomputed scores", baselineSpread, "/s"));
log(describeSpread("route(): full explained decision", subjectSpread, "decisions/s"));
log(describeSpread("ratio", ratioSpread, "×"));
log(`goal ≥ ${goal} decisions/s on one core: ${subjectSpread.median >= goal ? "met" : "NOT met"} (sink ${sink})`);
console.log(
  JSON.stringify({
    bench: "routing",
    subject: {
      name: "route() with the example policy, every reason explained",
      rounds: roundCount,
      decisionsPerRound: subjectCount,
      decisionsPerSecond: subjectSpread.median,
      roundDecisionsPerSecond: subjectRates,
    },
    baseline: {
      name: "copy and sort the same 5 candidates by a precomputed score",
      rounds: roundCount,
      sortsPerRound: baselineCount,
      sortsPerSecond: baselineSpread.median,
      roundSortsPerSecond: baselineRates,
    },
    ratio: ratioSpread.median,
    goal,
    goalOf: "subject.decisionsPerSecond",
    goalMet: subjectSpread.median >= goal,
    reference: { name: "Juspay decision engine, published peak per 2-CPU pod over HTTP with Redis", decisionsPerSecond: 835 },
    endToEnd: "not built: needs the payment-routing service",
    spread: { baseline: baselineSpread, subject: subjectSpread, ratio: ratioSpread },
    agreed: baselineSpread.agreed && subjectSpread.agreed,
  }),
);

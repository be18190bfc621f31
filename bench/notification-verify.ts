/**
 * `npm run bench -- notification-verify`: the cost of verifying one provider notification, per
 * provider, against the raw cryptographic primitive it is built on, measured in the same run.
 * - subjects: each adapter's `verifyNotification` (the webhook layer's first step) on a genuine
 *   payment notification the provider sandbox sent — Alipay (form, RSA2 over the sorted fields),
 *   WeChat Pay (headers over the exact bytes, RSA-2048, then AES-256-GCM decrypt and JSON),
 *   UnionPay (form, SHA-256 hex then SHA256withRSA, the key we hold), JD Pay and e-CNY (HMAC-SHA256
 *   over status, timestamp, nonce and body, then JSON) — decoded into a report, as the server does.
 * - baselines: one bare RSA-2048 SHA-256 verification of a 1 KiB message (node:crypto, parsed
 *   key), and one bare HMAC-SHA256 of the JD Pay notification body (hex digest).
 * The notifications are captured once at start (a sandbox, a payment per provider, the buyer
 * pays, a local endpoint keeps the bytes) and verified over and over; every verification must
 * succeed. Rounds: a warm-up measures each side; each side's rounds last BENCH_ROUND_SECONDS
 * (5 s), BENCH_ROUNDS (5) rounds, every side once per round in turn (bench/_rounds.ts).
 * Reported in µs per verification (median of the rounds, with spread); `ratio` per provider is the
 * median of the per-round ratios subject/baseline time (RSA providers against the RSA baseline,
 * HMAC ones against the HMAC baseline); the top-level `ratio` is the largest of them.
 * Last stdout line: `{"bench":"notification-verify","subject":{"microsPerVerification":{…}},"baseline":{…},"ratio":…,…}`.
 */
import { createHmac, createSign, createVerify, generateKeyPairSync } from "node:crypto";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { PROVIDER_IDS, sandboxProviderName, type ProviderId } from "@tributary/contracts";
import { money } from "@tributary/money";
import {
  createAlipayAdapter,
  createEcnyAdapter,
  createJdPayAdapter,
  createUnionpayAdapter,
  createWechatAdapter,
  inMemoryUnionpayOrders,
} from "@tributary/payment-routing";
import { startSandbox } from "@tributary/provider-sandbox";
import { describeSpread, log, median, roundCount, sizeRound, spreadOf } from "./_rounds.js";

type Adapter = ReturnType<typeof createJdPayAdapter>;
type Raw = Parameters<Adapter["verifyNotification"]>[0];

// --- capture one genuine payment notification per provider ---------------------------------
const captured = new Map<ProviderId, Raw>();
const hook = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    const provider = (req.url ?? "").slice(1) as ProviderId;
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
    if (!captured.has(provider)) captured.set(provider, { headers, body: Buffer.concat(chunks) });
    const adapter = adapters.get(provider);
    const ack = adapter?.acknowledgement(true) ?? { status: 404, headers: {}, body: "" };
    res.writeHead(ack.status, ack.headers).end(ack.body);
  });
});
hook.listen(0, "127.0.0.1");
await once(hook, "listening");
const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}`;

const sandbox = await startSandbox({ port: 0, seed: 909, buyer: { mode: "manual" } });
const credentials = sandbox.providers;
const timeoutMs = 5_000;
const adapters = new Map<ProviderId, Adapter>([
  ["alipay", createAlipayAdapter({ ...credentials.alipay, timeoutMs })],
  ["wechat_pay", createWechatAdapter({ ...credentials.wechat, timeoutMs })],
  ["unionpay", createUnionpayAdapter({ ...credentials.unionpay, timeoutMs, orders: inMemoryUnionpayOrders() })],
  ["jd_pay", createJdPayAdapter({ ...credentials.jdpay, timeoutMs })],
  ["ecny", createEcnyAdapter({ ...credentials.ecny, timeoutMs })],
]);
let seq = 0;
for (const provider of PROVIDER_IDS) {
  const paymentId = `B${Date.now()}${(seq += 1)}`;
  const created = await adapters.get(provider)!.createPayment({
    paymentId,
    orderId: `O${paymentId}`,
    merchantId: "m-bench",
    amount: money(129_902n, "CNY"),
    channel: "web",
    description: "通知验签基准",
    notifyUrl: `${hookUrl}/${provider}`,
    expiresAt: new Date(Date.now() + 30 * 60_000),
  });
  if (!created.ok) throw new Error(`${provider}: create failed: ${JSON.stringify(created.error)}`);
  if (!sandbox.pay(sandboxProviderName(provider), paymentId)) throw new Error(`${provider}: the buyer could not pay`);
}
const deadline = Date.now() + 20_000;
while (captured.size < PROVIDER_IDS.length) {
  if (Date.now() > deadline) throw new Error(`notifications captured only for ${[...captured.keys()].join(", ")}`);
  await new Promise((resolve) => setTimeout(resolve, 25));
}
await sandbox.stop();
hook.closeAllConnections();
hook.close();
for (const provider of PROVIDER_IDS) {
  const verified = adapters.get(provider)!.verifyNotification(captured.get(provider)!);
  if (!verified.ok) throw new Error(`${provider}: the captured notification does not verify: ${JSON.stringify(verified.error)}`);
  log(`${provider}: ${captured.get(provider)!.body.length} bytes of ${captured.get(provider)!.headers["content-type"] ?? "?"}, verifies as ${verified.value.kind} ${verified.value.notificationId}`);
}

// --- the sides ---------------------------------------------------------------------------------
let sink = 0;
const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const rsaMessage = "k=v&".repeat(256);
const rsaSignature = createSign("RSA-SHA256").update(rsaMessage, "utf8").sign(privateKey, "base64");
const hmacBody = captured.get("jd_pay")!.body.toString("utf8");

interface Side {
  readonly name: string;
  run(count: number): number; // elapsed ms
}
const timed = (work: () => void) => (count: number) => {
  const startedAt = performance.now();
  for (let i = 0; i < count; i += 1) work();
  return performance.now() - startedAt;
};
const baselines: Record<"rsa" | "hmac", Side> = {
  rsa: {
    name: "bare RSA-2048 SHA-256 verify of 1 KiB (node:crypto, parsed key)",
    run: timed(() => {
      sink += createVerify("RSA-SHA256").update(rsaMessage, "utf8").verify(publicKey, rsaSignature, "base64") ? 1 : 0;
    }),
  },
  hmac: {
    name: "bare HMAC-SHA256 hex of the JD Pay notification body",
    run: timed(() => {
      sink += createHmac("sha256", "bench-secret-0123456789").update(`0\n1764590000\nnonce\n${hmacBody}\n`, "utf8").digest("hex").length;
    }),
  },
};
const baselineOf: Record<ProviderId, "rsa" | "hmac"> = { alipay: "rsa", wechat_pay: "rsa", unionpay: "rsa", jd_pay: "hmac", ecny: "hmac" };
const subjects = new Map<ProviderId, Side>(
  PROVIDER_IDS.map((provider) => {
    const adapter = adapters.get(provider)!;
    const raw = captured.get(provider)!;
    return [provider, { name: `${provider} verifyNotification`, run: timed(() => void (sink += adapter.verifyNotification(raw).ok ? 1 : 0)) }];
  }),
);
const sides: [string, Side][] = [["rsa", baselines.rsa], ["hmac", baselines.hmac], ...[...subjects].map(([p, s]): [string, Side] => [p, s])];

// --- rounds ------------------------------------------------------------------------------------
const warmupCount = 2_000;
const counts = new Map<string, number>();
for (const [key, side] of sides) {
  side.run(warmupCount);
  const ms = side.run(warmupCount);
  counts.set(key, sizeRound(warmupCount / (ms / 1_000), warmupCount, 50_000_000));
}
log(`warm-up sized the rounds: ${sides.map(([key]) => `${key} ${counts.get(key)}`).join(", ")}`);
const micros = new Map<string, number[]>(sides.map(([key]) => [key, []]));
for (let round = 0; round < roundCount; round += 1) {
  const line: string[] = [];
  for (const [key, side] of sides) {
    const count = counts.get(key)!;
    const us = (side.run(count) * 1_000) / count;
    micros.get(key)!.push(us);
    line.push(`${key} ${us.toFixed(2)} µs`);
  }
  log(`round ${round + 1}: ${line.join(", ")}`);
}

const spreads = new Map([...micros].map(([key, values]) => [key, spreadOf(values, 2)]));
for (const [key, side] of sides) log(describeSpread(side.name, spreads.get(key)!, "µs"));
const ratios = Object.fromEntries(
  PROVIDER_IDS.map((provider) => {
    const own = micros.get(provider)!;
    const base = micros.get(baselineOf[provider])!;
    return [provider, Number(median(own.map((us, i) => us / base[i]!)).toFixed(2))];
  }),
) as Record<ProviderId, number>;
for (const provider of PROVIDER_IDS) log(`${provider}: ${spreads.get(provider)!.median} µs per verification, ${ratios[provider]}× the bare ${baselineOf[provider].toUpperCase()} (sink ${sink})`);
const agreed = [...spreads.values()].every((s) => s.agreed);
console.log(
  JSON.stringify({
    bench: "notification-verify",
    subject: {
      name: "ProviderAdapter.verifyNotification on a genuine sandbox payment notification",
      rounds: roundCount,
      microsPerVerification: Object.fromEntries(PROVIDER_IDS.map((p) => [p, spreads.get(p)!.median])),
      roundMicros: Object.fromEntries(PROVIDER_IDS.map((p) => [p, spreads.get(p)!.rounds])),
    },
    baseline: {
      rsa: { name: baselines.rsa.name, microsPerVerification: spreads.get("rsa")!.median, roundMicros: spreads.get("rsa")!.rounds },
      hmac: { name: baselines.hmac.name, microsPerDigest: spreads.get("hmac")!.median, roundMicros: spreads.get("hmac")!.rounds },
    },
    ratios,
    ratio: Math.max(...Object.values(ratios)),
    ratioOf: "largest per-provider median of per-round (verifyNotification time / its bare primitive's time)",
    spread: Object.fromEntries(spreads),
    agreed,
  }),
);

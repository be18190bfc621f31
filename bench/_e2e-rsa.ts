/**
 * The signature bound of `npm run bench -- e2e`: the payments per second the machine's cores could
 * sustain if the provider signatures of the mix (the sandbox's and ours) were the only work. The
 * per-rail counts are bench/_routing-e2e.ts's (counted in the code: create = we sign, the sandbox
 * verifies and signs its answer, we verify it; notification = the sandbox signs, our webhook
 * verifies); order and settlement sign nothing. JD Pay and e-CNY sign with HMAC-SHA256, the same
 * six operations each, counted here as HMACs (3 by each side).
 */
import { createHmac, createSign, createVerify, generateKeyPairSync } from "node:crypto";
import { availableParallelism } from "node:os";
import { PROVIDER_IDS, type ProviderId } from "@tributary/contracts";
import { rsaOperations } from "./_routing-e2e.js";

/** HMAC-SHA256 operations per payment, both sides, on the HMAC rails (create + answer + notification, each signed and verified). */
const hmacOperations: Readonly<Record<ProviderId, number>> = { alipay: 0, wechat_pay: 0, unionpay: 0, jd_pay: 6, ecny: 6 };

const rsaKeys = generateKeyPairSync("rsa", { modulusLength: 2048 });
/** About the size of a WeChat create's signing string. */
const message = `POST\n/v3/pay/transactions/native\n1764590000\n${"n".repeat(32)}\n${"{".padEnd(320, "x")}}\n`;
const signature = createSign("RSA-SHA256").update(message).sign(rsaKeys.privateKey);
const hmacKey = Buffer.alloc(32, 7);

/** Bare per-core rates of the three primitives on this thread. */
export interface SignatureRates {
  readonly rsaSignsPerSecond: number;
  readonly rsaVerifiesPerSecond: number;
  readonly hmacsPerSecond: number;
}

/** Measures RSA-2048 SHA256withRSA sign (1 s) and verify (0.5 s) and HMAC-SHA256 (0.3 s) on one core, parsed keys. */
export function measureSignatureRates(): SignatureRates {
  const timed = (ms: number, op: () => void): number => {
    let count = 0;
    const started = performance.now();
    while (performance.now() - started < ms) {
      for (let i = 0; i < 20; i += 1) op();
      count += 20;
    }
    return Math.round((count * 1_000) / (performance.now() - started));
  };
  return {
    rsaSignsPerSecond: timed(1_000, () => void createSign("RSA-SHA256").update(message).sign(rsaKeys.privateKey)),
    rsaVerifiesPerSecond: timed(500, () => {
      if (!createVerify("RSA-SHA256").update(message).verify(rsaKeys.publicKey, signature)) throw new Error("RSA verify failed");
    }),
    hmacsPerSecond: timed(300, () => void createHmac("sha256", hmacKey).update(message).digest()),
  };
}

/** The bound for the rails actually captured: cores ÷ signature CPU seconds per payment. */
export function signatureBound(captured: Readonly<Record<string, number>>, rates: SignatureRates) {
  const total = Object.values(captured).reduce((sum, n) => sum + n, 0);
  let rsaMs = 0;
  let hmacMs = 0;
  for (const provider of PROVIDER_IDS) {
    const share = total === 0 ? 0 : (captured[provider] ?? 0) / total;
    const ops = rsaOperations[provider];
    rsaMs += share * (((ops.sandbox.signs + ops.ours.signs) * 1_000) / rates.rsaSignsPerSecond + ((ops.sandbox.verifies + ops.ours.verifies) * 1_000) / rates.rsaVerifiesPerSecond);
    hmacMs += share * ((hmacOperations[provider] * 1_000) / rates.hmacsPerSecond);
  }
  const cores = availableParallelism();
  const msPerPayment = rsaMs + hmacMs;
  return {
    cores,
    rsaMsPerPayment: Number(rsaMs.toFixed(4)),
    hmacMsPerPayment: Number(hmacMs.toFixed(5)),
    msPerPayment: Number(msPerPayment.toFixed(4)),
    boundPaymentsPerSecond: msPerPayment === 0 ? Number.POSITIVE_INFINITY : Math.round((cores * 1_000) / msPerPayment),
  };
}

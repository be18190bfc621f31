import { createHash, createPrivateKey, createPublicKey, createSign, createVerify, randomBytes, type KeyObject } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { err, ok, type Result } from "@tributary/result";
import { transportError, type BillFetchError, type BillSource, type FetchedBill } from "../bill-source.js";

/** What the WeChat bill download needs: our merchant key and the platform key we hold. */
export interface WechatBillConfig {
  readonly baseUrl: string;
  readonly mchid: string;
  readonly merchantSerial: string;
  readonly merchantPrivateKeyPem: string;
  readonly platformSerial: string;
  readonly platformPublicKeyPem: string;
  readonly billType?: "ALL" | "SUCCESS" | "REFUND";
  readonly timeoutMs?: number;
  readonly now?: () => Date;
}

const SCHEME = "WECHATPAY2-SHA256-RSA2048";

// The signing below mirrors payment-routing's WeChat transformers (authorizationHeader,
// verifyWechatSignature), which that package does not export; a small copy, kept to the same rules.
function authorization(config: WechatBillConfig, key: KeyObject, method: string, pathAndQuery: string, nowMs: number): string {
  const timestamp = String(Math.floor(nowMs / 1000));
  const nonce = randomBytes(16).toString("hex").toUpperCase();
  const signature = createSign("RSA-SHA256").update(`${method}\n${pathAndQuery}\n${timestamp}\n${nonce}\n\n`, "utf8").sign(key, "base64");
  return `${SCHEME} mchid="${config.mchid}",nonce_str="${nonce}",signature="${signature}",timestamp="${timestamp}",serial_no="${config.merchantSerial}"`;
}

function verifyAnswer(headers: Headers, body: Buffer, serial: string, key: KeyObject): string | undefined {
  const timestamp = headers.get("wechatpay-timestamp");
  const nonce = headers.get("wechatpay-nonce");
  const signature = headers.get("wechatpay-signature");
  if (timestamp === null || nonce === null || signature === null) return "the answer is not signed (Wechatpay-Timestamp, -Nonce, -Signature)";
  if (headers.get("wechatpay-serial") !== serial) return `Wechatpay-Serial ${headers.get("wechatpay-serial") ?? ""} is not the platform key we hold`;
  const message = Buffer.concat([Buffer.from(`${timestamp}\n${nonce}\n`), body, Buffer.from("\n")]);
  try {
    return createVerify("RSA-SHA256").update(message).verify(key, signature, "base64") ? undefined : "Wechatpay-Signature does not verify";
  } catch {
    return "Wechatpay-Signature does not verify";
  }
}

/**
 * WeChat Pay's trade bill through API v3: `GET /v3/bill/tradebill` (signed; its answer's
 * `Wechatpay-*` signature checked with the platform key we hold) names a short-lived
 * `download_url` and the file's SHA-1; the file itself is fetched with a signed request and its
 * answer is not signed, so its SHA-1 is checked instead. A bill not yet generated
 * (`NO_STATEMENT_EXIST`) is `bill_not_ready`, worth retrying later.
 */
export function createWechatBillSource(config: WechatBillConfig): BillSource {
  const merchantKey = createPrivateKey(config.merchantPrivateKeyPem);
  const platformKey = createPublicKey(config.platformPublicKeyPem);
  const now = config.now ?? (() => new Date());
  const billType = config.billType ?? "ALL";
  const get = async (url: URL): Promise<{ status: number; headers: Headers; body: Buffer }> => {
    const response = await fetch(url, {
      headers: { authorization: authorization(config, merchantKey, "GET", `${url.pathname}${url.search}`, now().getTime()), accept: "application/json" },
      signal: AbortSignal.timeout(config.timeoutMs ?? 30_000),
    });
    return { status: response.status, headers: response.headers, body: Buffer.from(await response.arrayBuffer()) };
  };
  return {
    async fetch(billDate: string): Promise<Result<FetchedBill, BillFetchError>> {
      const apiUrl = new URL(`${config.baseUrl.replace(/\/$/, "")}/v3/bill/tradebill?bill_date=${billDate}&bill_type=${billType}`);
      let answer: Awaited<ReturnType<typeof get>>;
      try {
        answer = await get(apiUrl);
      } catch (error) {
        return err(transportError("WeChat tradebill", error));
      }
      if (answer.status >= 500) return err({ code: "provider_error", message: `WeChat tradebill: HTTP ${answer.status}`, retryable: true });
      const problem = verifyAnswer(answer.headers, answer.body, config.platformSerial, platformKey);
      if (problem !== undefined) return err({ code: "bad_signature", message: `WeChat tradebill: ${problem}`, retryable: false });
      let json: { code?: unknown; message?: unknown; hash_type?: unknown; hash_value?: unknown; download_url?: unknown };
      try {
        json = JSON.parse(answer.body.toString("utf8")) as typeof json;
      } catch {
        return err({ code: "provider_error", message: "WeChat tradebill: the answer is not JSON", retryable: true });
      }
      if (answer.status !== 200) {
        const code = typeof json.code === "string" ? json.code : `HTTP ${answer.status}`;
        return err({ code: code === "NO_STATEMENT_EXIST" ? "bill_not_ready" : "provider_error", message: `WeChat tradebill: ${code} ${typeof json.message === "string" ? json.message : ""}`, retryable: code === "NO_STATEMENT_EXIST" || code === "SYSTEM_ERROR" });
      }
      if (json.hash_type !== "SHA1" || typeof json.hash_value !== "string" || typeof json.download_url !== "string") {
        return err({ code: "provider_error", message: "WeChat tradebill: the answer lacks hash_type SHA1, hash_value or download_url", retryable: false });
      }
      let file: Awaited<ReturnType<typeof get>>;
      try {
        file = await get(new URL(json.download_url));
      } catch (error) {
        return err(transportError("WeChat bill download", error));
      }
      if (file.status !== 200) return err({ code: "download_failed", message: `WeChat bill download: HTTP ${file.status}`, retryable: true });
      // tar_type=GZIP files are gzipped; the hash is of the raw bill (we do not ask for GZIP).
      const raw = file.body[0] === 0x1f && file.body[1] === 0x8b ? gunzipSync(file.body) : file.body;
      const sha1 = createHash("sha1").update(raw).digest("hex");
      if (sha1 !== json.hash_value.toLowerCase()) {
        return err({ code: "digest_mismatch", message: `WeChat bill download: SHA-1 ${sha1}, the API said ${json.hash_value}`, retryable: true });
      }
      return ok({ fileName: `wechat_tradebill_${billDate}_${billType}.csv`, bytes: raw, providerDigest: { algorithm: "SHA1", hex: sha1 } });
    },
  };
}

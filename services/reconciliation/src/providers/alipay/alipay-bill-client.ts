import { createPrivateKey, createPublicKey, createSign, createVerify } from "node:crypto";
import { err, ok, type Result } from "@tributary/result";
import { transportError, type BillFetchError, type BillSource, type FetchedBill } from "../bill-source.js";

/** What the Alipay bill download needs: the gateway, our app key, Alipay's public key. */
export interface AlipayBillConfig {
  readonly gatewayUrl: string;
  readonly appId: string;
  readonly appPrivateKeyPem: string;
  readonly alipayPublicKeyPem: string;
  readonly timeoutMs?: number;
  readonly now?: () => Date;
}

const METHOD = "alipay.data.dataservice.bill.downloadurl.query";

// RSA2 request signing and response verification as payment-routing's Alipay transformers do them
// (alipaySigningString, rsa2Sign, verifyAlipayResponse — not exported by that package): a small copy.
function signingString(params: Readonly<Record<string, string>>): string {
  return Object.keys(params)
    .filter((key) => key !== "sign" && params[key] !== "")
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((key) => `${key}=${params[key] ?? ""}`)
    .join("&");
}

/**
 * The raw JSON text of `<method>_response` in `{"<method>_response":{…},"sign":"…"}`: Alipay signs
 * those exact characters, so they are cut out of the body, never re-serialised.
 */
function signedPart(body: string, key: string): { raw: string; sign: string } | undefined {
  const head = `{"${key}":`;
  const signAt = body.lastIndexOf(',"sign":"');
  if (!body.startsWith(head) || signAt === -1) return undefined;
  const sign = /^,"sign":"([^"]+)"\}\s*$/.exec(body.slice(signAt));
  return sign === null ? undefined : { raw: body.slice(head.length, signAt), sign: sign[1] ?? "" };
}

/**
 * Alipay's trade bill: `alipay.data.dataservice.bill.downloadurl.query` (RSA2-signed, its answer's
 * signature checked with Alipay's key) gives a short-lived `bill_download_url`, whose answer is the
 * `{account}_{yyyyMMdd}.csv.zip` archive. `isp.bill_not_exist` is `bill_not_ready`.
 */
export function createAlipayBillSource(config: AlipayBillConfig): BillSource {
  const appKey = createPrivateKey(config.appPrivateKeyPem);
  const alipayKey = createPublicKey(config.alipayPublicKeyPem);
  const now = config.now ?? (() => new Date());
  const timeout = (): AbortSignal => AbortSignal.timeout(config.timeoutMs ?? 30_000);
  return {
    async fetch(billDate: string): Promise<Result<FetchedBill, BillFetchError>> {
      const params: Record<string, string> = {
        app_id: config.appId,
        method: METHOD,
        format: "JSON",
        charset: "utf-8",
        sign_type: "RSA2",
        timestamp: new Date(now().getTime() + 8 * 3_600_000).toISOString().slice(0, 19).replace("T", " "),
        version: "1.0",
        biz_content: JSON.stringify({ bill_type: "trade", bill_date: billDate }),
      };
      params["sign"] = createSign("RSA-SHA256").update(signingString(params), "utf8").sign(appKey, "base64");
      let body: string;
      try {
        const response = await fetch(config.gatewayUrl, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded;charset=utf-8" },
          body: new URLSearchParams(params).toString(),
          signal: timeout(),
        });
        if (response.status !== 200) return err({ code: "provider_error", message: `Alipay ${METHOD}: HTTP ${response.status}`, retryable: true });
        body = await response.text();
      } catch (error) {
        return err(transportError(`Alipay ${METHOD}`, error));
      }
      const part = signedPart(body, `${METHOD.replaceAll(".", "_")}_response`) ?? signedPart(body, "error_response");
      if (part === undefined) return err({ code: "bad_signature", message: `Alipay ${METHOD}: the answer is not a signed response`, retryable: false });
      let verified = false;
      try {
        verified = createVerify("RSA-SHA256").update(part.raw, "utf8").verify(alipayKey, part.sign, "base64");
      } catch {
        verified = false;
      }
      if (!verified) return err({ code: "bad_signature", message: `Alipay ${METHOD}: the answer's signature does not verify`, retryable: false });
      const payload = JSON.parse(part.raw) as Record<string, unknown>;
      if (payload["code"] !== "10000" || typeof payload["bill_download_url"] !== "string") {
        const sub = typeof payload["sub_code"] === "string" ? payload["sub_code"] : String(payload["code"]);
        return err({ code: sub === "isp.bill_not_exist" ? "bill_not_ready" : "provider_error", message: `Alipay ${METHOD}: ${sub} ${typeof payload["sub_msg"] === "string" ? payload["sub_msg"] : ""}`, retryable: sub === "isp.bill_not_exist" });
      }
      try {
        const file = await fetch(payload["bill_download_url"], { signal: timeout() });
        if (file.status !== 200) return err({ code: "download_failed", message: `Alipay bill download: HTTP ${file.status}`, retryable: true });
        const disposition = /filename="([^"]+)"/.exec(file.headers.get("content-disposition") ?? "");
        const fileName = disposition === null ? `alipay_${billDate.replaceAll("-", "")}.csv.zip` : decodeURIComponent(disposition[1] ?? "");
        return ok({ fileName, bytes: Buffer.from(await file.arrayBuffer()), providerDigest: undefined });
      } catch (error) {
        return err(transportError("Alipay bill download", error));
      }
    },
  };
}

import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { err, ok, type Result } from "@tributary/result";
import { transportError, type BillFetchError, type BillSource, type FetchedBill } from "../bill-source.js";

/** What the JD Pay / e-CNY bill download needs. */
export interface GenericBillConfig {
  /** The API base, e.g. `http://sandbox/jdpay/v1`. */
  readonly baseUrl: string;
  readonly merchantId: string;
  readonly secret: string;
  /** The provider's name in file names (`jdpay`, `ecny`). */
  readonly providerName: string;
  readonly timeoutMs?: number;
  readonly now?: () => Date;
}

// HMAC-SHA256 signing as payment-routing's hmac-json client does it (hmacRequestMessage,
// hmacResponseMessage — not exported from that package): a small copy of the documented message.
const hmacHex = (secret: string, message: string): string => createHmac("sha256", secret).update(message, "utf8").digest("hex");

/**
 * The JD Pay / e-CNY daily bill of our own API: `GET /bills/{YYYY-MM-DD}` with the HMAC-signed
 * `X-Sandbox-*` headers; the answer's HMAC (`STATUS\nTIMESTAMP\nNONCE\nBODY\n`) is checked before
 * the body is trusted. 404 `BILL_NOT_READY` is `bill_not_ready`.
 */
export function createGenericBillSource(config: GenericBillConfig): BillSource {
  const now = config.now ?? (() => new Date());
  return {
    async fetch(billDate: string): Promise<Result<FetchedBill, BillFetchError>> {
      const url = new URL(`${config.baseUrl.replace(/\/$/, "")}/bills/${billDate}`);
      const timestamp = String(Math.floor(now().getTime() / 1000));
      const nonce = randomBytes(16).toString("hex");
      const signature = hmacHex(config.secret, `GET\n${url.pathname}${url.search}\n${timestamp}\n${nonce}\n\n`);
      let status: number;
      let headers: Headers;
      let body: Buffer;
      try {
        const response = await fetch(url, {
          headers: { "x-sandbox-merchant-id": config.merchantId, "x-sandbox-timestamp": timestamp, "x-sandbox-nonce": nonce, "x-sandbox-signature": signature },
          signal: AbortSignal.timeout(config.timeoutMs ?? 30_000),
        });
        status = response.status;
        headers = response.headers;
        body = Buffer.from(await response.arrayBuffer());
      } catch (error) {
        return err(transportError(`${config.providerName} bill`, error));
      }
      if (status >= 500) return err({ code: "provider_error", message: `${config.providerName} bill: HTTP ${status}`, retryable: true });
      const expected = hmacHex(config.secret, `${status}\n${headers.get("x-sandbox-timestamp") ?? ""}\n${headers.get("x-sandbox-nonce") ?? ""}\n${body.toString("utf8")}\n`);
      const given = Buffer.from(headers.get("x-sandbox-signature") ?? "", "utf8");
      if (given.length !== expected.length || !timingSafeEqual(given, Buffer.from(expected, "utf8"))) {
        return err({ code: "bad_signature", message: `${config.providerName} bill: the answer's signature does not verify`, retryable: false });
      }
      if (status === 404 && body.toString("utf8").includes("BILL_NOT_READY")) return err({ code: "bill_not_ready", message: `${config.providerName} bill: not ready`, retryable: true });
      if (status !== 200) return err({ code: "provider_error", message: `${config.providerName} bill: HTTP ${status} ${body.toString("utf8").slice(0, 200)}`, retryable: false });
      return ok({ fileName: `${config.providerName}_${billDate}.csv`, bytes: body, providerDigest: undefined });
    },
  };
}

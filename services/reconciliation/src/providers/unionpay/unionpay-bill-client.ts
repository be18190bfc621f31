import { createPrivateKey, createPublicKey } from "node:crypto";
import { inflateSync } from "node:zlib";
import { signUnionpayFields, verifyUnionpayFields } from "@tributary/payment-routing";
import { err, ok, type Result } from "@tributary/result";
import { transportError, type BillFetchError, type BillSource, type FetchedBill } from "../bill-source.js";

/** What the UnionPay file transfer needs: our merchant key and id, the platform key we hold. */
export interface UnionpayBillConfig {
  readonly fileTransferUrl: string;
  readonly merId: string;
  readonly merchantPrivateKeyPem: string;
  readonly merchantCertId: string;
  readonly platformPublicKeyPem: string;
  readonly platformCertId: string;
  readonly timeoutMs?: number;
  readonly now?: () => Date;
}

/** ACP answers are raw `k=v&…` text: split on `&` and the first `=`, without URL-decoding (as the SDK does). */
function parseAnswer(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const pair of text.split("&")) {
    const at = pair.indexOf("=");
    if (at > 0) fields[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return fields;
}

/**
 * UnionPay's merchant settlement file through ACP file transfer (`txnType=76`, `fileType=00`,
 * `settleDate=MMDD`), signed with `signMethod=01` by payment-routing's exported signer; the answer
 * is verified with the platform key we hold (never the key it carries). `fileContent` is base64 of
 * a deflated zip, which is what we keep: the zip holding the ZM and ZME files. `respCode=98`
 * (file not found) is `bill_not_ready`.
 */
export function createUnionpayBillSource(config: UnionpayBillConfig): BillSource {
  const merchantKey = createPrivateKey(config.merchantPrivateKeyPem);
  const platformKey = createPublicKey(config.platformPublicKeyPem);
  const now = config.now ?? (() => new Date());
  return {
    async fetch(billDate: string): Promise<Result<FetchedBill, BillFetchError>> {
      const txnTime = new Date(now().getTime() + 8 * 3_600_000).toISOString().replace(/[-:T]/g, "").slice(0, 14);
      const request = signUnionpayFields(
        { version: "5.1.0", encoding: "UTF-8", txnType: "76", txnSubType: "01", bizType: "000000", accessType: "0", merId: config.merId, fileType: "00", settleDate: billDate.slice(5).replace("-", ""), txnTime },
        merchantKey,
        config.merchantCertId,
      );
      let text: string;
      try {
        const response = await fetch(config.fileTransferUrl, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded; charset=UTF-8" },
          body: new URLSearchParams(Object.entries(request)).toString(),
          signal: AbortSignal.timeout(config.timeoutMs ?? 30_000),
        });
        if (response.status !== 200) return err({ code: "provider_error", message: `UnionPay fileTransfer: HTTP ${response.status}`, retryable: true });
        text = await response.text();
      } catch (error) {
        return err(transportError("UnionPay fileTransfer", error));
      }
      const answer = parseAnswer(text);
      if (answer["certId"] !== undefined && answer["certId"] !== config.platformCertId) {
        return err({ code: "bad_signature", message: `UnionPay fileTransfer: the answer names certId ${answer["certId"]}, we hold ${config.platformCertId}`, retryable: false });
      }
      if (!verifyUnionpayFields(answer, platformKey)) return err({ code: "bad_signature", message: "UnionPay fileTransfer: the answer does not verify with the platform key we hold", retryable: false });
      if (answer["respCode"] !== "00") {
        return err({ code: answer["respCode"] === "98" ? "bill_not_ready" : "provider_error", message: `UnionPay fileTransfer: respCode ${answer["respCode"] ?? "none"} ${answer["respMsg"] ?? ""}`, retryable: answer["respCode"] === "98" });
      }
      let zip: Buffer;
      try {
        zip = inflateSync(Buffer.from(answer["fileContent"] ?? "", "base64"));
      } catch (error) {
        return err({ code: "download_failed", message: `UnionPay fileTransfer: fileContent does not inflate (${error instanceof Error ? error.message : String(error)})`, retryable: true });
      }
      return ok({ fileName: answer["fileName"] ?? `${config.merId}_${billDate.replaceAll("-", "")}.zip`, bytes: zip, providerDigest: undefined });
    },
  };
}

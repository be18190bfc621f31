import type { ProviderId } from "@tributary/contracts";
import type { Result } from "@tributary/result";
import { assertNever } from "@tributary/result";
import type { BillRejection, ParsedBill } from "../domain/bill.js";
import { parseAlipayTradeBill } from "./alipay/alipay-bill-parser.js";
import type { ProgressListener } from "./bill-reader.js";
import { parseGenericBill } from "./generic/generic-bill-parser.js";
import { parseUnionpaySettlement } from "./unionpay/unionpay-zm-parser.js";
import { parseWechatTradeBill } from "./wechat/wechat-bill-parser.js";

/** Parses a provider's bill file (as downloaded, or as handed over with `--file`) with that provider's parser. */
export function parseBill(
  provider: ProviderId,
  input: { readonly bytes: Buffer; readonly fileName: string; readonly billDate: string; readonly onProgress?: ProgressListener | undefined },
): Promise<Result<ParsedBill, BillRejection>> {
  const { bytes, fileName: file, billDate } = input;
  const progress = input.onProgress === undefined ? {} : { onProgress: input.onProgress };
  switch (provider) {
    case "wechat_pay":
      return parseWechatTradeBill({ bytes, file, billDate, ...progress });
    case "alipay":
      return parseAlipayTradeBill({ bytes, file, billDate, ...progress });
    case "unionpay":
      return parseUnionpaySettlement({ bytes, file, billDate, ...progress });
    case "jd_pay":
      return parseGenericBill({ bytes, file, billDate, provider, providerName: "jdpay", ...progress });
    case "ecny":
      return parseGenericBill({ bytes, file, billDate, provider, providerName: "ecny", ...progress });
    default:
      return assertNever(provider, "provider");
  }
}

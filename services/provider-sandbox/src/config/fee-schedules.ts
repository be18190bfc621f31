import type { FeeSchedule } from "@tributary/money";
import type { SandboxProviderName } from "../core/store.js";

/**
 * Contract data: the fee each simulated provider charges the merchant. No official rate table
 * exists (rates depend on the merchant's category and contract), so these are the common public
 * rates. Each is a percentage in parts per million plus a fixed part in fen, rounded per
 * transaction to the fen; refunds give the fee back proportionally (see `refundFee` in
 * @tributary/money). Change them here, nowhere else.
 *
 * - WeChat Pay 0.60%, half_up: 1299.02 → 7.79, 0.01 → 0.00 (observed in real bills).
 * - Alipay 0.60%, half_up.
 * - UnionPay 0.38%, half_up (the common debit/QR merchant rate).
 * - JD Pay 0.60%, half_up.
 * - e-CNY: merchants pay no fee to the operating institutions.
 */
export const FEE_SCHEDULES: Readonly<Record<SandboxProviderName, FeeSchedule>> = {
  wechat: { ratePpm: 6000n, fixedMinor: 0n, rounding: "half_up" },
  alipay: { ratePpm: 6000n, fixedMinor: 0n, rounding: "half_up" },
  unionpay: { ratePpm: 3800n, fixedMinor: 0n, rounding: "half_up" },
  jdpay: { ratePpm: 6000n, fixedMinor: 0n, rounding: "half_up" },
  ecny: { ratePpm: 0n, fixedMinor: 0n, rounding: "half_up" },
};

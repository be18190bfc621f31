import type { ProviderId } from "@tributary/contracts";
import type { CurrencyCode } from "@tributary/money";

/**
 * The kinds of ledger account. Provider clearing is what a provider owes us (debit-normal);
 * merchant payable what we owe a merchant (credit-normal); platform fee revenue our commission;
 * provider fee expense the provider's fees before they are recharged to the merchant; merchant
 * reserve the rolling reserve held back from payouts; suspense differences found by reconciliation
 * until an approved adjustment clears them; payout clearing what has been instructed to merchants
 * and not yet confirmed paid by the bank (credit-normal).
 */
export type AccountKind =
  | "provider_clearing"
  | "merchant_payable"
  | "platform_fee_revenue"
  | "provider_fee_expense"
  | "merchant_reserve"
  | "suspense"
  | "payout_clearing";

/** Every account kind, in a fixed order (config validation, reports). */
export const ACCOUNT_KINDS: readonly AccountKind[] = Object.freeze([
  "provider_clearing",
  "merchant_payable",
  "platform_fee_revenue",
  "provider_fee_expense",
  "merchant_reserve",
  "suspense",
  "payout_clearing",
]);

/** One ledger account: a kind, whose it is (a provider, a merchant, or the platform), and its currency. */
export type LedgerAccount =
  | { readonly kind: "provider_clearing" | "provider_fee_expense"; readonly provider: ProviderId; readonly currency: CurrencyCode }
  | { readonly kind: "merchant_payable" | "merchant_reserve"; readonly merchantId: string; readonly currency: CurrencyCode }
  | { readonly kind: "platform_fee_revenue" | "suspense" | "payout_clearing"; readonly currency: CurrencyCode };

/**
 * The account's id, which spells kind, owner and currency (`provider_clearing:wechat_pay:CNY`,
 * `merchant_payable:m-1:CNY`, `platform_fee_revenue:CNY`), so that the same account is the same row
 * from any instance without a lookup. The currency is always the last three characters.
 */
export function accountIdOf(account: LedgerAccount): string {
  switch (account.kind) {
    case "provider_clearing":
    case "provider_fee_expense":
      return `${account.kind}:${account.provider}:${account.currency}`;
    case "merchant_payable":
    case "merchant_reserve":
      return `${account.kind}:${account.merchantId}:${account.currency}`;
    case "platform_fee_revenue":
    case "suspense":
    case "payout_clearing":
      return `${account.kind}:${account.currency}`;
  }
}

/** Constructors that read like the chart of accounts. */
export const accounts = {
  providerClearing: (provider: ProviderId, currency: CurrencyCode): LedgerAccount => ({ kind: "provider_clearing", provider, currency }),
  providerFeeExpense: (provider: ProviderId, currency: CurrencyCode): LedgerAccount => ({ kind: "provider_fee_expense", provider, currency }),
  merchantPayable: (merchantId: string, currency: CurrencyCode): LedgerAccount => ({ kind: "merchant_payable", merchantId, currency }),
  merchantReserve: (merchantId: string, currency: CurrencyCode): LedgerAccount => ({ kind: "merchant_reserve", merchantId, currency }),
  platformFeeRevenue: (currency: CurrencyCode): LedgerAccount => ({ kind: "platform_fee_revenue", currency }),
  suspense: (currency: CurrencyCode): LedgerAccount => ({ kind: "suspense", currency }),
  payoutClearing: (currency: CurrencyCode): LedgerAccount => ({ kind: "payout_clearing", currency }),
} as const;

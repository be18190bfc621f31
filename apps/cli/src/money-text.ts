import { formatDecimal, money, parseCurrencyCode } from "@tributary/money";

/** A wire amount as exact decimal text ("129.90"), or "" when the message has none. */
export function amountText(amount: { readonly amountMinor: bigint; readonly currency: string } | undefined): string {
  if (amount === undefined) return "";
  const currency = parseCurrencyCode(amount.currency);
  // An amount in a currency this build does not know is shown as minor units, never guessed.
  return currency.ok ? formatDecimal(money(amount.amountMinor, currency.value)) : `${amount.amountMinor} (minor units, ${amount.currency})`;
}

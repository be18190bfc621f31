import { formatDecimal, money, parseDecimal } from "@tributary/money";

/**
 * Yuan text ↔ fen for provider fields, through @tributary/money so no float ever touches an
 * amount. `parseYuan` accepts what the providers accept: a plain decimal with at most two
 * fraction digits, positive.
 */
export function parseYuan(text: string | undefined): bigint | undefined {
  if (text === undefined) return undefined;
  const parsed = parseDecimal(text, "CNY");
  if (!parsed.ok || parsed.value.amountMinor <= 0n) return undefined;
  return parsed.value.amountMinor;
}

/** Fen as yuan text with two decimals ("1299.02", "-0.01"). */
export function yuan(amountMinor: bigint): string {
  return formatDecimal(money(amountMinor, "CNY"));
}

/** Fen as yuan text with `digits` decimals (WeChat fees: "7.79000"). */
export function yuanWithDigits(amountMinor: bigint, digits: number): string {
  return formatDecimal(money(amountMinor, "CNY"), { fractionDigits: digits });
}

/** Parses an integer fen field ("129902"); undefined unless it is a positive integer. */
export function parseFen(text: string | number | undefined): bigint | undefined {
  if (typeof text === "number") {
    return Number.isSafeInteger(text) && text > 0 ? BigInt(text) : undefined;
  }
  if (text === undefined || !/^[1-9][0-9]{0,15}$/.test(text)) return undefined;
  return BigInt(text);
}

/**
 * Fen as a JSON number for APIs whose wire format is an integer of fen (WeChat `amount.total`).
 * JSON has no bigint; amounts beyond 2^53 cannot be written and are a bug here.
 */
export function fenAsJsonNumber(amountMinor: bigint): number {
  if (amountMinor > BigInt(Number.MAX_SAFE_INTEGER) || amountMinor < -BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(`fen amount ${amountMinor} does not fit a JSON number`);
  }
  return Number(amountMinor);
}

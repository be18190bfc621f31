import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { providerIdFromProto, type ProviderId } from "@tributary/contracts";
import type { Money as ProtoMoney } from "@tributary/contracts/common/v1/money";
import { Provider as ProtoProvider } from "@tributary/contracts/common/v1/provider";
import { NonRetryableError, requireFields } from "@tributary/events";
import { INT64_MAX, money, parseCurrencyCode, type Money } from "@tributary/money";

/**
 * Refuses a message whose required fields hold proto3 zero values, naming every one: an empty
 * payment id must never look like "the same payment" as another empty one.
 */
export function required<M extends { readonly $typeName: string }>(message: M, fields: readonly (keyof M & string)[]): void {
  const missing = requireFields(message, fields);
  if (missing !== undefined) throw missing;
}

/** A positive amount in a known currency, or a dead letter naming the field. */
export function amountOf(field: string, amount: ProtoMoney | undefined, options: { readonly allowZero?: boolean } = {}): Money {
  if (amount === undefined) throw new NonRetryableError(`${field} is missing`);
  const currency = parseCurrencyCode(amount.currency);
  if (!currency.ok) throw new NonRetryableError(`${field}.currency ${JSON.stringify(amount.currency)} is unknown`);
  const min = options.allowZero === true ? 0n : 1n;
  if (amount.amountMinor < min || amount.amountMinor > INT64_MAX) {
    throw new NonRetryableError(`${field}.amount_minor ${amount.amountMinor} is out of range`);
  }
  return money(amount.amountMinor, currency.value);
}

/** The rail, or a dead letter for UNSPECIFIED and values this build does not know. */
export function providerOf(provider: ProtoProvider): ProviderId {
  if (provider === ProtoProvider.UNSPECIFIED) throw new NonRetryableError("provider is missing");
  const id = providerIdFromProto(provider);
  if (id === undefined) throw new NonRetryableError(`provider ${String(provider)} is unknown`);
  return id;
}

/** A required timestamp as a Date. */
export function timeOf(field: string, timestamp: Timestamp | undefined): Date {
  if (timestamp === undefined) throw new NonRetryableError(`${field} is missing`);
  return timestampDate(timestamp);
}

import { INT64_MAX, isCurrencyCode, money, type CurrencyCode } from "@tributary/money";
import { err, ok, type Result } from "@tributary/result";
import {
  CHANNELS,
  PAYMENT_PROVIDERS,
  type Channel,
  type OrderDraft,
  type OrderLine,
  type PaymentProvider,
  type ProviderAccount,
} from "./order.js";
import type { FieldViolation, InvalidOrderError } from "./order-error.js";
import type { MoneyInput, PlaceOrderInput } from "./place-order-input.js";

/** Longest merchant id, buyer id, sku and category we store. */
export const MAX_ID_LENGTH = 64;
/** Longest merchant order reference we store. */
export const MAX_REF_LENGTH = 128;
/** Most lines one order may have. */
export const MAX_LINES = 100;

// Control characters (NUL above all, which Postgres text cannot hold) have no place in ids.
 
const controlCharacters = /[\u0000-\u001f\u007f]/;

function checkText(field: string, value: string, maxLength: number, violations: FieldViolation[]): void {
  if (value.trim().length === 0) {
    violations.push({ field, description: "is required" });
  } else if (controlCharacters.test(value)) {
    violations.push({ field, description: "must not contain control characters" });
  } else if (value.length > maxLength) {
    violations.push({ field, description: `must be at most ${maxLength} characters` });
  } else if (value.trim() !== value) {
    violations.push({ field, description: "must not start or end with whitespace" });
  }
}

function isChannel(value: string): value is Channel {
  return (CHANNELS as readonly string[]).includes(value);
}

function isProvider(value: string): value is PaymentProvider {
  return (PAYMENT_PROVIDERS as readonly string[]).includes(value);
}

/** Longest provider account id (openid, Alipay user id or open_id) we store. */
export const MAX_PROVIDER_ACCOUNT_LENGTH = 128;

const providerAccountId = /^[\x21-\x7e]+$/;

/**
 * The buyer's provider accounts, at most one per provider, each a known provider and an id of
 * 1–{@link MAX_PROVIDER_ACCOUNT_LENGTH} printable ASCII characters; returned in the contracts'
 * provider order, so two creates that list the same accounts in another order are the same order.
 */
function checkProviderAccounts(
  accounts: readonly { readonly provider: string; readonly accountId: string }[],
  violations: FieldViolation[],
): ProviderAccount[] {
  const valid: ProviderAccount[] = [];
  accounts.forEach((account, index) => {
    const path = `buyer.provider_accounts[${index}]`;
    let provider: PaymentProvider | undefined;
    if (account.provider === "") {
      violations.push({ field: `${path}.provider`, description: `is required: one of ${PAYMENT_PROVIDERS.join(", ")}` });
    } else if (!isProvider(account.provider)) {
      violations.push({ field: `${path}.provider`, description: `${account.provider} is not one of ${PAYMENT_PROVIDERS.join(", ")}` });
    } else if (valid.some((a) => a.provider === account.provider)) {
      violations.push({ field: `${path}.provider`, description: `${account.provider} is listed twice; give one account per provider` });
    } else {
      provider = account.provider;
    }
    let idOk = false;
    if (account.accountId === "") {
      violations.push({ field: `${path}.account_id`, description: "is required" });
    } else if (account.accountId.length > MAX_PROVIDER_ACCOUNT_LENGTH) {
      violations.push({ field: `${path}.account_id`, description: `must be at most ${MAX_PROVIDER_ACCOUNT_LENGTH} characters` });
    } else if (!providerAccountId.test(account.accountId)) {
      violations.push({ field: `${path}.account_id`, description: "must be printable ASCII without spaces" });
    } else {
      idOk = true;
    }
    if (provider !== undefined && idOk) valid.push({ provider, accountId: account.accountId });
  });
  return valid.sort((a, b) => PAYMENT_PROVIDERS.indexOf(a.provider) - PAYMENT_PROVIDERS.indexOf(b.provider));
}

/** Checks an amount's currency and sign; returns the currency when it is one we know. */
function checkAmount(
  field: string,
  amount: MoneyInput | undefined,
  violations: FieldViolation[],
): CurrencyCode | undefined {
  if (amount === undefined) {
    violations.push({ field, description: "is required" });
    return undefined;
  }
  let currency: CurrencyCode | undefined;
  if (amount.currency === "") {
    violations.push({ field: `${field}.currency`, description: "is required" });
  } else if (!isCurrencyCode(amount.currency)) {
    violations.push({ field: `${field}.currency`, description: `unknown currency ${JSON.stringify(amount.currency)}` });
  } else {
    currency = amount.currency;
  }
  if (amount.amountMinor <= 0n) {
    violations.push({ field: `${field}.amount_minor`, description: "must be positive" });
  } else if (amount.amountMinor > INT64_MAX) {
    violations.push({ field: `${field}.amount_minor`, description: "must fit a signed 64-bit integer" });
  }
  return currency;
}

/**
 * The one set of rules for a new order, shared by `CreateOrder` and `OrderPlaced`: ids present
 * and bounded, a buyer (with at most one valid account per provider), 1–100 lines each with a positive quantity and a positive unit price in
 * the order's currency, a known channel, an optional known provider, and a total that equals
 * the sum of quantity × unit price exactly, with every product and the sum within int64.
 * Returns every violation at once, each with its proto field path, so the caller fixes them in
 * one round.
 */
export function validatePlaceOrder(input: PlaceOrderInput): Result<OrderDraft, InvalidOrderError> {
  const violations: FieldViolation[] = [];
  checkText("merchant_id", input.merchantId, MAX_ID_LENGTH, violations);
  checkText("merchant_order_ref", input.merchantOrderRef, MAX_REF_LENGTH, violations);

  let country: string | undefined;
  let providerAccounts: ProviderAccount[] = [];
  if (input.buyer === undefined) {
    violations.push({ field: "buyer", description: "is required" });
  } else {
    checkText("buyer.buyer_id", input.buyer.buyerId, MAX_ID_LENGTH, violations);
    if (input.buyer.country !== "") {
      if (/^[A-Z]{2}$/.test(input.buyer.country)) {
        country = input.buyer.country;
      } else {
        violations.push({ field: "buyer.country", description: "must be an ISO 3166-1 alpha-2 code such as CN" });
      }
    }
    providerAccounts = checkProviderAccounts(input.buyer.providerAccounts, violations);
  }

  const totalCurrency = checkAmount("total", input.total, violations);

  if (input.lines.length === 0) {
    violations.push({ field: "lines", description: "must have at least one line" });
  } else if (input.lines.length > MAX_LINES) {
    violations.push({ field: "lines", description: `must have at most ${MAX_LINES} lines` });
  }
  let sumMinor = 0n;
  let sumKnown = true;
  const lines: OrderLine[] = [];
  input.lines.slice(0, MAX_LINES).forEach((line, index) => {
    const path = `lines[${index}]`;
    checkText(`${path}.sku`, line.sku, MAX_ID_LENGTH, violations);
    checkText(`${path}.category`, line.category, MAX_ID_LENGTH, violations);
    let quantityOk = true;
    if (line.quantity < 1n) {
      violations.push({ field: `${path}.quantity`, description: "must be at least 1" });
      quantityOk = false;
    } else if (line.quantity > INT64_MAX) {
      violations.push({ field: `${path}.quantity`, description: "must fit a signed 64-bit integer" });
      quantityOk = false;
    }
    const before = violations.length;
    const lineCurrency = checkAmount(`${path}.unit_price`, line.unitPrice, violations);
    let priceOk = violations.length === before && lineCurrency !== undefined;
    if (lineCurrency !== undefined && totalCurrency !== undefined && lineCurrency !== totalCurrency) {
      violations.push({ field: `${path}.unit_price.currency`, description: `must be ${totalCurrency}, the total's currency` });
      priceOk = false;
    }
    if (!quantityOk || !priceOk || line.unitPrice === undefined || lineCurrency === undefined) {
      sumKnown = false;
      return;
    }
    const lineTotal = line.quantity * line.unitPrice.amountMinor;
    if (lineTotal > INT64_MAX) {
      violations.push({ field: `${path}`, description: "quantity × unit_price must fit a signed 64-bit integer" });
      sumKnown = false;
      return;
    }
    sumMinor += lineTotal;
    lines.push({ sku: line.sku, category: line.category, quantity: line.quantity, unitPrice: money(line.unitPrice.amountMinor, lineCurrency) });
  });
  if (sumKnown && sumMinor > INT64_MAX) {
    violations.push({ field: "lines", description: "the sum of the lines must fit a signed 64-bit integer" });
    sumKnown = false;
  }
  const totalPositive = input.total !== undefined && input.total.amountMinor > 0n && input.total.amountMinor <= INT64_MAX;
  if (sumKnown && totalPositive && input.total !== undefined && totalCurrency !== undefined && input.lines.length > 0) {
    if (input.total.amountMinor !== sumMinor) {
      violations.push({
        field: "total.amount_minor",
        description: `must equal the sum of quantity × unit_price over the lines, ${sumMinor.toString()}, exactly`,
      });
    }
  }

  let channel: Channel | undefined;
  if (input.channel === "") {
    violations.push({ field: "channel", description: `is required: one of ${CHANNELS.join(", ")}` });
  } else if (isChannel(input.channel)) {
    channel = input.channel;
  } else {
    violations.push({ field: "channel", description: `${input.channel} is not one of ${CHANNELS.join(", ")}` });
  }

  let preferredProvider: PaymentProvider | undefined;
  if (input.preferredProvider !== "") {
    if (isProvider(input.preferredProvider)) {
      preferredProvider = input.preferredProvider;
    } else {
      violations.push({
        field: "preferred_provider",
        description: `${input.preferredProvider} is not one of ${PAYMENT_PROVIDERS.join(", ")}`,
      });
    }
  }

  if (violations.length > 0 || input.buyer === undefined || input.total === undefined || totalCurrency === undefined || channel === undefined) {
    return err({
      code: "invalid_order",
      message: `the order is invalid: ${violations.map((v) => `${v.field} ${v.description}`).join("; ")}`,
      fieldViolations: violations,
    });
  }
  return ok({
    merchantId: input.merchantId,
    merchantOrderRef: input.merchantOrderRef,
    buyer: { buyerId: input.buyer.buyerId, country, providerAccounts },
    lines,
    total: money(input.total.amountMinor, totalCurrency),
    channel,
    preferredProvider,
  });
}

import { equals } from "@tributary/money";
import type { OrderDraft, OrderLine } from "./order.js";
import type { FieldViolation } from "./order-error.js";

function lineDifferences(index: number, stored: OrderLine, incoming: OrderLine): FieldViolation[] {
  const path = `lines[${index}]`;
  const found: FieldViolation[] = [];
  if (stored.sku !== incoming.sku) found.push({ field: `${path}.sku`, description: `differs from the existing order: was ${JSON.stringify(stored.sku)}` });
  if (stored.category !== incoming.category) {
    found.push({ field: `${path}.category`, description: `differs from the existing order: was ${JSON.stringify(stored.category)}` });
  }
  if (stored.quantity !== incoming.quantity) {
    found.push({ field: `${path}.quantity`, description: `differs from the existing order: was ${stored.quantity.toString()}` });
  }
  if (stored.unitPrice.currency !== incoming.unitPrice.currency) {
    found.push({ field: `${path}.unit_price.currency`, description: `differs from the existing order: was ${stored.unitPrice.currency}` });
  }
  if (stored.unitPrice.amountMinor !== incoming.unitPrice.amountMinor) {
    found.push({ field: `${path}.unit_price.amount_minor`, description: `differs from the existing order: was ${stored.unitPrice.amountMinor.toString()}` });
  }
  return found;
}

/**
 * The fields in which a repeated create differs from the order already stored under the same
 * merchant and reference, each with the stored value, so `ALREADY_EXISTS` (or `OrderRejected`)
 * tells the upstream system exactly what it changed. Empty means the same order: return the
 * original. The merchant id and reference are the key and so never differ.
 */
export function differingFields(stored: OrderDraft, incoming: OrderDraft): FieldViolation[] {
  const found: FieldViolation[] = [];
  if (stored.buyer.buyerId !== incoming.buyer.buyerId) {
    found.push({ field: "buyer.buyer_id", description: `differs from the existing order: was ${JSON.stringify(stored.buyer.buyerId)}` });
  }
  if (stored.buyer.country !== incoming.buyer.country) {
    found.push({ field: "buyer.country", description: `differs from the existing order: was ${JSON.stringify(stored.buyer.country ?? "")}` });
  }
  const accountsText = (draft: OrderDraft): string => draft.buyer.providerAccounts.map((a) => `${a.provider}:${a.accountId}`).join(", ");
  if (accountsText(stored) !== accountsText(incoming)) {
    found.push({ field: "buyer.provider_accounts", description: `differs from the existing order: was [${accountsText(stored)}]` });
  }
  if (stored.lines.length !== incoming.lines.length) {
    found.push({ field: "lines", description: `had ${stored.lines.length} lines` });
  } else {
    stored.lines.forEach((line, index) => {
      const other = incoming.lines[index];
      if (other !== undefined) found.push(...lineDifferences(index, line, other));
    });
  }
  if (!equals(stored.total, incoming.total)) {
    if (stored.total.currency !== incoming.total.currency) {
      found.push({ field: "total.currency", description: `differs from the existing order: was ${stored.total.currency}` });
    }
    if (stored.total.amountMinor !== incoming.total.amountMinor) {
      found.push({ field: "total.amount_minor", description: `differs from the existing order: was ${stored.total.amountMinor.toString()}` });
    }
  }
  if (stored.channel !== incoming.channel) found.push({ field: "channel", description: `differs from the existing order: was ${stored.channel}` });
  if (stored.preferredProvider !== incoming.preferredProvider) {
    found.push({ field: "preferred_provider", description: `differs from the existing order: was ${stored.preferredProvider ?? "unset"}` });
  }
  return found;
}

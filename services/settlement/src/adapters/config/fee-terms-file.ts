import { PROVIDER_IDS, type ProviderId } from "@tributary/contracts";
import { isRoundingMode, type FeeSchedule } from "@tributary/money";
import { DEFAULT_FEE_TERMS, type FeeTerms, type MerchantTerms, type ProviderFeeRule, type ProviderFeeTerms } from "../../domain/fee-terms.js";

/** A fee terms document that does not parse; `path` names the offending field. */
export class FeeTermsError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`fee terms: ${path}: ${reason}`);
    this.name = "FeeTermsError";
  }
}

type Json = unknown;

function object(value: Json, path: string): Record<string, Json> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new FeeTermsError(path, "must be an object");
  return value as Record<string, Json>;
}

/** Integers are written as strings or safe integers in JSON ("6000"); never fractions. */
function integer(value: Json, path: string): bigint {
  if (typeof value === "string" && /^\d+$/.test(value)) return BigInt(value);
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  throw new FeeTermsError(path, `must be a non-negative integer, got ${JSON.stringify(value)}`);
}

function schedule(value: Json, path: string): FeeSchedule {
  const o = object(value, path);
  const rounding = o["rounding"];
  if (typeof rounding !== "string" || !isRoundingMode(rounding)) throw new FeeTermsError(`${path}.rounding`, `unknown rounding ${JSON.stringify(rounding)}`);
  const ratePpm = integer(o["ratePpm"], `${path}.ratePpm`);
  if (ratePpm > 1_000_000n) throw new FeeTermsError(`${path}.ratePpm`, "above 100 %");
  return { ratePpm, fixedMinor: o["fixedMinor"] === undefined ? 0n : integer(o["fixedMinor"], `${path}.fixedMinor`), rounding };
}

function merchantTerms(value: Json, path: string, base: MerchantTerms): MerchantTerms {
  const o = object(value, path);
  const reserveRounding = o["reserveRounding"] ?? base.reserveRounding;
  if (typeof reserveRounding !== "string" || !isRoundingMode(reserveRounding)) throw new FeeTermsError(`${path}.reserveRounding`, "unknown rounding");
  const bears = o["merchantBearsProviderFee"] ?? base.merchantBearsProviderFee;
  if (typeof bears !== "boolean") throw new FeeTermsError(`${path}.merchantBearsProviderFee`, "must be true or false");
  return {
    commission: o["commission"] === undefined ? base.commission : schedule(o["commission"], `${path}.commission`),
    merchantBearsProviderFee: bears,
    reservePpm: o["reservePpm"] === undefined ? base.reservePpm : integer(o["reservePpm"], `${path}.reservePpm`),
    reserveDays: o["reserveDays"] === undefined ? base.reserveDays : Number(integer(o["reserveDays"], `${path}.reserveDays`)),
    reserveRounding,
  };
}

/**
 * Reads fee terms from JSON (contract data kept in a file, `SETTLEMENT_FEE_TERMS_FILE`): per
 * provider a `defaultSchedule` and `rules` by channel/category, a `defaultMerchant` and per-merchant
 * terms, `settlementCycleDays`. What the document leaves out keeps {@link DEFAULT_FEE_TERMS}. Every
 * bad field throws {@link FeeTermsError} naming it.
 */
export function parseFeeTerms(text: string): FeeTerms {
  let parsed: Json;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new FeeTermsError("$", `not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  const root = object(parsed, "$");
  const providers: Record<ProviderId, ProviderFeeTerms> = { ...DEFAULT_FEE_TERMS.providers };
  if (root["providers"] !== undefined) {
    for (const [name, value] of Object.entries(object(root["providers"], "providers"))) {
      if (!(PROVIDER_IDS as readonly string[]).includes(name)) throw new FeeTermsError(`providers.${name}`, "unknown provider");
      const o = object(value, `providers.${name}`);
      const rules: ProviderFeeRule[] = [];
      if (o["rules"] !== undefined) {
        if (!Array.isArray(o["rules"])) throw new FeeTermsError(`providers.${name}.rules`, "must be a list");
        (o["rules"] as Json[]).forEach((rule, index) => {
          const r = object(rule, `providers.${name}.rules[${index}]`);
          rules.push({
            ...(typeof r["channel"] === "string" ? { channel: r["channel"] } : {}),
            ...(typeof r["category"] === "string" ? { category: r["category"] } : {}),
            schedule: schedule(r["schedule"], `providers.${name}.rules[${index}].schedule`),
          });
        });
      }
      providers[name as ProviderId] = { defaultSchedule: schedule(o["defaultSchedule"], `providers.${name}.defaultSchedule`), rules };
    }
  }
  const defaultMerchant = root["defaultMerchant"] === undefined ? DEFAULT_FEE_TERMS.defaultMerchant : merchantTerms(root["defaultMerchant"], "defaultMerchant", DEFAULT_FEE_TERMS.defaultMerchant);
  const merchants: Record<string, MerchantTerms> = {};
  if (root["merchants"] !== undefined) {
    for (const [id, value] of Object.entries(object(root["merchants"], "merchants"))) merchants[id] = merchantTerms(value, `merchants.${id}`, defaultMerchant);
  }
  const cycle: Partial<Record<ProviderId, number>> = {};
  if (root["settlementCycleDays"] !== undefined) {
    for (const [name, value] of Object.entries(object(root["settlementCycleDays"], "settlementCycleDays"))) {
      if (!(PROVIDER_IDS as readonly string[]).includes(name)) throw new FeeTermsError(`settlementCycleDays.${name}`, "unknown provider");
      cycle[name as ProviderId] = Number(integer(value, `settlementCycleDays.${name}`));
    }
  }
  return { providers, defaultMerchant, merchants, settlementCycleDays: cycle };
}

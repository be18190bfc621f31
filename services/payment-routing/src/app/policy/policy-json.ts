import type { ProviderId } from "@tributary/contracts";
import type { CurrencyCode, FeeSchedule, RoundingMode } from "@tributary/money";
import { assertNever, err, ok, type Result } from "@tributary/result";
import type { Condition, TimeWindow } from "../../domain/routing/condition.js";
import type { GuardrailConfig } from "../../domain/routing/guardrail.js";
import type { BreakerConfig, HealthConfig } from "../../domain/routing/health.js";
import type { Channel } from "../../domain/routing/routing-order.js";
import type {
  MerchantPolicy,
  ProviderPolicy,
  RampStep,
  Rollout,
  RolloutPause,
  RoutingPolicy,
  RoutingRule,
  RuleEffect,
} from "../../domain/routing/routing-policy.js";
import type { FieldViolation, InvalidPolicyError } from "../../domain/routing/validate-policy.js";

/**
 * The one JSON form of a {@link RoutingPolicy}: what `routing_policy_versions.policy` and the
 * audit's `before`/`after` store, what `GetRoutingPolicy` returns and `UpdateRoutingPolicy` takes,
 * and what `RoutingPolicyChanged` carries. JSON has neither bigints nor dates, so the codec says how
 * each crosses: every bigint (fee rates in ppm, fixed fees and amount bounds in minor units) is a
 * decimal string — a JSON number would round past 2^53 — and every time is an ISO 8601 string in
 * UTC. An absent optional bound is left out; a roll-out without a pause has `"pause": null`.
 *
 * Decoding checks the shape only (types, enum spellings, integer strings, valid times) and reports
 * every bad field with its path, the same paths {@link validatePolicy} uses; whether the values make
 * a sensible policy (a ramp over 100 %, an unknown merchant) is validatePolicy's job, which every
 * change goes through.
 */
export type JsonValue = string | number | boolean | null | JsonObject | readonly JsonValue[];

/** A JSON object. */
export interface JsonObject {
  readonly [key: string]: JsonValue;
}

// ---- encoding -------------------------------------------------------------------------------

function conditionToJson(condition: Condition): JsonObject {
  switch (condition.type) {
    case "all":
    case "any":
      return { type: condition.type, conditions: condition.conditions.map(conditionToJson) };
    case "not":
      return { type: "not", condition: conditionToJson(condition.condition) };
    case "merchant":
      return { type: "merchant", merchantIds: [...condition.merchantIds] };
    case "buyer":
      return { type: "buyer", buyerIds: [...condition.buyerIds] };
    case "category":
      return { type: "category", categories: [...condition.categories] };
    case "channel":
      return { type: "channel", channels: [...condition.channels] };
    case "amount":
      return {
        type: "amount",
        currency: condition.currency,
        ...(condition.atLeastMinor === undefined ? {} : { atLeastMinor: condition.atLeastMinor.toString() }),
        ...(condition.belowMinor === undefined ? {} : { belowMinor: condition.belowMinor.toString() }),
      };
    case "currency":
      return { type: "currency", currencies: [...condition.currencies] };
    case "country":
      return { type: "country", countries: [...condition.countries] };
    case "time_of_day":
      return { type: "time_of_day", windows: condition.windows.map((w) => ({ fromMinute: w.fromMinute, untilMinute: w.untilMinute })) };
    default:
      return assertNever(condition, "condition");
  }
}

function rolloutToJson(rollout: Rollout): JsonObject {
  const pause = rollout.pause;
  return {
    rolloutId: rollout.rolloutId,
    provider: rollout.provider,
    salt: rollout.salt,
    ramp: rollout.ramp.map((step) => ({ startsAt: step.startsAt.toISOString(), percent: step.percent, merchants: step.merchants })),
    buyerAllowlist: [...rollout.buyerAllowlist],
    merchantAllowlist: [...rollout.merchantAllowlist],
    includedCategories: [...rollout.includedCategories],
    excludedCategories: [...rollout.excludedCategories],
    trial: rollout.trial,
    guardrail: { thresholdPp: rollout.guardrail.thresholdPp, minSamplesPerArm: rollout.guardrail.minSamplesPerArm, alpha: rollout.guardrail.alpha },
    pause:
      pause === undefined
        ? null
        : { pausedAt: pause.pausedAt.toISOString(), heldStepIndex: pause.heldStepIndex, reason: pause.reason, by: pause.by },
  };
}

/** The policy as a JSON value (see {@link JsonValue} for the rules). */
export function policyToJson(policy: RoutingPolicy): JsonObject {
  return {
    version: policy.version,
    utcOffsetMinutes: policy.utcOffsetMinutes,
    providers: policy.providers.map((p) => ({
      provider: p.provider,
      enabled: p.enabled,
      fees: p.fees.map((f) => ({
        currency: f.currency,
        schedule: { ratePpm: f.schedule.ratePpm.toString(), fixedMinor: f.schedule.fixedMinor.toString(), rounding: f.schedule.rounding },
      })),
    })),
    merchants: policy.merchants.map((m) => ({ merchantId: m.merchantId, enabledProviders: [...m.enabledProviders] })),
    rules: policy.rules.map((r) => ({
      ruleId: r.ruleId,
      description: r.description,
      when: conditionToJson(r.when),
      effect: { type: r.effect.type, providers: [...r.effect.providers] },
    })),
    rollouts: policy.rollouts.map(rolloutToJson),
    health: { ...policy.health },
    breaker: { ...policy.breaker },
  };
}

/** The policy as JSON text, indented for the people who edit it. */
export function policyToJsonText(policy: RoutingPolicy): string {
  return JSON.stringify(policyToJson(policy), null, 2);
}

// ---- decoding -------------------------------------------------------------------------------

/**
 * Reads one JSON value at a path, collecting violations. Each reader returns a placeholder of the
 * right type after a violation so decoding goes on and reports every bad field in one go; the
 * result is only used when no violation was collected.
 */
class Reader {
  readonly violations: FieldViolation[] = [];

  fail(path: string, description: string): void {
    this.violations.push({ field: path, description });
  }

  object(value: unknown, path: string): Readonly<Record<string, unknown>> {
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
    this.fail(path, "must be an object");
    return {};
  }

  array<T>(value: unknown, path: string, item: (value: unknown, path: string) => T): T[] {
    if (!Array.isArray(value)) {
      this.fail(path, "must be an array");
      return [];
    }
    return value.map((v, i) => item(v, `${path}[${i}]`));
  }

  string(value: unknown, path: string): string {
    if (typeof value === "string") return value;
    this.fail(path, "must be a string");
    return "";
  }

  strings(value: unknown, path: string): string[] {
    return this.array(value, path, (v, p) => this.string(v, p));
  }

  number(value: unknown, path: string): number {
    if (typeof value === "number" && Number.isFinite(value)) return value;
    this.fail(path, "must be a number");
    return 0;
  }

  boolean(value: unknown, path: string): boolean {
    if (typeof value === "boolean") return value;
    this.fail(path, "must be true or false");
    return false;
  }

  /** A bigint from its decimal string; a JSON number is refused (it may already have been rounded). */
  bigint(value: unknown, path: string): bigint {
    if (typeof value === "string" && /^-?(0|[1-9][0-9]*)$/.test(value)) return BigInt(value);
    this.fail(path, "must be an integer as a decimal string (e.g. \"6000\")");
    return 0n;
  }

  /** A time from an ISO 8601 string with a date, a time and a zone. */
  date(value: unknown, path: string): Date {
    if (typeof value === "string" && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value)) {
      const date = new Date(value);
      if (Number.isFinite(date.getTime())) return date;
    }
    this.fail(path, "must be an ISO 8601 time with a zone (e.g. \"2026-12-01T00:00:00Z\")");
    return new Date(0);
  }

  oneOf<T extends string>(value: unknown, path: string, allowed: readonly T[]): T {
    if (typeof value === "string" && (allowed as readonly string[]).includes(value)) return value as T;
    this.fail(path, `must be one of ${allowed.map((a) => `"${a}"`).join(", ")}`);
    return allowed[0] as T;
  }
}

const CONDITION_TYPES = ["all", "any", "not", "merchant", "buyer", "category", "channel", "amount", "currency", "country", "time_of_day"] as const;

function readCondition(r: Reader, value: unknown, path: string): Condition {
  const o = r.object(value, path);
  const rawType = o["type"];
  if (typeof rawType !== "string" || !(CONDITION_TYPES as readonly string[]).includes(rawType)) {
    // No fields to read without a known type; the placeholder is never used.
    r.fail(`${path}.type`, `must be one of ${CONDITION_TYPES.map((t) => `"${t}"`).join(", ")}`);
    return { type: "all", conditions: [] };
  }
  const type = rawType as (typeof CONDITION_TYPES)[number];
  switch (type) {
    case "all":
    case "any":
      return { type, conditions: r.array(o["conditions"], `${path}.conditions`, (v, p) => readCondition(r, v, p)) };
    case "not":
      return { type, condition: readCondition(r, o["condition"], `${path}.condition`) };
    case "merchant":
      return { type, merchantIds: r.strings(o["merchantIds"], `${path}.merchantIds`) };
    case "buyer":
      return { type, buyerIds: r.strings(o["buyerIds"], `${path}.buyerIds`) };
    case "category":
      return { type, categories: r.strings(o["categories"], `${path}.categories`) };
    case "channel":
      // Spelling is validatePolicy's check (it names the unknown channel); here only "a string".
      return { type, channels: r.strings(o["channels"], `${path}.channels`) as Channel[] };
    case "amount": {
      const atLeast = o["atLeastMinor"] === undefined ? undefined : r.bigint(o["atLeastMinor"], `${path}.atLeastMinor`);
      const below = o["belowMinor"] === undefined ? undefined : r.bigint(o["belowMinor"], `${path}.belowMinor`);
      return {
        type,
        currency: r.string(o["currency"], `${path}.currency`) as CurrencyCode,
        ...(atLeast === undefined ? {} : { atLeastMinor: atLeast }),
        ...(below === undefined ? {} : { belowMinor: below }),
      };
    }
    case "currency":
      return { type, currencies: r.strings(o["currencies"], `${path}.currencies`) as CurrencyCode[] };
    case "country":
      return { type, countries: r.strings(o["countries"], `${path}.countries`) };
    case "time_of_day":
      return {
        type,
        windows: r.array(o["windows"], `${path}.windows`, (v, p): TimeWindow => {
          const w = r.object(v, p);
          return { fromMinute: r.number(w["fromMinute"], `${p}.fromMinute`), untilMinute: r.number(w["untilMinute"], `${p}.untilMinute`) };
        }),
      };
    default:
      return assertNever(type, "condition type");
  }
}

function readProvider(r: Reader, value: unknown, path: string): ProviderPolicy {
  const o = r.object(value, path);
  return {
    // Provider, currency and rounding spellings are validatePolicy's checks, with these paths.
    provider: r.string(o["provider"], `${path}.provider`) as ProviderId,
    enabled: r.boolean(o["enabled"], `${path}.enabled`),
    fees: r.array(o["fees"], `${path}.fees`, (v, p) => {
      const fee = r.object(v, p);
      const s = r.object(fee["schedule"], `${p}.schedule`);
      const schedule: FeeSchedule = {
        ratePpm: r.bigint(s["ratePpm"], `${p}.schedule.ratePpm`),
        fixedMinor: r.bigint(s["fixedMinor"], `${p}.schedule.fixedMinor`),
        rounding: r.string(s["rounding"], `${p}.schedule.rounding`) as RoundingMode,
      };
      return { currency: r.string(fee["currency"], `${p}.currency`) as CurrencyCode, schedule };
    }),
  };
}

function readMerchant(r: Reader, value: unknown, path: string): MerchantPolicy {
  const o = r.object(value, path);
  return {
    merchantId: r.string(o["merchantId"], `${path}.merchantId`),
    enabledProviders: r.strings(o["enabledProviders"], `${path}.enabledProviders`) as ProviderId[],
  };
}

function readRule(r: Reader, value: unknown, path: string): RoutingRule {
  const o = r.object(value, path);
  const e = r.object(o["effect"], `${path}.effect`);
  const effect: RuleEffect = {
    type: r.oneOf(e["type"], `${path}.effect.type`, ["exclude", "restrict"] as const),
    providers: r.strings(e["providers"], `${path}.effect.providers`) as ProviderId[],
  };
  return {
    ruleId: r.string(o["ruleId"], `${path}.ruleId`),
    description: r.string(o["description"], `${path}.description`),
    when: readCondition(r, o["when"], `${path}.when`),
    effect,
  };
}

function readPause(r: Reader, value: unknown, path: string): RolloutPause | undefined {
  if (value === null || value === undefined) return undefined;
  const o = r.object(value, path);
  return {
    pausedAt: r.date(o["pausedAt"], `${path}.pausedAt`),
    heldStepIndex: r.number(o["heldStepIndex"], `${path}.heldStepIndex`),
    reason: r.string(o["reason"], `${path}.reason`),
    by: r.oneOf(o["by"], `${path}.by`, ["guardrail", "operator"] as const),
  };
}

function readRollout(r: Reader, value: unknown, path: string): Rollout {
  const o = r.object(value, path);
  const g = r.object(o["guardrail"], `${path}.guardrail`);
  const guardrail: GuardrailConfig = {
    thresholdPp: r.number(g["thresholdPp"], `${path}.guardrail.thresholdPp`),
    minSamplesPerArm: r.number(g["minSamplesPerArm"], `${path}.guardrail.minSamplesPerArm`),
    alpha: r.number(g["alpha"], `${path}.guardrail.alpha`),
  };
  return {
    rolloutId: r.string(o["rolloutId"], `${path}.rolloutId`),
    provider: r.string(o["provider"], `${path}.provider`) as ProviderId,
    salt: r.string(o["salt"], `${path}.salt`),
    ramp: r.array(o["ramp"], `${path}.ramp`, (v, p): RampStep => {
      const step = r.object(v, p);
      return {
        startsAt: r.date(step["startsAt"], `${p}.startsAt`),
        percent: r.number(step["percent"], `${p}.percent`),
        merchants: r.oneOf(step["merchants"], `${p}.merchants`, ["allowlist", "all"] as const),
      };
    }),
    buyerAllowlist: r.strings(o["buyerAllowlist"], `${path}.buyerAllowlist`),
    merchantAllowlist: r.strings(o["merchantAllowlist"], `${path}.merchantAllowlist`),
    includedCategories: r.strings(o["includedCategories"], `${path}.includedCategories`),
    excludedCategories: r.strings(o["excludedCategories"], `${path}.excludedCategories`),
    trial: r.boolean(o["trial"], `${path}.trial`),
    guardrail,
    pause: readPause(r, o["pause"], `${path}.pause`),
  };
}

function readHealth(r: Reader, value: unknown): HealthConfig {
  const o = r.object(value, "health");
  return {
    windowSize: r.number(o["windowSize"], "health.windowSize"),
    priorSuccesses: r.number(o["priorSuccesses"], "health.priorSuccesses"),
    priorAttempts: r.number(o["priorAttempts"], "health.priorAttempts"),
    explorationShare: r.number(o["explorationShare"], "health.explorationShare"),
  };
}

function readBreaker(r: Reader, value: unknown): BreakerConfig {
  const o = r.object(value, "breaker");
  return {
    minAttempts: r.number(o["minAttempts"], "breaker.minAttempts"),
    failureRateMax: r.number(o["failureRateMax"], "breaker.failureRateMax"),
    latencyMsMax: r.number(o["latencyMsMax"], "breaker.latencyMsMax"),
    slowRateMax: r.number(o["slowRateMax"], "breaker.slowRateMax"),
    openMs: r.number(o["openMs"], "breaker.openMs"),
    probeSuccessesToClose: r.number(o["probeSuccessesToClose"], "breaker.probeSuccessesToClose"),
  };
}

function invalid(violations: readonly FieldViolation[]): InvalidPolicyError {
  const first = violations[0];
  const more = violations.length > 1 ? ` (and ${violations.length - 1} more)` : "";
  return {
    code: "invalid_policy",
    message: `invalid routing policy JSON: ${first?.field ?? ""} ${first?.description ?? ""}${more}`,
    fieldViolations: violations,
  };
}

/**
 * A policy from its JSON value, or every field whose shape is wrong. `version` may be absent (an
 * update's version is set by the store); it reads as 0 then, which validatePolicy refuses for a
 * stored version.
 */
export function policyFromJson(value: unknown): Result<RoutingPolicy, InvalidPolicyError> {
  const r = new Reader();
  const o = r.object(value, "policy");
  const policy: RoutingPolicy = {
    version: o["version"] === undefined ? 0 : r.number(o["version"], "version"),
    utcOffsetMinutes: r.number(o["utcOffsetMinutes"], "utcOffsetMinutes"),
    providers: r.array(o["providers"], "providers", (v, p) => readProvider(r, v, p)),
    merchants: r.array(o["merchants"], "merchants", (v, p) => readMerchant(r, v, p)),
    rules: r.array(o["rules"], "rules", (v, p) => readRule(r, v, p)),
    rollouts: r.array(o["rollouts"], "rollouts", (v, p) => readRollout(r, v, p)),
    health: readHealth(r, o["health"]),
    breaker: readBreaker(r, o["breaker"]),
  };
  return r.violations.length === 0 ? ok(policy) : err(invalid(r.violations));
}

/** A policy from JSON text; text that is not JSON is one violation at `policy`. */
export function policyFromJsonText(text: string): Result<RoutingPolicy, InvalidPolicyError> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return err(invalid([{ field: "policy", description: `is not JSON: ${error instanceof Error ? error.message : String(error)}` }]));
  }
  return policyFromJson(value);
}

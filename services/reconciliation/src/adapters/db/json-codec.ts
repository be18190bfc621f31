import type { CarriedItem } from "../../domain/match.js";

/** JSON has no bigint: amounts travel as decimal strings and come back as bigint. */
function toJson(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? { $bigint: v.toString() } : v)));
}

function fromJson<T>(value: unknown): T {
  return JSON.parse(JSON.stringify(value), (_k, v: unknown) =>
    typeof v === "object" && v !== null && "$bigint" in v && typeof v.$bigint === "string" ? BigInt(v.$bigint) : v,
  ) as T;
}

/** The carried items of a run as stored in `recon_runs.carry_forward`. */
export function carryToJson(items: readonly CarriedItem[]): string {
  return JSON.stringify(toJson(items));
}

/** Carried items back from `recon_runs.carry_forward`. */
export function carryFromJson(value: unknown): CarriedItem[] {
  return fromJson<CarriedItem[]>(value ?? []);
}

/**
 * Any value with bigints as JSON text for a JSONB parameter (class totals, differences). Text, not
 * an object: node-postgres would send a JS array as a Postgres array literal.
 */
export function jsonWithBigints(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}


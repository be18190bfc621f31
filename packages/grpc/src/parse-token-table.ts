import { err, ok, type Result } from "@tributary/result";
import { TENANT_DIMENSIONS, type Principal, type TenantDimension, type TenantGrant } from "./principal.js";
import type { TokenTable } from "./token-table.js";

/**
 * A token-table setting that cannot be read. `problems` holds one line per malformed entry
 * (`entry 2 of 3 (principal finance): …`, counted from 1) and `message` all of them joined.
 * Neither ever contains a token: the setting is a secret, the error goes to logs.
 */
export interface MalformedTokenTableError {
  readonly code: "malformed_token_table";
  readonly message: string;
  readonly problems: readonly string[];
}

function isDimension(name: string): name is TenantDimension {
  return (TENANT_DIMENSIONS as readonly string[]).includes(name);
}

const dimensionNames = TENANT_DIMENSIONS.join(" or ");

/** Reads the value of `merchants=…` in the compact form, `*` or `id|id…`; `undefined` when it is neither. */
function compactGrant(value: string): TenantGrant | undefined {
  if (value === "*") return "all";
  const ids = value.split("|").map((id) => id.trim());
  return ids.some((id) => id === "" || id === "*") ? undefined : ids;
}

/** One compact entry `token:principal:scope+scope:merchants=m1|m2[:providers=*]`; a string is the problem. */
function compactEntry(item: string): { token: string; principal: Principal } | string {
  const first = item.indexOf(":");
  const second = first < 0 ? -1 : item.indexOf(":", first + 1);
  if (first < 0 || second < 0) return "expected token:principal:scope+scope:merchants=…";
  const token = item.slice(0, first).trim();
  const id = item.slice(first + 1, second).trim();
  if (token === "" || /\s/.test(token)) return "the token is empty or contains whitespace";
  if (id === "") return "the principal is empty";
  const rest = item.slice(second + 1);
  // Scopes contain ':' (orders:write) but never '=': the bindings start at the ':' before the first '='.
  const firstEquals = rest.indexOf("=");
  const bindingsStart = firstEquals < 0 ? -1 : rest.lastIndexOf(":", firstEquals);
  if (firstEquals < 0) return `principal ${id}: no tenant binding (add :merchants=m1|m2, or :merchants=* for every merchant)`;
  if (bindingsStart < 0) return `principal ${id}: no scopes before the tenant binding`;
  const scopes = rest
    .slice(0, bindingsStart)
    .split("+")
    .map((scope) => scope.trim());
  if (scopes.some((scope) => scope === "")) return `principal ${id}: empty scope (scopes are joined by +)`;
  const grants: { [D in TenantDimension]?: TenantGrant } = {};
  for (const binding of rest.slice(bindingsStart + 1).split(":")) {
    const equals = binding.indexOf("=");
    const name = (equals < 0 ? binding : binding.slice(0, equals)).trim();
    if (!isDimension(name)) return `principal ${id}: unknown tenant binding "${name}" (expected ${dimensionNames})`;
    if (grants[name] !== undefined) return `principal ${id}: ${name}= given twice`;
    const grant = compactGrant(equals < 0 ? "" : binding.slice(equals + 1).trim());
    if (grant === undefined) return `principal ${id}: ${name}= needs * or ids separated by | (no empty id)`;
    grants[name] = grant;
  }
  return { token, principal: { id, scopes, grants } };
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}

/** One JSON entry's value `{principal, scopes, grants}`; a string is the problem. */
function jsonEntry(value: unknown): Principal | string {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return "expected {principal, scopes, grants}";
  }
  const entry = value as Record<string, unknown>;
  const unknownKey = Object.keys(entry).find((key) => !["principal", "scopes", "grants"].includes(key));
  if (unknownKey !== undefined) return `unknown key "${unknownKey}" (expected principal, scopes, grants)`;
  const id = entry["principal"];
  if (typeof id !== "string" || id.trim() === "") return "principal must be a non-empty string";
  const scopes = entry["scopes"];
  if (!isStringList(scopes) || scopes.length === 0 || scopes.some((scope) => scope.trim() === "")) {
    return `principal ${id}: scopes must be a non-empty list of non-empty strings`;
  }
  const rawGrants = entry["grants"];
  if (typeof rawGrants !== "object" || rawGrants === null || Array.isArray(rawGrants) || Object.keys(rawGrants).length === 0) {
    return `principal ${id}: grants must bind ${dimensionNames}, e.g. {"merchants": ["m1"]} or {"merchants": "all"}`;
  }
  const grants: { [D in TenantDimension]?: TenantGrant } = {};
  for (const [name, grant] of Object.entries(rawGrants as Record<string, unknown>)) {
    if (!isDimension(name)) return `principal ${id}: unknown tenant binding "${name}" (expected ${dimensionNames})`;
    if (grant === "all") {
      grants[name] = "all";
    } else if (isStringList(grant) && grant.length > 0 && grant.every((tenant) => tenant.trim() !== "")) {
      grants[name] = grant.map((tenant) => tenant.trim());
    } else {
      return `principal ${id}: grants.${name} must be "all" or a non-empty list of ids`;
    }
  }
  return { id, scopes: scopes.map((scope) => scope.trim()), grants };
}

function malformed(problems: readonly string[]): Result<never, MalformedTokenTableError> {
  return err({ code: "malformed_token_table", message: problems.join("; "), problems });
}

/**
 * Reads a token-table setting (one environment variable) into a {@link TokenTable}, so every
 * service spells its credentials the same way. Two spellings:
 *
 * - compact, entries joined by `,`:
 *   `token:principal:scope1+scope2:merchants=m1|m2`. The token and principal contain no `:`;
 *   the scopes (which do contain `:`, as in `orders:write`) run up to the `:` before the
 *   first `=`; then one or more `:`-separated bindings `merchants=…` / `providers=…`, each
 *   `*` (every tenant of that dimension) or ids joined by `|`. Example:
 *   `s3cret:shop-upstream:orders:write+orders:read:merchants=m-1001|m-1002`.
 * - JSON: `{"<token>": {"principal": "recon-wechat", "scopes": ["orders:read"],
 *   "grants": {"providers": ["wechat_pay"]}}}`, each grant `"all"` or a list of ids.
 *
 * Every entry must bind at least one dimension (a dimension it does not name grants nothing),
 * so a table written before bindings existed is refused instead of silently locking everyone
 * out or letting everyone in. An empty setting is an empty table: nobody gets in. Any
 * malformed entry makes the whole table an error — a server must not start half-configured —
 * listing every problem by entry number; naming the variable is the caller's part.
 */
export function parseTokenTable(text: string): Result<TokenTable, MalformedTokenTableError> {
  const trimmed = text.trim();
  if (trimmed === "") return ok({});
  const entries: { token: string; principal: Principal | string }[] = [];
  if (trimmed.startsWith("{")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      // The parser's message quotes the text around the error, which may be a token.
      return malformed(["the setting starts with { but is not valid JSON"]);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      return malformed(["expected a JSON object of token → {principal, scopes, grants}"]);
    }
    for (const [token, value] of Object.entries(parsed as Record<string, unknown>)) {
      const usable = token.trim() !== "" && !/\s/.test(token);
      entries.push({ token, principal: usable ? jsonEntry(value) : "the token is empty or contains whitespace" });
    }
  } else {
    for (const item of trimmed.split(",")) {
      const entry = item.trim() === "" ? "empty entry (stray ,)" : compactEntry(item);
      entries.push(typeof entry === "string" ? { token: "", principal: entry } : entry);
    }
  }
  const table: Record<string, Principal> = {};
  const problems: string[] = [];
  const firstIndexOf = new Map<string, number>();
  entries.forEach(({ token, principal }, index) => {
    const where = `entry ${index + 1} of ${entries.length}`;
    if (typeof principal === "string") {
      problems.push(`${where}: ${principal}`);
      return;
    }
    const earlier = firstIndexOf.get(token);
    if (earlier !== undefined) {
      problems.push(`${where} (principal ${principal.id}): repeats the token of entry ${earlier + 1}`);
      return;
    }
    firstIndexOf.set(token, index);
    table[token] = principal;
  });
  return problems.length > 0 ? malformed(problems) : ok(table);
}

import type { Principal, TokenTable } from "@tributary/grpc";

/**
 * Reads the `ORDER_AUTH_TOKENS` setting into the server's token table. Two spellings:
 * - compact: `token:principal:scope1+scope2,token2:principal2:scope`. Tokens and principals
 *   contain no `:` or `,`; the scopes are everything after the second `:`, so
 *   `s3cret:shop-upstream:orders:write+orders:read` gives shop-upstream both scopes;
 * - JSON: `{"<token>": {"principal": "shop-upstream", "scopes": ["orders:write", "orders:read"]}}`.
 * Throws on anything malformed: a server must not start with a half-read token table.
 */
export function parseAuthTokens(text: string): TokenTable {
  const trimmed = text.trim();
  if (trimmed === "") return {};
  if (trimmed.startsWith("{")) {
    const parsed: unknown = JSON.parse(trimmed);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new Error("ORDER_AUTH_TOKENS: expected a JSON object of token → {principal, scopes}");
    }
    const table: Record<string, Principal> = {};
    for (const [token, value] of Object.entries(parsed as Record<string, unknown>)) {
      const entry = value as { principal?: unknown; scopes?: unknown };
      if (
        typeof entry.principal !== "string" ||
        !Array.isArray(entry.scopes) ||
        !entry.scopes.every((scope): scope is string => typeof scope === "string")
      ) {
        throw new Error(`ORDER_AUTH_TOKENS: entry for a token of principal ${String(entry.principal)} is malformed`);
      }
      table[token] = { principal: entry.principal, scopes: entry.scopes };
    }
    return table;
  }
  const table: Record<string, Principal> = {};
  for (const item of trimmed.split(",")) {
    const first = item.indexOf(":");
    const second = first < 0 ? -1 : item.indexOf(":", first + 1);
    if (first <= 0 || second <= first + 1 || second === item.length - 1) {
      throw new Error("ORDER_AUTH_TOKENS: expected token:principal:scope1+scope2[,…]");
    }
    const token = item.slice(0, first).trim();
    const principal = item.slice(first + 1, second).trim();
    const scopes = item
      .slice(second + 1)
      .split("+")
      .map((scope) => scope.trim())
      .filter((scope) => scope !== "");
    table[token] = { principal, scopes };
  }
  return table;
}

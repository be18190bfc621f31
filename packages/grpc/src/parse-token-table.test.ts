import { describe, expect, it } from "vitest";
import { parseTokenTable } from "./parse-token-table.js";

describe("parseTokenTable", () => {
  it("reads the compact form: scopes up to the first binding, then merchants and providers", () => {
    const result = parseTokenTable(
      "t1:shop-upstream:orders:write+orders:read:merchants=m-1|m-2, t2:ops:orders:read:merchants=*," +
        "t3:recon-wechat:orders:read:providers=wechat_pay:merchants=m-1",
    );
    expect(result).toEqual({
      ok: true,
      value: {
        t1: { id: "shop-upstream", scopes: ["orders:write", "orders:read"], grants: { merchants: ["m-1", "m-2"] } },
        t2: { id: "ops", scopes: ["orders:read"], grants: { merchants: "all" } },
        t3: { id: "recon-wechat", scopes: ["orders:read"], grants: { providers: ["wechat_pay"], merchants: ["m-1"] } },
      },
    });
  });

  it("keeps = in a token (base64 padding) as part of the token", () => {
    expect(parseTokenTable("YWJj==:shop:orders:read:merchants=m-1")).toEqual({
      ok: true,
      value: { "YWJj==": { id: "shop", scopes: ["orders:read"], grants: { merchants: ["m-1"] } } },
    });
  });

  it("reads the JSON form", () => {
    const result = parseTokenTable(
      '{"t1": {"principal": "shop", "scopes": ["orders:write"], "grants": {"merchants": ["m-1"]}},' +
        ' "t2": {"principal": "recon", "scopes": ["orders:read"], "grants": {"providers": "all"}}}',
    );
    expect(result).toEqual({
      ok: true,
      value: {
        t1: { id: "shop", scopes: ["orders:write"], grants: { merchants: ["m-1"] } },
        t2: { id: "recon", scopes: ["orders:read"], grants: { providers: "all" } },
      },
    });
  });

  it("is an empty table for an empty setting, so nobody gets in", () => {
    expect(parseTokenTable("  ")).toEqual({ ok: true, value: {} });
  });

  it.each([
    ["t1", "entry 1 of 1: expected token:principal:scope+scope:merchants=…"],
    ["t1:shop", "entry 1 of 1: expected token:principal:scope+scope:merchants=…"],
    [":shop:orders:read:merchants=*", "entry 1 of 1: the token is empty or contains whitespace"],
    ["t1::orders:read:merchants=*", "entry 1 of 1: the principal is empty"],
    ["t1:shop:orders:read", "entry 1 of 1: principal shop: no tenant binding (add :merchants=m1|m2, or :merchants=* for every merchant)"],
    ["t1:shop:merchants=*", "entry 1 of 1: principal shop: no scopes before the tenant binding"],
    ["t1:shop:orders:read+:merchants=*", "entry 1 of 1: principal shop: empty scope (scopes are joined by +)"],
    ["t1:shop:orders:read:merchant=m-1", 'entry 1 of 1: principal shop: unknown tenant binding "merchant" (expected merchants or providers)'],
    ["t1:shop:orders:read:merchants=", "entry 1 of 1: principal shop: merchants= needs * or ids separated by | (no empty id)"],
    ["t1:shop:orders:read:merchants=m-1||m-2", "entry 1 of 1: principal shop: merchants= needs * or ids separated by | (no empty id)"],
    ["t1:shop:orders:read:merchants=m-1:merchants=m-2", "entry 1 of 1: principal shop: merchants= given twice"],
    ["t1:shop:orders:read:merchants=*,", "entry 2 of 2: empty entry (stray ,)"],
    ['{"t1": {"principal": "shop", "scopes": ["orders:read"]}}', 'entry 1 of 1: principal shop: grants must bind merchants or providers, e.g. {"merchants": ["m1"]} or {"merchants": "all"}'],
    ['{"t1": {"principal": "shop", "scopes": ["orders:read"], "grants": {"merchants": []}}}', 'entry 1 of 1: principal shop: grants.merchants must be "all" or a non-empty list of ids'],
    ['{"t1": {"principal": "shop", "scopes": ["orders:read"], "grants": {"merchants": "*"}}}', 'entry 1 of 1: principal shop: grants.merchants must be "all" or a non-empty list of ids'],
    ['{"t1": {"principal": "shop", "scopes": [], "grants": {"merchants": "all"}}}', "entry 1 of 1: principal shop: scopes must be a non-empty list of non-empty strings"],
    ['{"t1": {"principal": "shop", "scope": ["x"]}}', 'entry 1 of 1: unknown key "scope" (expected principal, scopes, grants)'],
    ['{"t1": "shop"}', "entry 1 of 1: expected {principal, scopes, grants}"],
    ['{"t1": ', "the setting starts with { but is not valid JSON"],
  ])("refuses %j with one line that names the entry", (text, problem) => {
    expect(parseTokenTable(text)).toEqual({ ok: false, error: { code: "malformed_token_table", message: problem, problems: [problem] } });
  });

  it("lists every malformed entry, refuses a repeated token, and never quotes a token", () => {
    const result = parseTokenTable(
      "secret-a:shop:orders:read:merchants=m-1,secret-b:ops:orders:read,secret-a:shop2:orders:read:merchants=*",
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.problems).toEqual([
      "entry 2 of 3: principal ops: no tenant binding (add :merchants=m1|m2, or :merchants=* for every merchant)",
      "entry 3 of 3 (principal shop2): repeats the token of entry 1",
    ]);
    expect(result.error.message).not.toContain("secret");
  });
});

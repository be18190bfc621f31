import { describe, expect, it } from "vitest";
import { parseAuthTokens } from "./auth-tokens.js";

describe("parseAuthTokens", () => {
  it("reads the compact form, scopes being everything after the second colon", () => {
    expect(parseAuthTokens("t1:shop-upstream:orders:write+orders:read, t2:finance:orders:read")).toEqual({
      t1: { principal: "shop-upstream", scopes: ["orders:write", "orders:read"] },
      t2: { principal: "finance", scopes: ["orders:read"] },
    });
  });

  it("reads the JSON form", () => {
    expect(parseAuthTokens('{"t1": {"principal": "shop", "scopes": ["orders:write"]}}')).toEqual({
      t1: { principal: "shop", scopes: ["orders:write"] },
    });
  });

  it("is empty for an empty setting, so nobody gets in", () => {
    expect(parseAuthTokens("")).toEqual({});
  });

  it.each(["t1", "t1:shop", "t1:shop:", ":shop:orders:read", '{"t1": {"principal": "shop"}}', "[]"])(
    "refuses the malformed setting %j rather than start half-configured",
    (text) => {
      expect(() => parseAuthTokens(text)).toThrow();
    },
  );
});

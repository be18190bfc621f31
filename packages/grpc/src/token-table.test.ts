import { describe, expect, it } from "vitest";
import { createTokenVerifier, parseBearer } from "./token-table.js";

describe("createTokenVerifier", () => {
  const verify = createTokenVerifier({
    "token-a": { id: "a", scopes: ["x"], grants: {} },
    "token-b": { id: "b", scopes: [], grants: {} },
  });

  it("finds the principal of a known token", () => {
    expect(verify("token-a")?.id).toBe("a");
    expect(verify("token-b")?.id).toBe("b");
  });

  it("rejects unknown tokens, prefixes and extensions of known ones", () => {
    expect(verify("token-")).toBeUndefined();
    expect(verify("token-ab")).toBeUndefined();
    expect(verify("")).toBeUndefined();
  });
});

describe("parseBearer", () => {
  it("extracts the token from a Bearer header and refuses other schemes", () => {
    expect(parseBearer("Bearer abc.def")).toBe("abc.def");
    expect(parseBearer("bearer abc")).toBe("abc");
    expect(parseBearer("Basic abc")).toBeUndefined();
    expect(parseBearer("Bearer")).toBeUndefined();
    expect(parseBearer(undefined)).toBeUndefined();
  });
});

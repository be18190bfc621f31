import { describe, expect, it } from "vitest";
import { grantOf, mayActFor, type Principal } from "./principal.js";

const shop: Principal = { id: "shop", scopes: ["orders:write"], grants: { merchants: ["m-1", "m-2"] } };
const operator: Principal = { id: "ops", scopes: ["orders:read"], grants: { merchants: "all" } };
const recon: Principal = { id: "recon-wechat", scopes: ["orders:read"], grants: { providers: ["wechat_pay"] } };

describe("mayActFor", () => {
  it("allows exactly the bound tenants, or every tenant for all", () => {
    expect(mayActFor(shop, "merchants", "m-2")).toBe(true);
    expect(mayActFor(shop, "merchants", "m-3")).toBe(false);
    expect(mayActFor(operator, "merchants", "m-3")).toBe(true);
    expect(mayActFor(recon, "providers", "wechat_pay")).toBe(true);
    expect(mayActFor(recon, "providers", "alipay")).toBe(false);
  });

  it("fails closed: an unbound dimension, no principal or an empty id grant nothing", () => {
    expect(mayActFor(recon, "merchants", "m-1")).toBe(false);
    expect(mayActFor(shop, "providers", "wechat_pay")).toBe(false);
    expect(mayActFor(undefined, "merchants", "m-1")).toBe(false);
    expect(mayActFor(shop, "merchants", "")).toBe(false);
    expect(grantOf(recon, "merchants")).toEqual([]);
    expect(grantOf(undefined, "merchants")).toEqual([]);
  });
});

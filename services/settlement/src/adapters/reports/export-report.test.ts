import { describe, expect, it } from "vitest";
import { neutraliseFormula } from "./export-report.js";

describe("neutraliseFormula", () => {
  it.each(["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])("prefixes %j with a quote", (cell) => {
    expect(neutraliseFormula(cell)).toBe(`'${cell}`);
  });
  it.each(["杭州小商品店", "m-1", "4200000000", ""])("leaves %j as it is", (cell) => {
    expect(neutraliseFormula(cell)).toBe(cell);
  });
});

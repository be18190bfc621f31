import { describe, expect, it } from "vitest";
import { Provider, ProviderSchema } from "./gen/tributary/common/v1/provider_pb.js";
import {
  isProviderId,
  PROVIDER_IDS,
  providerIdFromProto,
  providerIdFromSandboxName,
  providerIdToProto,
  PROVIDERS,
  sandboxProviderName,
} from "./providers.js";

// Read from the generated descriptor, not the TS enum, so a value added to provider.proto shows
// up here as soon as `npm run generate` runs, whether or not anyone touched the table.
const protoValues = ProviderSchema.values.filter((value) => value.name !== "PROVIDER_UNSPECIFIED");

describe("the provider table", () => {
  it("maps every proto Provider value except UNSPECIFIED, and nothing else", () => {
    expect(protoValues.length).toBeGreaterThan(0);
    expect(PROVIDER_IDS.map(providerIdToProto).sort()).toEqual(protoValues.map((value) => value.number).sort());
    expect(Object.keys(PROVIDERS).sort()).toEqual([...PROVIDER_IDS].sort());
  });

  it("spells each id as its proto value name, lowercased without PROVIDER_", () => {
    for (const value of protoValues) {
      expect(providerIdFromProto(value.number)).toBe(value.name.replace(/^PROVIDER_/, "").toLowerCase());
    }
  });

  it.each(PROVIDER_IDS)("round-trips %s through proto and the sandbox name", (id) => {
    expect(providerIdFromProto(providerIdToProto(id))).toBe(id);
    expect(providerIdFromSandboxName(sandboxProviderName(id))).toBe(id);
    expect(isProviderId(id)).toBe(true);
  });

  it("gives every provider its own sandbox name", () => {
    const names = PROVIDER_IDS.map(sandboxProviderName);
    expect(new Set(names).size).toBe(PROVIDER_IDS.length);
    expect(names).toEqual(["alipay", "wechat", "unionpay", "jdpay", "ecny"]);
  });

  it("names no provider for UNSPECIFIED, an undefined number, or a spelling it does not hold", () => {
    expect(providerIdFromProto(Provider.UNSPECIFIED)).toBeUndefined();
    expect(providerIdFromProto(99 as Provider)).toBeUndefined();
    expect(providerIdFromSandboxName("wechat_pay")).toBeUndefined();
    expect(providerIdFromSandboxName("")).toBeUndefined();
    expect(isProviderId("wechat")).toBe(false);
    expect(isProviderId("")).toBe(false);
  });
});

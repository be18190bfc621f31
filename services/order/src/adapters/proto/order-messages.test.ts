import { PROVIDER_IDS } from "@tributary/contracts";
import { Provider } from "@tributary/contracts/common/v1/provider";
import { describe, expect, it } from "vitest";
import { providerName, providerToProto } from "./order-messages.js";

describe("provider ↔ proto", () => {
  it.each(PROVIDER_IDS)("round-trips %s", (id) => {
    expect(providerName(providerToProto(id))).toBe(id);
  });

  it("keeps no preference apart from a number the contract lacks", () => {
    expect(providerToProto(undefined)).toBe(Provider.UNSPECIFIED);
    expect(providerName(Provider.UNSPECIFIED)).toBe("");
    expect(providerName(9 as Provider)).toBe("unknown(9)");
  });
});

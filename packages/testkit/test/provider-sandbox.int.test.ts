import { afterAll, describe, expect, it } from "vitest";
import { providerSandbox } from "@tributary/testkit";

describe("providerSandbox() from the testkit", async () => {
  const sandbox = await providerSandbox({ seed: 7 });
  afterAll(() => sandbox.stop());

  it("listens on a free loopback port and answers its health endpoint", async () => {
    expect(sandbox.port).toBeGreaterThan(0);
    const response = await fetch(`${sandbox.url}/health`);
    expect(response.status).toBe(200);
  });

  it("hands out each provider's merchant credentials", () => {
    expect(Object.keys(sandbox.providers).sort()).toEqual(["alipay", "ecny", "jdpay", "unionpay", "wechat"]);
  });
});

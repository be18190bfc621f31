import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadOrCreateKeys } from "./keys.js";

describe("sandbox keys", () => {
  it("are generated on first start into the folder (0600) and reused afterwards", () => {
    const dir = join(mkdtempSync(join(tmpdir(), "keys-")), "nested");
    const first = loadOrCreateKeys(dir);
    const file = join(dir, "keys.json");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(first.wechat.apiV3Key).toHaveLength(32);
    expect(first.wechat.platformSerial).toMatch(/^PUB_KEY_ID_/);
    expect(first.alipay.app.privateKeyPem).toContain("BEGIN PRIVATE KEY");
    const second = loadOrCreateKeys(dir);
    expect(second).toEqual(first);
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual(first);
  });
});

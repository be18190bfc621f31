import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
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

  it("are the same set in every process when several start at once on a new checkout", async () => {
    const root = mkdtempSync(join(tmpdir(), "keys-race-"));
    const dir = join(root, "keys");
    const go = join(root, "go");
    const keysModule = new URL("./keys.ts", import.meta.url).href;
    // Each child waits for the go file, so all of them find no keys and generate at once.
    const script = `
      import { existsSync } from "node:fs";
      const { loadOrCreateKeys } = await import(${JSON.stringify(keysModule)});
      process.stdout.write("ready\\n");
      while (!existsSync(${JSON.stringify(go)})) await new Promise((r) => setTimeout(r, 5));
      process.stdout.write(loadOrCreateKeys(${JSON.stringify(dir)}).wechat.merchantSerial + "\\n");`;
    const children = Array.from({ length: 4 }, () => {
      const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      const ready = new Promise<void>((resolve) => child.stdout.on("data", (chunk: Buffer) => ((out += chunk.toString()), out.startsWith("ready") && resolve())));
      const exited = new Promise<string>((resolve, reject) => child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`child exited ${code}: ${out}`)))));
      return { ready, exited };
    });
    await Promise.all(children.map((c) => c.ready));
    writeFileSync(go, "");
    const serials = (await Promise.all(children.map((c) => c.exited))).map((out) => out.trim().split("\n").at(-1));
    const saved = JSON.parse(readFileSync(join(dir, "keys.json"), "utf8")) as { wechat: { merchantSerial: string } };
    expect(new Set(serials)).toEqual(new Set([saved.wechat.merchantSerial]));
    expect(readdirSync(dir)).toEqual(["keys.json"]);
  }, 60_000);
});

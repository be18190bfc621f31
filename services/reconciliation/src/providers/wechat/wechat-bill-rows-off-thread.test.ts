import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { BillRow } from "../../domain/bill.js";
import { BillFormatError } from "../bill-reader.js";
import { FIXTURES, fixture } from "../fixtures.test-support.js";
import { wechatTradeBillRows } from "./wechat-bill-parser.js";
import { wechatTradeBillChunksOffThread } from "./wechat-bill-rows-off-thread.js";

const DAY = "2026-11-23";
const dir = mkdtempSync(join(tmpdir(), "wechat-off-thread-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every chunk and the return value, or the error thrown. */
async function drain(path: string, chunkRows?: number): Promise<{ chunks: (readonly BillRow[])[]; returned: number }> {
  const chunks: (readonly BillRow[])[] = [];
  const out = wechatTradeBillChunksOffThread({ path, file: "wechat.csv", billDate: DAY, ...(chunkRows === undefined ? {} : { chunkRows }) });
  for (;;) {
    const next = await out.next();
    if (next.done === true) return { chunks, returned: next.value };
    chunks.push(next.value);
  }
}

async function onThread(bytes: Buffer): Promise<{ rows: BillRow[]; returned: number }> {
  const rows: BillRow[] = [];
  const out = wechatTradeBillRows({ bytes, file: "wechat.csv", billDate: DAY });
  for (;;) {
    const next = await out.next();
    if (next.done === true) return { rows, returned: next.value };
    rows.push(next.value);
  }
}

async function thrown(run: Promise<unknown>): Promise<unknown> {
  try {
    await run;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

describe("wechatTradeBillChunksOffThread", () => {
  it("yields exactly wechatTradeBillRows' rows, in order, in chunks of the size asked, and returns the confirmed count", async () => {
    const path = `${FIXTURES}wechat-all-current.csv`;
    const expected = await onThread(fixture("wechat-all-current.csv"));
    expect(expected.rows.length).toBeGreaterThan(3);
    const got = await drain(path, 2);
    expect(got.chunks.every((c, i) => c.length === 2 || i === got.chunks.length - 1)).toBe(true);
    expect(got.chunks.flat()).toEqual(expected.rows);
    expect(got.returned).toBe(expected.returned);
    expect(typeof got.chunks[0]?.[0]?.amountMinor).toBe("bigint");
  });

  it("rebuilds the worker's BillFormatError — same reason, line, column and field — and yields nothing after it", async () => {
    const lines = fixture("wechat-all-current.csv").toString("utf8").split("\r\n");
    const summaryAt = lines.findIndex((l) => l.startsWith("总交易单数"));
    const cells = (lines[summaryAt + 1] ?? "").split(",");
    cells[1] = "`1.00";
    const path = join(dir, "bad-summary.csv");
    writeFileSync(path, lines.map((l, i) => (i === summaryAt + 1 ? cells.join(",") : l)).join("\r\n"));
    const error = await thrown(drain(path));
    expect(error).toBeInstanceOf(BillFormatError);
    expect(error).toMatchObject({ reason: "totals_mismatch", file: "wechat.csv", line: summaryAt + 2, column: 2, field: "应结订单总金额" });
  });

  it("fails on a file that is not there, and stops the worker when the consumer returns early", async () => {
    expect(await thrown(drain(join(dir, "missing.csv")))).toBeInstanceOf(Error);
    const out = wechatTradeBillChunksOffThread({ path: `${FIXTURES}wechat-all-current.csv`, file: "wechat.csv", billDate: DAY, chunkRows: 1 });
    const first = await out.next();
    expect(first.done).toBe(false);
    const ended = await out.return(0);
    expect(ended).toEqual({ done: true, value: 0 });
  });
});

import { describe, expect, it } from "vitest";
import { formatShanghai, parseShanghaiDateTime, rfc3339Shanghai, shanghaiDay, shanghaiDayBounds } from "./shanghai-time.js";

describe("Asia/Shanghai cut-off", () => {
  it("puts 2026-11-23T16:00:00Z on the 2026-11-24 bill and one millisecond earlier on the 23rd", () => {
    const cutoff = Date.parse("2026-11-23T16:00:00Z");
    expect(shanghaiDay(cutoff)).toBe("2026-11-24");
    expect(shanghaiDay(cutoff - 1)).toBe("2026-11-23");
    expect(shanghaiDayBounds("2026-11-24")).toEqual({ startMs: cutoff, endMs: cutoff + 86_400_000 });
  });

  it("formats and parses wall time", () => {
    const ms = Date.parse("2026-11-23T15:59:59.900Z");
    expect(formatShanghai(ms, "yyyy-MM-dd HH:mm:ss.SSS")).toBe("2026-11-23 23:59:59.900");
    expect(formatShanghai(ms, "MMddHHmmss")).toBe("1123235959");
    expect(rfc3339Shanghai(ms)).toBe("2026-11-23T23:59:59+08:00");
    expect(parseShanghaiDateTime("2026-11-23 23:59:59")).toBe(ms - 900);
    expect(parseShanghaiDateTime("2026-02-30 10:00:00")).toBeUndefined();
    expect(shanghaiDayBounds("2026-13-01")).toBeUndefined();
  });
});

import { describe, expect, it } from "vitest";
import { decodePageToken, encodePageToken } from "./list-orders.js";

describe("page tokens", () => {
  it("round-trips a position", () => {
    const cursor = { createdAt: new Date("2026-11-24T08:00:00.123Z"), orderId: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b" };
    expect(decodePageToken(encodePageToken(cursor))).toEqual(cursor);
  });

  it.each(["", "not-a-token", Buffer.from('{"t":"yesterday","i":"x"}').toString("base64url"), Buffer.from("[1]").toString("base64url")])(
    "refuses %j",
    (token) => {
      expect(decodePageToken(token)).toBeUndefined();
    },
  );
});

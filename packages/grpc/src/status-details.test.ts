import { Metadata } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { Code } from "./code.js";
import { decodeStatusDetails, statusDetailsTrailer } from "./status-details.js";

describe("status details trailer", () => {
  it("round-trips the domain reason and field violations through google.rpc.Status", () => {
    const trailer = statusDetailsTrailer(Code.InvalidArgument, "bad amount", {
      reason: "invalid_amount",
      fieldViolations: [
        { field: "amount.amount_minor", description: "must be positive" },
        { field: "amount.currency", description: "unknown currency" },
      ],
    });
    expect(decodeStatusDetails(trailer)).toEqual({
      reason: "invalid_amount",
      fieldViolations: [
        { field: "amount.amount_minor", description: "must be positive" },
        { field: "amount.currency", description: "unknown currency" },
      ],
    });
  });

  it("yields no details for missing or garbage trailers instead of throwing", () => {
    expect(decodeStatusDetails(undefined)).toEqual({});
    const garbage = new Metadata();
    garbage.set("grpc-status-details-bin", Buffer.from([0xff, 0xff, 0xff]));
    expect(decodeStatusDetails(garbage)).toEqual({});
  });
});

import { describe, expect, it } from "vitest";
import { classifyPublishFailure, unknownTopicRefusal } from "./publish-refusal.js";

/** Shaped like kafkajs's errors (KafkaJSProtocolError carries `type`; retries wrap as `cause`). */
const protocolError = (type: string, retriable = false) =>
  Object.assign(new Error(`broker said ${type}`), { name: "KafkaJSProtocolError", type, retriable });
const retriesExceeded = (cause: unknown) =>
  Object.assign(new Error("retries exceeded", { cause }), { name: "KafkaJSNumberOfRetriesExceeded" });

describe("classifyPublishFailure", () => {
  it.each([
    ["MESSAGE_TOO_LARGE", "message_too_large"],
    ["RECORD_LIST_TOO_LARGE", "message_too_large"],
    ["INVALID_RECORD", "invalid_record"],
    ["INVALID_TOPIC_EXCEPTION", "invalid_topic"],
  ])("treats %s as a refusal for good", (type, code) => {
    expect(classifyPublishFailure(protocolError(type))).toEqual({ code, reason: `${type}: broker said ${type}` });
  });

  it("finds the refusal inside kafkajs's retries-exceeded wrapper", () => {
    expect(classifyPublishFailure(retriesExceeded(protocolError("MESSAGE_TOO_LARGE")))?.code).toBe("message_too_large");
  });

  it("never quarantines because a broker is down, however the error is wrapped", () => {
    const down = Object.assign(new Error("connect ECONNREFUSED"), { name: "KafkaJSConnectionError" });
    expect(classifyPublishFailure(down)).toBeUndefined();
    expect(classifyPublishFailure(retriesExceeded(down))).toBeUndefined();
    expect(classifyPublishFailure(Object.assign(protocolError("MESSAGE_TOO_LARGE"), { cause: down }))).toBeUndefined();
  });

  it("leaves errors it does not know as transient: blocking beats losing an event", () => {
    expect(classifyPublishFailure(protocolError("NOT_LEADER_FOR_PARTITION", true))).toBeUndefined();
    expect(classifyPublishFailure(protocolError("TOPIC_AUTHORIZATION_FAILED"))).toBeUndefined();
    expect(classifyPublishFailure(new Error("MESSAGE_TOO_LARGE"))).toBeUndefined();
    expect(classifyPublishFailure(undefined)).toBeUndefined();
    const cyclic = new Error("a");
    (cyclic as { cause?: unknown }).cause = cyclic;
    expect(classifyPublishFailure(cyclic)).toBeUndefined();
  });

  it("names the missing topic in an unknown-topic refusal", () => {
    expect(unknownTopicRefusal("orders.v9")).toEqual({ code: "unknown_topic", reason: expect.stringContaining("orders.v9") });
  });
});

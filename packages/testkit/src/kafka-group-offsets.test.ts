import { describe, expect, it } from "vitest";
import { startGroupAtTopicEnd, type GroupOffsetsAdmin } from "./kafka-group-offsets.js";

/** A stand-in admin whose group keeps a member for the first `busyCalls` setOffsets calls. */
function adminWithMemberFor(busyCalls: number) {
  const set: { groupId: string; topic: string; partitions: { partition: number; offset: string }[] }[] = [];
  let calls = 0;
  const admin: GroupOffsetsAdmin = {
    connect: async () => {},
    disconnect: async () => {},
    listTopics: async () => ["payments.v1"],
    fetchTopicOffsets: async () => [
      { partition: 0, offset: "7" },
      { partition: 1, offset: "9" },
    ],
    setOffsets: async (request) => {
      calls += 1;
      if (calls <= busyCalls) throw new Error("The consumer group must have no running instances, current state: Stable");
      set.push(request);
    },
  };
  return { kafka: { admin: () => admin }, set, calls: () => calls };
}

describe("startGroupAtTopicEnd", () => {
  it("commits the group at each partition's end", async () => {
    const stand = adminWithMemberFor(0);
    await startGroupAtTopicEnd(stand.kafka, "order-payments", "payments.v1");
    expect(stand.set).toEqual([{ groupId: "order-payments", topic: "payments.v1", partitions: [{ partition: 0, offset: "7" }, { partition: 1, offset: "9" }] }]);
  });

  it("waits while a member an earlier process left behind still holds the group", async () => {
    const stand = adminWithMemberFor(3);
    await startGroupAtTopicEnd(stand.kafka, "order-payments", "payments.v1", { retryEveryMs: 1 });
    expect(stand.calls()).toBe(4);
    expect(stand.set).toHaveLength(1);
  });

  it("gives up with kafkajs' error once the wait is over", async () => {
    const stand = adminWithMemberFor(Number.POSITIVE_INFINITY);
    await expect(startGroupAtTopicEnd(stand.kafka, "order-payments", "payments.v1", { memberGoneWaitMs: 20, retryEveryMs: 5 })).rejects.toThrow(/no running instances/);
  });
});

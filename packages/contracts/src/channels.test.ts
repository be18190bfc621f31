import { describe, expect, it } from "vitest";
import { Channel, ChannelSchema } from "./gen/tributary/common/v1/provider_pb.js";
import { CHANNEL_IDS, CHANNELS, channelIdFromProto, channelIdToProto, isChannelId } from "./channels.js";

// Read from the generated descriptor, not the TS enum, so a value added to provider.proto shows
// up here as soon as `npm run generate` runs, whether or not anyone touched the table.
const protoValues = ChannelSchema.values.filter((value) => value.name !== "CHANNEL_UNSPECIFIED");

describe("the channel table", () => {
  it("maps every proto Channel value except UNSPECIFIED, and nothing else", () => {
    expect(protoValues.length).toBeGreaterThan(0);
    expect(CHANNEL_IDS.map(channelIdToProto).sort()).toEqual(protoValues.map((value) => value.number).sort());
    expect(Object.keys(CHANNELS).sort()).toEqual([...CHANNEL_IDS].sort());
  });

  it("spells each id as its proto value name, lowercased without CHANNEL_", () => {
    for (const value of protoValues) {
      expect(channelIdFromProto(value.number)).toBe(value.name.replace(/^CHANNEL_/, "").toLowerCase());
    }
  });

  it.each(CHANNEL_IDS)("round-trips %s through proto", (id) => {
    expect(channelIdFromProto(channelIdToProto(id))).toBe(id);
    expect(isChannelId(id)).toBe(true);
  });

  it("has no id for UNSPECIFIED or an undefined number, and refuses strings outside the set", () => {
    expect(channelIdFromProto(Channel.UNSPECIFIED)).toBeUndefined();
    expect(channelIdFromProto(99 as Channel)).toBeUndefined();
    expect(isChannelId("APP")).toBe(false);
    expect(isChannelId("")).toBe(false);
  });
});

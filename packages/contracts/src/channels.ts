import { Channel } from "./gen/tributary/common/v1/provider_pb.js";

/**
 * The one set of checkout channel identifiers: the proto `Channel` enum's value names, lowercased
 * and without their `CHANNEL_` prefix. Services, their databases and the CLI spell a channel
 * this way; the order is fixed.
 */
export const CHANNEL_IDS = ["app", "web", "mini_program"] as const;

/** One of {@link CHANNEL_IDS}. */
export type ChannelId = (typeof CHANNEL_IDS)[number];

/**
 * The one mapping table between a channel's id and its wire value. Anything that converts between
 * them goes through the functions below, so a new channel is one row here (and one proto value).
 */
export const CHANNELS = {
  app: Channel.APP,
  web: Channel.WEB,
  mini_program: Channel.MINI_PROGRAM,
} as const satisfies Readonly<Record<ChannelId, Channel>>;

const idByProto: ReadonlyMap<Channel, ChannelId> = new Map(CHANNEL_IDS.map((id) => [CHANNELS[id], id]));

/** Tells whether a string from outside is one of {@link CHANNEL_IDS}. */
export function isChannelId(value: string): value is ChannelId {
  return (CHANNEL_IDS as readonly string[]).includes(value);
}

/**
 * The channel id of a proto enum value, or `undefined` for UNSPECIFIED and for a number this
 * contract does not define: the caller decides whether that is a missing field or a bad message.
 */
export function channelIdFromProto(channel: Channel): ChannelId | undefined {
  return idByProto.get(channel);
}

/** The proto enum value of a channel id. */
export function channelIdToProto(id: ChannelId): Channel {
  return CHANNELS[id];
}

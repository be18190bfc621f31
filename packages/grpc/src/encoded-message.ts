import type { DescMessage } from "@bufbuild/protobuf";

/**
 * A response message already in its wire form, for a server-streaming handler whose messages are
 * cheaper to write straight from their source than to build as protobuf-es objects and encode
 * (settlement's reconciliation stream: a million records a day). The server sends the bytes as
 * they are; whoever makes one answers for them being a valid encoding of `schema` (test it against
 * `toBinary`). The type parameter ties it to the RPC's output type.
 */
export class EncodedMessage<O extends DescMessage = DescMessage> {
  constructor(
    readonly schema: O,
    readonly bytes: Uint8Array,
  ) {}
}

/** `bytes` as the encoding of one `schema` message, to yield from a server-streaming handler. */
export function encodedMessage<O extends DescMessage>(schema: O, bytes: Uint8Array): EncodedMessage<O> {
  return new EncodedMessage(schema, bytes);
}

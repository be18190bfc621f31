import { type DescMessage, type DescMethod, type DescService, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";
import { EncodedMessage } from "./encoded-message.js";

/**
 * The grpc-js method definition of one protobuf-es RPC: the wire path
 * `/${service.typeName}/${method.name}` and (de)serialization with `toBinary` /
 * `fromBinary`. Shared by the server and the client so both ends agree on the path.
 */
export function createMethodDefinition(method: DescMethod): MethodDefinition<unknown, unknown> {
  const input: DescMessage = method.input;
  const output: DescMessage = method.output;
  return {
    path: `/${method.parent.typeName}/${method.name}`,
    originalName: method.localName,
    requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
    responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
    requestSerialize: (value) => Buffer.from(toBinary(input, value as never)),
    requestDeserialize: (bytes) => fromBinary(input, bytes),
    responseSerialize: (value) =>
      value instanceof EncodedMessage
        ? Buffer.from(value.bytes.buffer, value.bytes.byteOffset, value.bytes.byteLength)
        : Buffer.from(toBinary(output, value as never)),
    responseDeserialize: (bytes) => fromBinary(output, bytes),
  };
}

/**
 * A grpc-js `ServiceDefinition` built from a protobuf-es service descriptor, keyed by
 * each method's `localName`. Exported so benchmarks can serve the same descriptor through
 * plain grpc-js handlers as a baseline for the adapter.
 */
export function createServiceDefinition(service: DescService): ServiceDefinition {
  const definition: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methods) {
    definition[method.localName] = createMethodDefinition(method);
  }
  return definition;
}

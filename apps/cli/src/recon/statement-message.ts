import { create, toBinary } from "@bufbuild/protobuf";
import type { Message } from "kafkajs";
import { providerIdToProto, type ProviderId } from "@tributary/contracts";
import { StatementAvailableSchema } from "@tributary/contracts/statement/v1/statement_events";
import { envelopeHeaders, newEventId, protobufContentType } from "@tributary/events";

/** A bill the statement names as a local file, with the digest the worker checks it against. */
export interface LocalBill {
  /** Absolute path under the workers' local bill root. */
  readonly path: string;
  /** Lower-case hex SHA-256 of the file's bytes. */
  readonly sha256: string;
}

/**
 * `StatementAvailable` for one provider's bill of one day as a Kafka message for `statements.v1`
 * (key `provider/bill_date`, as the topic's one ordering unit), and its event id, which the
 * worker's inbox records once it has handled it. Without a local bill the location is empty: the
 * worker downloads the bill through the provider's own signed API, as on a provider's bill-ready
 * notice. `producer` names who announced it (`tributary-day-run`, `tributary-cli`).
 */
export function statementMessage(provider: ProviderId, billDate: string, producer: string, bill?: LocalBill): { readonly eventId: string; readonly message: Message } {
  const eventId = newEventId();
  const statement = create(StatementAvailableSchema, {
    provider: providerIdToProto(provider),
    billDate,
    location: bill?.path ?? "",
    ...(bill === undefined ? {} : { digestAlgorithm: "SHA256", digest: bill.sha256 }),
  });
  return {
    eventId,
    message: {
      key: `${provider}/${billDate}`,
      value: Buffer.from(toBinary(StatementAvailableSchema, statement)),
      headers: envelopeHeaders({ eventId, eventType: StatementAvailableSchema.typeName, schemaVersion: "1", producer, occurredAt: new Date(), contentType: protobufContentType }),
    },
  };
}

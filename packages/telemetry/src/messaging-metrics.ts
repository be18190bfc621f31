import { metrics, type Attributes, type Counter, type Histogram, type Meter } from "@opentelemetry/api";

/**
 * The event backbone's instruments. The names follow the OpenTelemetry messaging metrics
 * conventions where one exists (`messaging.client.sent.messages`,
 * `messaging.client.consumed.messages`, `messaging.process.duration`) and ours otherwise.
 */
export interface MessagingMetrics {
  /** Messages acknowledged by Kafka (relay or dead-letter publish). */
  readonly published: Counter;
  /** Messages a consumer finished with: applied, skipped as a duplicate, or dead-lettered. */
  readonly consumed: Counter;
  /** Messages sent to a `<topic>.dlq`. */
  readonly deadLettered: Counter;
  /** Handler latency in seconds, per message, including its database transaction. */
  readonly handlerDuration: Histogram;
  /**
   * Reports the outbox backlog (rows not yet published) through an observable gauge; `read`
   * returns the relay's last known count. Returns the function that stops reporting.
   */
  observeOutboxBacklog(read: () => number, attributes?: Attributes): () => void;
}

/** Creates the messaging instruments on `meter` (the global meter of the service by default). */
export function messagingMetrics(meter: Meter = metrics.getMeter("@tributary/events")): MessagingMetrics {
  const backlog = meter.createObservableGauge("tributary.outbox.backlog", {
    description: "Outbox rows not yet published to Kafka.",
    unit: "{message}",
  });
  return {
    published: meter.createCounter("messaging.client.sent.messages", {
      description: "Messages acknowledged by the broker.",
      unit: "{message}",
    }),
    consumed: meter.createCounter("messaging.client.consumed.messages", {
      description: "Messages a consumer finished with.",
      unit: "{message}",
    }),
    deadLettered: meter.createCounter("tributary.messaging.dead_lettered.messages", {
      description: "Messages sent to a dead-letter topic.",
      unit: "{message}",
    }),
    handlerDuration: meter.createHistogram("messaging.process.duration", {
      description: "Time to apply one message, including its database transaction.",
      unit: "s",
    }),
    observeOutboxBacklog(read, attributes) {
      const callback = (result: { observe(value: number, attributes?: Attributes): void }): void => {
        result.observe(read(), attributes);
      };
      backlog.addCallback(callback);
      return () => backlog.removeCallback(callback);
    },
  };
}

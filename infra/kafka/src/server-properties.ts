import { LocalKafkaError } from "./local-kafka-error.js";

/** The ports and folders of one node, as the launcher chose them. */
export type NodeLayout = {
  readonly nodeId: number;
  readonly brokerPort: number;
  readonly controllerPort: number;
  readonly logDir: string;
};

/** What {@link serverProperties} needs to write one node's server.properties. */
export type ServerPropertiesInput = {
  readonly node: NodeLayout;
  /** Every node of the cluster, this one included: they form the static controller quorum. */
  readonly cluster: readonly NodeLayout[];
  readonly hasShareCoordinator: boolean;
  readonly overrides: Readonly<Record<string, string>>;
};

const KEY_PATTERN = /^[a-zA-Z][a-zA-Z0-9._-]*$/;

/**
 * Rejects an override the broker could never read, before any JVM starts: a key with spaces
 * or other characters Kafka config names never contain, or a value spanning lines.
 * Values the broker parses and rejects (e.g. `num.partitions=abc`) surface later, from the
 * broker's own log, with the same `invalid_override` code.
 */
export function validateOverrides(overrides: Readonly<Record<string, string>>): void {
  for (const [key, value] of Object.entries(overrides)) {
    if (!KEY_PATTERN.test(key)) {
      throw new LocalKafkaError(
        "invalid_override",
        `Override key "${key}" is not a Kafka config name (letters, digits, ".", "_", "-"): write it as name=value, e.g. num.partitions=3`,
      );
    }
    if (/[\r\n]/.test(value)) {
      throw new LocalKafkaError(
        "invalid_override",
        `Override "${key}" has a value spanning several lines: give it on one line`,
      );
    }
  }
}

/**
 * Parses one `name=value` override as given on the command line. A missing `=` or an empty
 * name is `invalid_override`; the value may itself contain `=`.
 */
export function parseOverride(text: string): readonly [string, string] {
  const at = text.indexOf("=");
  if (at <= 0) {
    throw new LocalKafkaError(
      "invalid_override",
      `Override "${text}" is not name=value: write it as e.g. --override num.partitions=3`,
    );
  }
  const key = text.slice(0, at).trim();
  const value = text.slice(at + 1);
  validateOverrides({ [key]: value });
  return [key, value];
}

/**
 * The settings for one combined broker+controller node in KRaft mode with a static quorum
 * (works on 3.9 and 4.x alike). A single node lowers every replication factor and min ISR to 1;
 * three nodes replicate everything three times with min ISR 2 and fence a dead broker fast.
 * Internal topics get few partitions and consumer groups skip the initial rebalance delay, so
 * tests start quickly. Caller overrides win over every default.
 */
export function serverProperties(input: ServerPropertiesInput): Record<string, string> {
  const { node, cluster } = input;
  const single = cluster.length === 1;
  const replication = single ? "1" : String(Math.min(3, cluster.length));
  const minIsr = single ? "1" : "2";
  const props: Record<string, string> = {
    "process.roles": "broker,controller",
    "node.id": String(node.nodeId),
    "controller.quorum.voters": cluster
      .map((member) => `${member.nodeId}@127.0.0.1:${member.controllerPort}`)
      .join(","),
    listeners: `PLAINTEXT://127.0.0.1:${node.brokerPort},CONTROLLER://127.0.0.1:${node.controllerPort}`,
    "advertised.listeners": `PLAINTEXT://127.0.0.1:${node.brokerPort}`,
    "controller.listener.names": "CONTROLLER",
    "inter.broker.listener.name": "PLAINTEXT",
    "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
    "log.dirs": node.logDir,
    "num.partitions": "1",
    "default.replication.factor": replication,
    "min.insync.replicas": minIsr,
    "offsets.topic.replication.factor": replication,
    "offsets.topic.num.partitions": "5",
    "transaction.state.log.replication.factor": replication,
    "transaction.state.log.min.isr": minIsr,
    "transaction.state.log.num.partitions": "5",
    "group.initial.rebalance.delay.ms": "0",
    "auto.create.topics.enable": "true",
    "unclean.leader.election.enable": "false",
    "num.network.threads": "2",
    "num.io.threads": "4",
    "num.recovery.threads.per.data.dir": "1",
    "log.cleaner.threads": "1",
  };
  if (input.hasShareCoordinator) {
    props["share.coordinator.state.topic.replication.factor"] = replication;
    props["share.coordinator.state.topic.min.isr"] = minIsr;
    props["share.coordinator.state.topic.num.partitions"] = "3";
  }
  if (!single) {
    props["broker.session.timeout.ms"] = "4000";
    props["broker.heartbeat.interval.ms"] = "1000";
  }
  return { ...props, ...input.overrides };
}

/**
 * Writes properties in java.util.Properties syntax, escaping what that format treats
 * specially (backslash, and `=`, `:`, `#`, `!` and whitespace in keys), so paths and values
 * round-trip exactly.
 */
export function formatProperties(props: Readonly<Record<string, string>>): string {
  const escape = (text: string, isKey: boolean): string =>
    text
      .replace(/\\/g, "\\\\")
      .replace(isKey ? /([=:#! ])/g : /^([ #!])/, "\\$1")
      .replace(/\t/g, "\\t");
  return (
    Object.entries(props)
      .map(([key, value]) => `${escape(key, true)}=${escape(value, false)}`)
      .join("\n") + "\n"
  );
}

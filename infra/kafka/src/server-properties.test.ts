import { describe, expect, it } from "vitest";
import { LocalKafkaError } from "./local-kafka-error.js";
import { formatProperties, parseOverride, serverProperties, validateOverrides, type NodeLayout } from "./server-properties.js";

const node = (nodeId: number): NodeLayout => ({
  nodeId,
  brokerPort: 9000 + nodeId,
  controllerPort: 9100 + nodeId,
  logDir: `/data/node-${nodeId}`,
});

const codeOf = (run: () => unknown): string | undefined => {
  try {
    run();
    return undefined;
  } catch (error) {
    return error instanceof LocalKafkaError ? error.code : "not a LocalKafkaError";
  }
};

describe("serverProperties", () => {
  it("lowers every replication factor and min ISR to 1 on a single node, share coordinator included on 4.x", () => {
    const props = serverProperties({ node: node(1), cluster: [node(1)], hasShareCoordinator: true, overrides: {} });
    expect(props).toMatchObject({
      "process.roles": "broker,controller",
      "controller.quorum.voters": "1@127.0.0.1:9101",
      listeners: "PLAINTEXT://127.0.0.1:9001,CONTROLLER://127.0.0.1:9101",
      "advertised.listeners": "PLAINTEXT://127.0.0.1:9001",
      "offsets.topic.replication.factor": "1",
      "transaction.state.log.replication.factor": "1",
      "transaction.state.log.min.isr": "1",
      "share.coordinator.state.topic.replication.factor": "1",
      "share.coordinator.state.topic.min.isr": "1",
      "group.initial.rebalance.delay.ms": "0",
    });
  });

  it("leaves the 4.x share coordinator settings out for 3.9", () => {
    const props = serverProperties({ node: node(1), cluster: [node(1)], hasShareCoordinator: false, overrides: {} });
    expect(Object.keys(props).filter((key) => key.startsWith("share."))).toEqual([]);
  });

  it("replicates three times with min ISR 2 and fast fencing on three nodes, all nodes voting", () => {
    const cluster = [node(1), node(2), node(3)];
    const props = serverProperties({ node: node(2), cluster, hasShareCoordinator: false, overrides: {} });
    expect(props).toMatchObject({
      "node.id": "2",
      "controller.quorum.voters": "1@127.0.0.1:9101,2@127.0.0.1:9102,3@127.0.0.1:9103",
      "default.replication.factor": "3",
      "min.insync.replicas": "2",
      "offsets.topic.replication.factor": "3",
      "transaction.state.log.min.isr": "2",
      "unclean.leader.election.enable": "false",
      "broker.session.timeout.ms": "4000",
    });
  });

  it("lets caller overrides win over the defaults", () => {
    const props = serverProperties({
      node: node(1),
      cluster: [node(1)],
      hasShareCoordinator: false,
      overrides: { "num.partitions": "6" },
    });
    expect(props["num.partitions"]).toBe("6");
  });
});

describe("overrides", () => {
  it("parses name=value, keeping '=' inside the value", () => {
    expect(parseOverride("listener.name.x=a=b")).toEqual(["listener.name.x", "a=b"]);
  });

  it("rejects text without '=', an empty name, a name with spaces and a multi-line value", () => {
    expect(codeOf(() => parseOverride("num.partitions"))).toBe("invalid_override");
    expect(codeOf(() => parseOverride("=3"))).toBe("invalid_override");
    expect(codeOf(() => validateOverrides({ "num partitions": "3" }))).toBe("invalid_override");
    expect(codeOf(() => validateOverrides({ "num.partitions": "3\nx=y" }))).toBe("invalid_override");
  });
});

describe("formatProperties", () => {
  it("escapes backslashes and key separators so values round-trip", () => {
    expect(formatProperties({ "a:b": "C:\\data", plain: "x=y" })).toBe("a\\:b=C:\\\\data\nplain=x=y\n");
  });
});

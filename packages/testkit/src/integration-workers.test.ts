import { describe, expect, it } from "vitest";
import { DEFAULT_INTEGRATION_WORKERS, integrationWorkers, workerSlot } from "./integration-workers.js";

describe("integrationWorkers", () => {
  it("defaults to two workers, each with infrastructure of its own", () => {
    expect(integrationWorkers({})).toBe(DEFAULT_INTEGRATION_WORKERS);
    expect(DEFAULT_INTEGRATION_WORKERS).toBe(2);
  });

  it("takes TRIBUTARY_TEST_WORKERS", () => {
    expect(integrationWorkers({ TRIBUTARY_TEST_WORKERS: "1" })).toBe(1);
    expect(integrationWorkers({ TRIBUTARY_TEST_WORKERS: "3" })).toBe(3);
  });

  it("runs one file at a time on a cluster of the user's, whose topics every file would share", () => {
    expect(integrationWorkers({ KAFKA_BROKERS: "10.0.0.5:9092", TRIBUTARY_TEST_WORKERS: "3" })).toBe(1);
  });

  it("refuses a count that is not a whole number from 1 to 8, naming the variable", () => {
    for (const bad of ["0", "-1", "2.5", "many", "9"]) {
      expect(() => integrationWorkers({ TRIBUTARY_TEST_WORKERS: bad })).toThrow(/TRIBUTARY_TEST_WORKERS/);
    }
  });
});

describe("workerSlot", () => {
  it("is the slot the setup file locked, from TRIBUTARY_TEST_SLOT", () => {
    expect(workerSlot(2, { TRIBUTARY_TEST_SLOT: "0" })).toBe(0);
    expect(workerSlot(2, { TRIBUTARY_TEST_SLOT: "1" })).toBe(1);
  });

  it("is slot 0 outside a test file, and refuses a slot the run does not have", () => {
    expect(workerSlot(2, {})).toBe(0);
    expect(() => workerSlot(2, { TRIBUTARY_TEST_SLOT: "2" })).toThrow(/TRIBUTARY_TEST_SLOT/);
    expect(() => workerSlot(2, { TRIBUTARY_TEST_SLOT: "x" })).toThrow(/TRIBUTARY_TEST_SLOT/);
  });
});

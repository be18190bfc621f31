/**
 * The one-line description of each top-level command, in the order the help lists them. The
 * command modules take theirs from here, and main.ts lists every command from here without
 * loading the modules of the commands it does not run.
 */
export const commandDescriptions = {
  stack: "the local stack: Kafka, the service databases, the provider sandbox and every service",
  day: "a business day end to end on the local stack",
  simulate: "publish simulated orders to orders.inbound.v1 as an upstream order system does, and wait for the order service's answers",
  routing: "payment routing: the policy and its roll-outs, provider health, a decision explained, resuming a paused ramp",
  settle: "settlement: close a provider's business day into batches (settlement's gRPC CloseBusinessDay)",
  recon: "reconciliation: run a provider's day against its bill, list the exceptions queue, resolve an exception (exit 1 while exceptions remain open)",
  report: "finance reports from settlement: the day's detail (one line per ledger entry) or batch summary, as CSV, JSON, XLSX or an HTML overview",
  dlq: "dead letters: what consumers refused, why, and the keys they park",
  trace: "print one order's trace as a tree (service, operation, duration, status) from the spans the local stack collected",
} as const;

/** A top-level command's name. */
export type CommandName = keyof typeof commandDescriptions;

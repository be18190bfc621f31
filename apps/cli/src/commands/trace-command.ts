import { Command } from "commander";
import { loadOrderTrace, localTracesDir } from "@tributary/telemetry/local-traces";
import { CliError, repoRoot } from "../cli-context.js";
import { commandDescriptions } from "./command-descriptions.js";

/** `tributary trace <order id>`: one order's trace as a tree, from the spans the local stack wrote. */
export function traceCommand(): Command {
  return new Command("trace")
    .description(commandDescriptions.trace)
    .argument("<order-id>", "Tributary's order id (as OrderAccepted and GetOrder show it)")
    .option("--dir <path>", "where the spans are (default: the local stack's .tributary/traces, TRIBUTARY_TRACES_DIR if set)")
    .option("--json", "the spans as JSON instead of the tree")
    .action(async (orderId: string, options: { dir?: string; json?: boolean }) => {
      const dir = options.dir ?? process.env["TRIBUTARY_TRACES_DIR"] ?? localTracesDir(repoRoot, process.env["TRIBUTARY_DATABASE_SUFFIX"] ?? "");
      const result = await loadOrderTrace(dir, orderId);
      if (!result.ok) throw new CliError(result.error.message, result.error.code === "order_not_found" ? 3 : 1);
      if (options.json === true) {
        console.log(JSON.stringify({ orderId, traceIds: result.value.traceIds, spans: result.value.spans }, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value)));
        return;
      }
      console.log(result.value.text);
      if (result.value.unreadable.length > 0) console.error(`(${result.value.unreadable.length} unreadable line(s) skipped)`);
    });
}

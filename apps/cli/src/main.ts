/**
 * `tributary`: the command a person reaches for. Run it with `npm run tributary -- <command>`
 * (which installs and generates first), or `node --import tsx --conditions=source apps/cli/src/main.ts`.
 * Exit codes: 0 done, 1 failed, 2 bad usage, 3 nothing to act on (e.g. no stack running).
 */
import { Command, CommanderError } from "commander";
import { CliError } from "./cli-context.js";
import { dayCommand } from "./commands/day-command.js";
import { dlqCommand } from "./commands/dlq-command.js";
import { reconCommand } from "./commands/recon-command.js";
import { reportCommand } from "./commands/report-command.js";
import { routingCommand } from "./commands/routing-command.js";
import { settleCommand } from "./commands/settle-command.js";
import { simulateCommand } from "./commands/simulate-command.js";
import { stackCommand } from "./commands/stack-command.js";
import { traceCommand } from "./commands/trace-command.js";

process.env["KAFKAJS_NO_PARTITIONER_WARNING"] ??= "1";

const program = new Command("tributary")
  .description("Tributary: payment routing, settlement and reconciliation — the local stack and the operator's tools")
  .showHelpAfterError()
  .exitOverride()
  .addCommand(stackCommand())
  .addCommand(dayCommand())
  .addCommand(simulateCommand())
  .addCommand(routingCommand())
  .addCommand(settleCommand())
  .addCommand(reconCommand())
  .addCommand(reportCommand())
  .addCommand(dlqCommand())
  .addCommand(traceCommand());

// addCommand() does not pass these settings down: every (sub)command throws instead of exiting,
// so usage errors anywhere exit 2, and shows its help after an error.
(function inherit(command: Command): void {
  for (const sub of command.commands) {
    sub.exitOverride().showHelpAfterError();
    inherit(sub);
  }
})(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // --help and --version end here too, with exit code 0.
    process.exit(error.exitCode === 0 ? 0 : 2);
  }
  // Launcher, dependency and CLI errors are one line that says what to do; print just that.
  console.error(`✗ ${error instanceof Error ? error.message : String(error)}`);
  process.exit(error instanceof CliError ? error.exitCode : 1);
}
// Everything started was stopped; exit even if a client left a socket open.
process.exit(process.exitCode ?? 0);

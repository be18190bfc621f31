/**
 * `tributary`: the command a person reaches for. Run it with `npm run tributary -- <command>`
 * (which installs and generates first), or `node --import tsx --conditions=source apps/cli/src/main.ts`.
 * Exit codes: 0 done, 1 failed, 2 bad usage, 3 nothing to act on (e.g. no stack running).
 */
import { Command, CommanderError } from "commander";
import { CliError } from "./cli-context.js";
import { commandDescriptions, type CommandName } from "./commands/command-descriptions.js";

process.env["KAFKAJS_NO_PARTITIONER_WARNING"] ??= "1";

/**
 * How each top-level command is built. Only the command being run is loaded (with what it
 * imports: Kafka and gRPC clients, a service's code): every other one is listed in the help by
 * its description alone, so `tributary <command>` does not pay for the other eight.
 */
const commandModules: Record<CommandName, () => Promise<Command>> = {
  stack: async () => (await import("./commands/stack-command.js")).stackCommand(),
  day: async () => (await import("./commands/day-command.js")).dayCommand(),
  simulate: async () => (await import("./commands/simulate-command.js")).simulateCommand(),
  routing: async () => (await import("./commands/routing-command.js")).routingCommand(),
  settle: async () => (await import("./commands/settle-command.js")).settleCommand(),
  recon: async () => (await import("./commands/recon-command.js")).reconCommand(),
  report: async () => (await import("./commands/report-command.js")).reportCommand(),
  dlq: async () => (await import("./commands/dlq-command.js")).dlqCommand(),
  trace: async () => (await import("./commands/trace-command.js")).traceCommand(),
};

/** The command the arguments name: the first that is not an option (`help <command>` names the second). */
function requestedCommand(args: readonly string[]): string | undefined {
  const words = args.filter((arg) => !arg.startsWith("-"));
  return words[0] === "help" ? words[1] : words[0];
}

const requested = requestedCommand(process.argv.slice(2));
const program = new Command("tributary")
  .description("Tributary: payment routing, settlement and reconciliation — the local stack and the operator's tools")
  .showHelpAfterError()
  .exitOverride();
for (const name of Object.keys(commandDescriptions) as CommandName[]) {
  program.addCommand(name === requested ? await commandModules[name]() : new Command(name).description(commandDescriptions[name]));
}

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

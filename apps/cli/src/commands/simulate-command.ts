import cliProgress from "cli-progress";
import { Command, InvalidArgumentError } from "commander";
import { Kafka, logLevel } from "kafkajs";
import type { ProviderId } from "@tributary/contracts";
import { brokersFrom } from "../cli-context.js";
import { watchOrderAnswers } from "../simulate/await-order-answers.js";
import { publishOrders } from "../simulate/publish-orders.js";
import { defaultSimulation, preferenceNames, simulatedOrders, type OrderSimulation } from "../simulate/simulated-orders.js";
import { commandDescriptions } from "./command-descriptions.js";

interface SimulateOptions {
  orders: number;
  seed: number;
  merchants?: string;
  buyers?: number;
  providerMix?: Record<ProviderId | "none", number>;
  runId?: string;
  brokers?: string;
  wait: boolean;
  timeout: number;
  json?: boolean;
}

/** `tributary simulate`: a simulated upstream order system publishing orders to orders.inbound.v1. */
export function simulateCommand(): Command {
  return new Command("simulate")
    .description(commandDescriptions.simulate)
    .option("--orders <n>", "how many orders", positiveInteger, 2_000)
    .option("--seed <n>", "seed of every draw (the same seed, the same orders)", positiveInteger, 20261201)
    .option("--merchants <ids>", "comma-separated merchant ids (default: the seed policy's m-taobao-1,m-small-2)")
    .option("--buyers <n>", "how many distinct buyers (default 1500)", positiveInteger)
    .option("--provider-mix <weights>", `buyers' preferred rails, e.g. none=7,alipay=1,wechat_pay=1 (names: ${preferenceNames.join(", ")})`, providerMix)
    .option("--run-id <id>", "prefix of every merchant order reference (default: sim-<time>)")
    .option("--brokers <list>", "Kafka bootstrap servers (default: KAFKA_BROKERS, else the running stack's)")
    .option("--no-wait", "publish only; do not wait for OrderAccepted / OrderRejected")
    .option("--timeout <seconds>", "how long to wait for the answers", positiveInteger, 120)
    .option("--json", "print one JSON summary instead of progress bars")
    .action(async (options: SimulateOptions) => {
      const runId = options.runId ?? `sim-${Date.now()}`;
      const base = defaultSimulation(runId, options.orders, options.seed);
      const simulation: OrderSimulation = {
        ...base,
        ...(options.merchants === undefined ? {} : { merchants: options.merchants.split(",").map((id) => id.trim()).filter((id) => id !== "") }),
        ...(options.buyers === undefined ? {} : { buyers: options.buyers }),
        ...(options.providerMix === undefined ? {} : { preferredProviders: options.providerMix }),
      };
      const orders = simulatedOrders(simulation);
      const kafka = new Kafka({ clientId: "tributary-simulate", brokers: brokersFrom(options.brokers), logLevel: logLevel.WARN });
      const showBars = options.json !== true && process.stderr.isTTY;
      const bars = new cliProgress.MultiBar({ format: " {task} [{bar}] {value}/{total}", hideCursor: true, stream: process.stderr }, cliProgress.Presets.shades_classic);
      const watch = options.wait ? await watchOrderAnswers(kafka, runId) : undefined;
      const started = Date.now();
      try {
        const published = showBars ? bars.create(orders.length, 0, { task: "published" }) : undefined;
        await publishOrders(kafka, orders, (count) => published?.update(count));
        const publishMs = Date.now() - started;
        const answered = showBars && watch !== undefined ? bars.create(orders.length, 0, { task: "answered " }) : undefined;
        const answers = watch === undefined ? undefined : await watch.waitFor(orders.length, options.timeout * 1_000, (count) => answered?.update(count));
        bars.stop();
        const summary = {
          runId,
          published: orders.length,
          publishMs,
          ...(answers === undefined
            ? {}
            : {
                accepted: answers.accepted.size,
                rejected: answers.rejected.size,
                answeredMs: Date.now() - started,
                // A few order ids to follow with `tributary trace <order id>`.
                sampleOrderIds: [...answers.accepted.values()].slice(0, 3),
              }),
        };
        if (options.json === true) {
          console.log(JSON.stringify(summary));
        } else {
          console.log(`run ${runId}: published ${summary.published} orders in ${publishMs} ms`);
          if (answers !== undefined) {
            console.log(`  accepted ${answers.accepted.size}, rejected ${answers.rejected.size} (answered in ${summary.answeredMs} ms)`);
            const [first] = answers.accepted.values();
            if (first !== undefined) console.log(`  follow one: tributary trace ${first}`);
          }
          for (const [ref, reason] of [...(answers?.rejected ?? new Map<string, string>())].slice(0, 5)) console.log(`  rejected ${ref}: ${reason}`);
        }
      } finally {
        bars.stop();
        await watch?.stop();
      }
    });
}

function positiveInteger(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError(`must be a whole number ≥ 1, got "${text}"`);
  return value;
}

function providerMix(text: string): Record<ProviderId | "none", number> {
  const mix = Object.fromEntries(preferenceNames.map((name) => [name, 0])) as Record<ProviderId | "none", number>;
  for (const part of text.split(",")) {
    const [name, weight] = part.split("=").map((piece) => piece.trim());
    if (name === undefined || !(preferenceNames as readonly string[]).includes(name)) throw new InvalidArgumentError(`unknown rail "${name}" (names: ${preferenceNames.join(", ")})`);
    const value = Number(weight);
    if (!Number.isFinite(value) || value < 0) throw new InvalidArgumentError(`weight of ${name} must be a number ≥ 0, got "${weight}"`);
    mix[name as ProviderId | "none"] = value;
  }
  if (Object.values(mix).every((value) => value === 0)) throw new InvalidArgumentError("at least one weight must be positive");
  return mix;
}

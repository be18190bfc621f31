import Table from "cli-table3";
import { Command, Option } from "commander";
import { CHANNEL_IDS, channelIdFromProto, channelIdToProto, isChannelId, isProviderId, providerIdFromProto, providerIdToProto, PROVIDER_IDS } from "@tributary/contracts";
import { Channel } from "@tributary/contracts/common/v1/provider";
import { BreakerState, PaymentRoutingService } from "@tributary/contracts/payment/v1/payment_routing_service";
import { closeClient, createClient, type RpcClient } from "@tributary/grpc";
import { formatDecimal, money, parseDecimal } from "@tributary/money";
import { CliError, serviceEndpoint } from "../cli-context.js";
import { commandDescriptions } from "./command-descriptions.js";

interface EndpointOptions {
  address?: string;
  token?: string;
}

const breakerNames: Readonly<Record<number, string>> = {
  [BreakerState.CLOSED]: "closed",
  [BreakerState.OPEN]: "OPEN",
  [BreakerState.HALF_OPEN]: "half-open",
};

/** `tributary routing show|preview|resume`: the routing policy, a decision explained, a paused roll-out resumed. */
export function routingCommand(): Command {
  const routing = new Command("routing").description(commandDescriptions.routing);
  const endpointOptions = (command: Command): Command =>
    command
      .option("--address <host:port>", "payment-routing's gRPC address (default: PAYMENT_ROUTING_ADDRESS, else the running stack's)")
      .option("--token <token>", "bearer token (default: TRIBUTARY_TOKEN, else the running stack's operator token)");

  endpointOptions(
    routing
      .command("show")
      .description("the current policy version, every roll-out (active step, share, trial, pause) and each provider's health")
      .option("--json", "the policy JSON and health as one object"),
  ).action(async (options: EndpointOptions & { json?: boolean }) => {
    await withClient(options, async (client) => {
      const policyVersion = (await client.getRoutingPolicy({})).policy;
      if (policyVersion === undefined) throw new CliError("payment-routing answered without a policy", 1);
      const health = (await client.listProviderHealth({})).providers;
      if (options.json === true) {
        console.log(JSON.stringify({ version: policyVersion.version, createdBy: policyVersion.createdBy, policy: JSON.parse(policyVersion.policyJson) as unknown, health }, bigintSafe));
        return;
      }
      // The service's own decoder and ramp clock, loaded only here: the package's index is the whole service.
      const { activeStepIndex, policyFromJsonText } = await import("@tributary/payment-routing");
      const decoded = policyFromJsonText(policyVersion.policyJson);
      if (!decoded.ok) throw new CliError(`the stored policy does not decode: ${decoded.error.message}`, 1);
      const policy = decoded.value;
      const now = new Date();
      console.log(`routing policy v${policyVersion.version} by ${policyVersion.createdBy}`);
      const rollouts = new Table({ head: ["roll-out", "rail", "step", "share now", "merchants", "trial", "paused"] });
      for (const rollout of policy.rollouts) {
        const step = activeStepIndex(rollout, now);
        const active = step < 0 ? undefined : rollout.ramp[step];
        rollouts.push([
          rollout.rolloutId,
          rollout.provider,
          active === undefined ? `not started (first ${rollout.ramp[0]?.startsAt.toISOString() ?? "—"})` : `${step + 1}/${rollout.ramp.length}`,
          active === undefined ? "0 %" : `${active.percent} %`,
          active?.merchants ?? "",
          rollout.trial ? "yes" : "no",
          rollout.pause === undefined ? "no" : `${rollout.pause.by} at ${rollout.pause.pausedAt.toISOString()}: ${rollout.pause.reason}`,
        ]);
      }
      console.log(rollouts.toString());
      const healthTable = new Table({ head: ["rail", "channel", "breaker", "success", "attempts"] });
      for (const entry of health) {
        if (entry.health === undefined) continue;
        healthTable.push([providerIdFromProto(entry.provider) ?? "?", channelIdFromProto(entry.channel) ?? "?", breakerNames[entry.health.breaker] ?? "?", percentText(entry.health.successRate), String(entry.health.attempts)]);
      }
      console.log(healthTable.toString());
    });
  });

  endpointOptions(
    routing
      .command("preview")
      .description("the decision routing would make for an order, with every reason a rail was kept, ranked or dropped")
      .requiredOption("--merchant <id>", "the merchant")
      .requiredOption("--amount <yuan>", "the order total in CNY, e.g. 129.90")
      .option("--buyer <id>", "the buyer", "buyer-1")
      .addOption(new Option("--channel <channel>", "where the buyer checks out").choices(CHANNEL_IDS).default("app"))
      .option("--category <name...>", "line categories", ["apparel"])
      .option("--country <code>", "the buyer's country", "CN")
      .addOption(new Option("--prefer <rail>", "the buyer's preferred rail").choices([...PROVIDER_IDS]))
      .option("--buyer-account <rail=id...>", "the buyer's account at a rail, e.g. wechat_pay=oUpF8… or alipay=2088… (WeChat JSAPI and Alipay mini-program need one)", [])
      .option("--json", "the decision as JSON"),
  ).action(
    async (
      options: EndpointOptions & {
        merchant: string;
        amount: string;
        buyer: string;
        channel: string;
        category: string[];
        country: string;
        prefer?: string;
        buyerAccount: string[];
        json?: boolean;
      },
    ) => {
      const amount = parseDecimal(options.amount, "CNY");
      if (!amount.ok) throw new CliError(`--amount must be a CNY amount like 129.90, got "${options.amount}"`, 2);
      const buyerAccounts = options.buyerAccount.map((text) => {
        const [rail, id] = [text.slice(0, text.indexOf("=")), text.slice(text.indexOf("=") + 1)];
        if (!text.includes("=") || !isProviderId(rail) || id === "") {
          throw new CliError(`--buyer-account must be <rail>=<id> with a rail of ${PROVIDER_IDS.join(", ")}, got "${text}"`, 2);
        }
        return { provider: providerIdToProto(rail), accountId: id };
      });
      const preferred = options.prefer;
      await withClient(options, async (client) => {
        const decision = await client.previewRoute({
          order: {
            merchantId: options.merchant,
            buyerId: options.buyer,
            amount: { currency: "CNY", amountMinor: amount.value.amountMinor },
            lineCategories: options.category,
            channel: isChannelId(options.channel) ? channelIdToProto(options.channel) : Channel.APP,
            country: options.country,
            ...(preferred !== undefined && isProviderId(preferred) ? { preferredProvider: providerIdToProto(preferred) } : {}),
            buyerAccounts,
          },
        });
        if (options.json === true) {
          console.log(JSON.stringify(decision, bigintSafe));
          return;
        }
        console.log(`policy v${decision.policyVersion}; rules matched: ${decision.matchedRuleIds.join(", ") || "none"}`);
        for (const candidate of decision.candidates) {
          const fee = candidate.fee === undefined ? "" : `, fee ${formatDecimal(money(candidate.fee.amountMinor, "CNY"))}`;
          console.log(`${candidate.rank + 1}. ${providerIdFromProto(candidate.provider) ?? "?"}${fee}`);
          for (const reason of candidate.reasons) console.log(`     ${reason.code}: ${reason.text}`);
        }
        for (const dropped of decision.dropped) {
          console.log(`✗ ${providerIdFromProto(dropped.provider) ?? "?"}: ${dropped.reasons.map((reason) => reason.text || reason.code).join("; ")}`);
        }
        if (decision.candidates.length === 0) process.exitCode = 1;
      });
    },
  );

  endpointOptions(
    routing
      .command("resume")
      .description("resume a roll-out whose ramp the guardrail (or an operator) paused; audited with your token's principal")
      .argument("<rollout-id>", "the roll-out")
      .requiredOption("--reason <text>", "why it is safe to go on (kept in the audit)"),
  ).action(async (rolloutId: string, options: EndpointOptions & { reason: string }) => {
    await withClient(options, async (client) => {
      const answer = await client.resumeRollout({ rolloutId, reason: options.reason });
      console.log(answer.resumed ? `resumed ${rolloutId} (policy now v${answer.policy?.version ?? "?"})` : `${rolloutId} was not paused; nothing changed`);
    });
  });

  return routing;
}

async function withClient(options: EndpointOptions, work: (client: RpcClient<typeof PaymentRoutingService>) => Promise<void>): Promise<void> {
  const endpoint = serviceEndpoint("payment-routing", options);
  const client = createClient(PaymentRoutingService, endpoint.address, { bearerToken: endpoint.token, defaultDeadlineMs: 10_000 });
  try {
    await work(client);
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`payment-routing at ${endpoint.address}: ${error instanceof Error ? error.message : String(error)}`, 1);
  } finally {
    closeClient(client);
  }
}

/** A rate (not money) as a percentage with one decimal, e.g. 0.9455 → "94.6 %". */
function percentText(rate: number): string {
  return `${Math.round(rate * 1_000) / 10} %`;
}

function bigintSafe(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

import { timestampDate } from "@bufbuild/protobuf/wkt";
import Table from "cli-table3";
import { Command } from "commander";
import { providerIdFromProto, providerIdToProto } from "@tributary/contracts";
import { BatchStatus, type SettlementBatch } from "@tributary/contracts/settlement/v1/settlement";
import { SettlementService } from "@tributary/contracts/settlement/v1/settlement_service";
import { dateArgument, providerArgument, toJson } from "../cli-context.js";
import { amountText } from "../money-text.js";
import { withServiceClient, type EndpointOptions } from "../service-client.js";
import { commandDescriptions } from "./command-descriptions.js";

const statusNames: Readonly<Record<BatchStatus, string>> = {
  [BatchStatus.UNSPECIFIED]: "?",
  [BatchStatus.CLOSED]: "closed",
  [BatchStatus.RECONCILED]: "reconciled",
  [BatchStatus.HELD]: "held",
  [BatchStatus.PAID_OUT]: "paid_out",
  [BatchStatus.OPEN]: "open",
};

/** `tributary settle close-day`: settlement's CloseBusinessDay for one provider and day, on the running stack. */
export function settleCommand(): Command {
  const settle = new Command("settle").description(commandDescriptions.settle);

  settle
    .command("close-day")
    .summary("close one provider's business day into batches (idempotent)")
    .description(
      "close one provider's business day (00:00 Asia/Shanghai cut-off) into one batch per merchant and currency, and print them; " +
        "closing a day again changes nothing and prints the same batches. Refused (exit 1) before the day's cut-off.",
    )
    .requiredOption("--provider <provider>", "the rail: alipay, wechat_pay (wechat), unionpay, jd_pay (jdpay) or ecny")
    .requiredOption("--date <YYYY-MM-DD>", "the business day, in Asia/Shanghai")
    .option("--json", "one JSON object: { provider, businessDate, alreadyClosed, batches: [...] } with amounts as exact decimal text")
    .option("--address <host:port>", "settlement's gRPC address (default: SETTLEMENT_ADDRESS, else the running stack's)")
    .option("--token <token>", "bearer token with settlement:close (default: TRIBUTARY_TOKEN, else the running stack's operator token)")
    .action(async (options: EndpointOptions & { provider: string; date: string; json?: boolean }) => {
      const provider = providerArgument(options.provider);
      const businessDate = dateArgument(options.date);
      const closed = await withServiceClient("settlement", SettlementService, options, (client) =>
        client.closeBusinessDay({ provider: providerIdToProto(provider), businessDate }),
      );
      const batches = closed.batches.map(batchView);
      if (options.json === true) {
        console.log(toJson({ provider, businessDate, alreadyClosed: closed.alreadyClosed, batches }));
        return;
      }
      const what = `${provider} ${businessDate}`;
      if (closed.alreadyClosed) console.log(`${what} was already closed; nothing changed. Its ${batches.length} batch(es):`);
      else console.log(`closed ${what}: ${batches.length} batch(es)`);
      if (batches.length === 0) return;
      const table = new Table({ head: ["batch", "merchant", "settles on", "status", "payments", "refunds", "gross", "refunded", "fees", "adjustments", "net"] });
      for (const batch of batches) {
        table.push([batch.batchId, batch.merchantId, batch.settlementDate, batch.status, String(batch.paymentCount), String(batch.refundCount), batch.gross, batch.refunds, batch.fees, batch.adjustments, batch.net]);
      }
      console.log(table.toString());
    });

  return settle;
}

/** A batch as the CLI prints it: amounts as exact decimal text, enums as names. */
function batchView(batch: SettlementBatch) {
  return {
    batchId: batch.batchId,
    merchantId: batch.merchantId,
    provider: providerIdFromProto(batch.provider) ?? "?",
    settlementDate: batch.settlementDate,
    status: statusNames[batch.status] ?? `? (${String(batch.status)})`,
    currency: batch.net?.currency ?? batch.gross?.currency ?? "",
    // Counts (int64 on the wire), not money: numbers in the JSON.
    paymentCount: Number(batch.paymentCount),
    refundCount: Number(batch.refundCount),
    gross: amountText(batch.gross),
    refunds: amountText(batch.refunds),
    fees: amountText(batch.fees),
    adjustments: amountText(batch.adjustments),
    net: amountText(batch.net),
    closedAt: batch.closedAt === undefined ? null : timestampDate(batch.closedAt).toISOString(),
  };
}

/**
 * Internal: the worker-thread body of {@link wechatTradeBillChunksOffThread} (see
 * wechat-bill-rows-off-thread.ts). It parses the bill file it is given with `wechatTradeBillRowBatches`
 * and posts the rows in chunks, at most as many ahead of the consumer as it has been granted.
 */
import { createReadStream } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { BillFormatError } from "../bill-reader.js";
import { packBillRows, PackTable, transferListOf } from "../bill-row-chunk.js";
import type { BillRow } from "../../domain/bill.js";
import { wechatTradeBillRowBatches } from "./wechat-bill-parser.js";
import type { OffThreadMessage, OffThreadRequest } from "./wechat-bill-rows-off-thread.js";

const port = parentPort;
if (port === null) throw new Error("wechat-bill-rows-thread runs only as a worker thread");
const request = workerData as OffThreadRequest;
const post = (message: OffThreadMessage): void => port.postMessage(message);
const table = new PackTable();
/** A chunk packed (its buffers transferred), or as plain rows when an amount does not fit in 64 bits. */
const postRows = (rows: BillRow[]): void => {
  const packed = packBillRows(rows, table);
  if (packed === undefined) post({ rows });
  else port.postMessage({ packed } satisfies OffThreadMessage, transferListOf(packed));
};

// Chunks the consumer has room for; the worker waits when it has none, so a parse faster than
// the consumer holds at most `creditsMax` chunks in flight, not the bill.
let credits = request.creditsMax;
let wake: (() => void) | undefined;
port.on("message", (granted: number) => {
  credits += granted;
  wake?.();
  wake = undefined;
});
const creditAvailable = (): Promise<void> => (credits > 0 ? Promise.resolve() : new Promise((resolve) => (wake = resolve)));

async function run(): Promise<void> {
  const batches = wechatTradeBillRowBatches({ bytes: createReadStream(request.path), file: request.file, billDate: request.billDate });
  let chunk: BillRow[] = [];
  for (;;) {
    const next = await batches.next();
    if (next.done === true) {
      if (chunk.length > 0) postRows(chunk);
      post({ done: next.value });
      return;
    }
    for (const row of next.value) {
      chunk.push(row);
      if (chunk.length === request.chunkRows) {
        await creditAvailable();
        credits--;
        postRows(chunk);
        chunk = [];
      }
    }
  }
}

run().then(
  () => port.close(),
  (error: unknown) => {
    if (error instanceof BillFormatError) {
      post({ rejected: { reason: error.reason, file: error.file, line: error.line, column: error.column, field: error.field, message: error.message } });
    } else {
      post({ failed: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    }
    port.close();
  },
);

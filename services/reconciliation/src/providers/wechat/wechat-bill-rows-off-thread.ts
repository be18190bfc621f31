import { Worker } from "node:worker_threads";
import type { BillRejectionReason, BillRow } from "../../domain/bill.js";
import { BillFormatError } from "../bill-reader.js";
import { unpackBillRows, type PackedBillRows } from "../bill-row-chunk.js";

/** What {@link wechatTradeBillChunksOffThread} reads: a bill file on disk. */
export interface WechatBillFileInput {
  /** The file to read (the worker thread opens it itself). */
  readonly path: string;
  /** The name rows and errors give as their location. */
  readonly file: string;
  readonly billDate: string;
  /** Rows per chunk; 1,000 unless told. */
  readonly chunkRows?: number;
}

/** Internal: what the worker thread is started with. */
export interface OffThreadRequest {
  readonly path: string;
  readonly file: string;
  readonly billDate: string;
  readonly chunkRows: number;
  readonly creditsMax: number;
}

/** Internal: what the worker thread posts — a chunk, the end, a rejection or a crash. */
export type OffThreadMessage =
  | { readonly packed: PackedBillRows }
  | { readonly rows: BillRow[] }
  | { readonly done: number }
  | { readonly rejected: { reason: BillRejectionReason; file: string; line: number; column: number; field: string | undefined; message: string } }
  | { readonly failed: string };

/** Chunks the worker may run ahead of the consumer: enough to keep it busy, few enough to bound memory. */
const CREDITS_MAX = 8;

/**
 * Starts the worker-thread entry beside this module: the built `.js` as it is, the `.ts` source
 * (bench, tests, `--conditions=source`) through tsx's loader, registered in the worker first — a
 * worker does not run the main thread's `--import tsx` before its entry (Node 20).
 */
function startThread(request: OffThreadRequest): Worker {
  if (!import.meta.url.endsWith(".ts")) return new Worker(new URL("./wechat-bill-rows-thread.js", import.meta.url), { workerData: request });
  const entry = new URL("./wechat-bill-rows-thread.ts", import.meta.url).href;
  const tsx = import.meta.resolve("tsx/esm/api");
  const bootstrap = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { eval: true, workerData: request });
}

/**
 * {@link wechatTradeBillRows} on a worker thread: the same parse and the same checks, the rows
 * handed over in chunks (flat arrays, see `packBillRows`) while the caller's thread does something else — the
 * streaming match, which then costs the wall time of the slower of the two rather than their sum.
 * The same contract: a fault throws `BillFormatError` (rebuilt from the worker's, same reason,
 * file, line, column and field); the summary is checked only at the end, so **a consumer must not
 * apply anything before the generator has returned**; the return value is the row count the
 * summary confirmed. The worker runs at most eight chunks ahead; returning early (or throwing)
 * stops it.
 */
export async function* wechatTradeBillChunksOffThread(input: WechatBillFileInput): AsyncGenerator<readonly BillRow[], number, undefined> {
  const request: OffThreadRequest = { path: input.path, file: input.file, billDate: input.billDate, chunkRows: input.chunkRows ?? 1000, creditsMax: CREDITS_MAX };
  const worker = startThread(request);
  const inbox: OffThreadMessage[] = [];
  /** The receiver's copy of the packed chunks' text table. */
  const table: string[] = [];
  let wake: (() => void) | undefined;
  let crashed: Error | undefined;
  let exited = false;
  const notify = (): void => {
    wake?.();
    wake = undefined;
  };
  worker.on("message", (message: OffThreadMessage) => {
    inbox.push(message);
    notify();
  });
  worker.on("error", (error: Error) => {
    crashed = error;
    notify();
  });
  worker.on("exit", () => {
    exited = true;
    notify();
  });
  let finished = false;
  try {
    for (;;) {
      const message = inbox.shift();
      if (message === undefined) {
        if (crashed !== undefined) throw crashed;
        if (exited) throw new Error("wechatTradeBillChunksOffThread: the worker thread ended before the bill did");
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      if ("packed" in message) {
        yield unpackBillRows(message.packed, table);
        worker.postMessage(1);
      } else if ("rows" in message) {
        yield message.rows;
        worker.postMessage(1);
      } else if ("done" in message) {
        finished = true;
        return message.done;
      } else if ("rejected" in message) {
        const r = message.rejected;
        throw new BillFormatError(r.reason, r.file, r.line, r.column, r.field, r.message);
      } else {
        throw new Error(`wechatTradeBillChunksOffThread: the worker thread failed: ${message.failed}`);
      }
    }
  } finally {
    if (!finished) await worker.terminate();
  }
}

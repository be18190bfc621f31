/**
 * Child process of `bench/ledger.ts`: streams the settlement detail CSV of one business date
 * from the database given in argv[2] into a byte-counting sink and prints one JSON line with the
 * rows, the elapsed time and this process's peak RSS (a process of its own, so the bench's own
 * memory is not counted).
 */
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { exportDetailCsv } from "@tributary/settlement";
import pg from "pg";

const [url, businessDate] = process.argv.slice(2);
if (url === undefined || businessDate === undefined) throw new Error("usage: _ledger-export.ts DATABASE_URL BUSINESS_DATE");
const pool = new pg.Pool({ connectionString: url, max: 1 });
let bytes = 0;
let lines = 0;
const started = performance.now();
await pipeline(
  exportDetailCsv(pool, { businessDate }),
  new Writable({
    write(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      for (const byte of chunk) if (byte === 0x0a) lines += 1;
      done();
    },
  }),
);
const elapsedMs = performance.now() - started;
await pool.end();
// maxRSS is in kilobytes.
console.log(JSON.stringify({ rows: lines - 1, bytes, elapsedMs: Math.round(elapsedMs), peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) }));

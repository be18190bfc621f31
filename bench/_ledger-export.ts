/**
 * Child process of `bench/ledger.ts`: streams the settlement detail CSV of one business date
 * from the database given in argv[2] into a byte-counting sink and prints one JSON line with the
 * rows, the elapsed time and this process's peak RSS (a process of its own, so the bench's own
 * memory is not counted). Beside the peak, where it goes: the RSS once the package is imported
 * (Node, tsx and the modules, before a row is read) and the highest V8 heap and external memory
 * sampled every 100 ms while streaming.
 */
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { exportDetailCsv } from "@tributary/settlement";
import pg from "pg";

const toMb = (bytes: number): number => Math.round(bytes / (1024 * 1024));
const importedRssMb = toMb(process.memoryUsage().rss);
let heapTotalMbMax = 0;
let heapUsedMbMax = 0;
let externalMbMax = 0;
function sample(): void {
  const m = process.memoryUsage();
  heapTotalMbMax = Math.max(heapTotalMbMax, toMb(m.heapTotal));
  heapUsedMbMax = Math.max(heapUsedMbMax, toMb(m.heapUsed));
  externalMbMax = Math.max(externalMbMax, toMb(m.external));
}
const sampler = setInterval(sample, 100);

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
clearInterval(sampler);
sample();
await pool.end();
// maxRSS is in kilobytes.
const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
console.log(JSON.stringify({ rows: lines - 1, bytes, elapsedMs: Math.round(elapsedMs), peakRssMb, importedRssMb, heapTotalMbMax, heapUsedMbMax, externalMbMax }));

import type { MatchItem } from "../../domain/match.js";
import { exceptionKey, type ReconStore } from "../../app/ports.js";
import { carryFromJson, carryToJson, jsonWithBigints } from "./json-codec.js";

const locationOf = (item: MatchItem): string => item.billRows.map((r) => `${r.location.file}:${r.location.line}`).join(" ");

/**
 * The {@link ReconStore} on this service's Postgres tables (`prisma/schema.prisma`): files kept
 * byte for byte, runs with their items and carry-forward, the exceptions queue. Batches go in as
 * `unnest` arrays, 5,000 items a statement.
 */
export function createPgReconStore(): ReconStore {
  return {
    async lockDay(tx, provider, billDate) {
      await tx.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`reconciliation/${provider}/${billDate}`]);
    },

    async runOfFile(tx, provider, billDate, sha256) {
      const { rows } = await tx.query<{ run_id: string; status: string }>(
        `SELECT r.run_id, r.status FROM recon_runs r JOIN bill_files f USING (bill_file_id)
          WHERE r.provider = $1 AND r.bill_date = $2 AND f.sha256 = $3 ORDER BY r.started_at DESC LIMIT 1`,
        [provider, billDate, sha256],
      );
      const row = rows[0];
      return row === undefined ? undefined : { runId: row.run_id, status: row.status };
    },

    async keepBillFile(tx, billFileId, file) {
      const { rows } = await tx.query<{ bill_file_id: string }>(
        `INSERT INTO bill_files (bill_file_id, provider, bill_date, file_name, sha256, provider_digest_algorithm, provider_digest, byte_length, content, fetched_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (provider, bill_date, sha256) DO UPDATE SET file_name = bill_files.file_name
         RETURNING bill_file_id`,
        [billFileId, file.provider, file.billDate, file.fileName, file.sha256, file.providerDigest?.algorithm ?? null, file.providerDigest?.hex ?? null, file.bytes.length, file.bytes, file.fetchedAt],
      );
      return rows[0]?.bill_file_id ?? billFileId;
    },

    async recordRejectedRun(tx, run) {
      await tx.query(
        `INSERT INTO recon_runs (run_id, provider, bill_date, bill_file_id, status, rejection, bill_row_count, ledger_record_count, matched_count,
                                 discrepancy_count, currency, bill_net_minor, ledger_net_minor, class_totals, carry_forward, started_at, completed_at)
         VALUES ($1, $2, $3, $4, 'rejected', $5, 0, 0, 0, 0, 'CNY', 0, 0, '{}', '[]', $6, $7)`,
        [run.runId, run.provider, run.billDate, run.billFileId, run.rejection, run.startedAt, run.completedAt],
      );
    },

    async carriedInto(tx, provider, billDate) {
      const { rows } = await tx.query<{ carry_forward: unknown }>(
        `SELECT carry_forward FROM recon_runs WHERE provider = $1 AND bill_date < $2 AND status = 'completed' ORDER BY bill_date DESC LIMIT 1`,
        [provider, billDate],
      );
      return carryFromJson(rows[0]?.carry_forward);
    },

    async currentRun(tx, provider, billDate) {
      const { rows } = await tx.query<{ run_id: string; sha256: string; bill_row_count: string; bill_net_minor: string }>(
        `SELECT r.run_id, f.sha256, r.bill_row_count::text, r.bill_net_minor::text FROM recon_runs r JOIN bill_files f USING (bill_file_id)
          WHERE r.provider = $1 AND r.bill_date = $2 AND r.status = 'completed'`,
        [provider, billDate],
      );
      const row = rows[0];
      return row === undefined ? undefined : { runId: row.run_id, sha256: row.sha256, billRowCount: Number(row.bill_row_count), billNetMinor: BigInt(row.bill_net_minor) };
    },

    async markSuperseded(tx, runId) {
      await tx.query(`UPDATE recon_runs SET status = 'superseded' WHERE run_id = $1`, [runId]);
    },

    async insertRun(tx, run) {
      await tx.query(
        `INSERT INTO recon_runs (run_id, provider, bill_date, bill_file_id, status, supersedes_run_id, bill_row_count, ledger_record_count, matched_count,
                                 discrepancy_count, currency, bill_net_minor, ledger_net_minor, class_totals, carry_forward, started_at, completed_at)
         VALUES ($1, $2, $3, $4, 'completed', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
        [run.runId, run.provider, run.billDate, run.billFileId, run.supersedesRunId ?? null, run.billRowCount, run.ledgerRecordCount, run.matchedCount,
          run.discrepancyCount, run.currency, run.billNetMinor, run.ledgerNetMinor, jsonWithBigints(run.totals), carryToJson(run.carryForward), run.startedAt, run.completedAt],
      );
    },

    async insertItems(tx, runId, items) {
      for (let i = 0; i < items.length; i += 5000) {
        const chunk = items.slice(i, i + 5000);
        await tx.query(
          `INSERT INTO recon_items (run_id, item_no, match_class, disposition, item_key, bill_locations, ledger_record_ids, bill_amount_minor, ledger_amount_minor, carried_from, description)
           SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[], $9::bigint[], $10::text[], $11::text[])`,
          [
            runId,
            chunk.map((_, j) => i + j + 1),
            chunk.map((c) => c.matchClass),
            chunk.map((c) => c.disposition),
            chunk.map((c) => c.key),
            chunk.map(locationOf),
            chunk.map((c) => c.ledgerRecords.map((r) => r.recordId).join(" ")),
            chunk.map((c) => c.billAmountMinor?.toString() ?? null),
            chunk.map((c) => c.ledgerAmountMinor?.toString() ?? null),
            chunk.map((c) => c.carriedFrom ?? null),
            chunk.map((c) => c.description),
          ],
        );
      }
    },

    async queueExceptions(tx, run, exceptions) {
      if (exceptions.length === 0) return new Set();
      const { rows } = await tx.query<{ match_class: string; item_key: string; fresh: boolean }>(
        `INSERT INTO recon_exceptions (exception_id, provider, bill_date, run_id, match_class, item_key, bill_locations, bill_amount_minor, ledger_amount_minor,
                                       currency, description, status, created_at)
         SELECT id, $1, $2, $3, cls, key, loc, bill, ledger, $4, descr, 'open', $5
           FROM unnest($6::uuid[], $7::text[], $8::text[], $9::text[], $10::bigint[], $11::bigint[], $12::text[]) AS t(id, cls, key, loc, bill, ledger, descr)
         ON CONFLICT (provider, bill_date, match_class, item_key) DO UPDATE SET run_id = EXCLUDED.run_id WHERE recon_exceptions.status = 'open'
         RETURNING match_class, item_key, (xmax = 0) AS fresh`,
        [run.provider, run.billDate, run.runId, run.currency, run.at, exceptions.map((e) => e.exceptionId), exceptions.map((e) => e.item.matchClass), exceptions.map((e) => e.item.key),
          exceptions.map((e) => locationOf(e.item)), exceptions.map((e) => e.item.billAmountMinor?.toString() ?? null), exceptions.map((e) => e.item.ledgerAmountMinor?.toString() ?? null),
          exceptions.map((e) => e.item.description)],
      );
      // xmax = 0 on a row this statement inserted; an updated (already queued) row has it set.
      return new Set(rows.filter((r) => r.fresh).map((r) => exceptionKey(r.match_class, r.item_key)));
    },

    async clearExceptionsNotIn(tx, provider, billDate, keep, note, at) {
      const { rows } = await tx.query<{ match_class: string; item_key: string }>(
        `UPDATE recon_exceptions SET status = 'resolved', note = $4, resolved_by = 'reconciliation', resolved_at = $5
          WHERE provider = $1 AND bill_date = $2 AND status = 'open' AND NOT (match_class || chr(31) || item_key = ANY($3::text[])) -- exceptionKey()
          RETURNING match_class, item_key`,
        [provider, billDate, keep, note, at],
      );
      return rows.map((r) => `${r.match_class}:${r.item_key}`);
    },

    async recordDifference(tx, runId, difference) {
      await tx.query(`UPDATE recon_runs SET difference = $2 WHERE run_id = $1`, [runId, jsonWithBigints(difference)]);
    },

    async countOpenExceptions(tx, provider, billDate) {
      const { rows } = await tx.query<{ n: string }>(`SELECT count(*)::text AS n FROM recon_exceptions WHERE provider = $1 AND bill_date = $2 AND status = 'open'`, [provider, billDate]);
      return Number(rows[0]?.n ?? "0");
    },
  };
}

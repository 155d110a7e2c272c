import { type Kysely, sql } from 'kysely';
import { type FieldCipher, UndecryptableError } from './crypto.js';

/** The additional-data name of `payments.bank_account_ciphertext` (with the payment id). */
export const BANK_ACCOUNT_COLUMN = 'payments.bank_account';

/** The additional-data name of `ach_files.body_ciphertext` (with the file id). */
export const ACH_FILE_BODY_COLUMN = 'ach_files.body';

/** Every encrypted column: a new one is added here, and `npm run rotate-keys` covers it. */
export const ENCRYPTED_COLUMNS = [
  {
    place: BANK_ACCOUNT_COLUMN,
    table: 'payments',
    id: 'id',
    ciphertext: 'bank_account_ciphertext',
    keyId: 'bank_account_key_id',
    maxBatch: 500,
  },
  {
    // R35: an ACH file body (about 1 MB per 10,000 entries), so a few per batch.
    place: ACH_FILE_BODY_COLUMN,
    table: 'ach_files',
    id: 'id',
    ciphertext: 'body_ciphertext',
    keyId: 'body_key_id',
    maxBatch: 10,
  },
] as const;

export interface ColumnRotation {
  column: string;
  scanned: number;
  /** Rewritten to the current key (and the row-bound format). */
  reencrypted: number;
  /** Already as a new write would be. */
  current: number;
  /** Changed by someone else between read and write (left alone; run the command again). */
  raced: number;
  /** Row ids that could not be decrypted (unknown key, or not authentic in that row). Never data. */
  failed: string[];
}

/**
 * Re-encrypts every encrypted column to the cipher's current key, in batches of `batchSize` rows
 * walked by primary key. Each batch is one short transaction; a row is rewritten only if its
 * ciphertext is still the one that was read, so the command is idempotent, can run while the
 * service writes, and two runs at once do no harm.
 */
export async function reencryptAll(
  db: Kysely<any>,
  cipher: FieldCipher,
  opts: { batchSize?: number; onBatch?: (c: ColumnRotation) => void } = {},
): Promise<ColumnRotation[]> {
  const batchSize = opts.batchSize ?? 500;
  const report: ColumnRotation[] = [];
  for (const col of ENCRYPTED_COLUMNS) {
    const r: ColumnRotation = { column: col.place, scanned: 0, reencrypted: 0, current: 0, raced: 0, failed: [] };
    let after = '';
    const size = Math.min(batchSize, col.maxBatch);
    for (;;) {
      const rows = await sql<{ id: string; blob: Buffer; key_id: string }>`
        select ${sql.ref(col.id)} as id, ${sql.ref(col.ciphertext)} as blob, ${sql.ref(col.keyId)} as key_id
        from ${sql.table(col.table)}
        where ${sql.ref(col.ciphertext)} is not null and ${sql.ref(col.id)} > ${after}
        order by ${sql.ref(col.id)} limit ${size}`.execute(db);
      if (rows.rows.length === 0) break;
      const ids: string[] = [];
      const olds: Buffer[] = [];
      const blobs: Buffer[] = [];
      const keyIds: string[] = [];
      for (const row of rows.rows) {
        r.scanned++;
        after = row.id;
        try {
          const { plaintext, current } = cipher.decrypt(row.key_id, row.blob, { column: col.place, rowId: row.id });
          if (current) {
            r.current++;
            continue;
          }
          const fresh = cipher.encrypt(plaintext, { column: col.place, rowId: row.id });
          ids.push(row.id);
          olds.push(row.blob);
          blobs.push(fresh.blob);
          keyIds.push(fresh.keyId);
        } catch (err) {
          if (!(err instanceof UndecryptableError)) throw err;
          r.failed.push(row.id);
        }
      }
      if (ids.length > 0) {
        const updated = await db.transaction().execute((trx) =>
          sql`
            update ${sql.table(col.table)} t
            set ${sql.ref(col.ciphertext)} = v.blob, ${sql.ref(col.keyId)} = v.key_id
            from unnest(${ids}::text[], ${olds}::bytea[], ${blobs}::bytea[], ${keyIds}::text[]) v(id, old, blob, key_id)
            where t.${sql.ref(col.id)} = v.id and t.${sql.ref(col.ciphertext)} = v.old`.execute(trx),
        );
        const n = Number(updated.numAffectedRows ?? 0);
        r.reencrypted += n;
        r.raced += ids.length - n;
      }
      opts.onBatch?.(r);
      if (rows.rows.length < size) break;
    }
    report.push(r);
  }
  return report;
}

import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { IsoDate } from '../domain/dates.js';
import type { AchFileRecord, PendingDebit } from '../domain/nacha.js';
import type { ReturnFileWarning } from '../domain/nachaReturnChecks.js';
import type { FieldCipher } from './crypto.js';
import { ACH_FILE_BODY_COLUMN, BANK_ACCOUNT_COLUMN } from './keyRotation.js';
import { type Page, pageOf, seqPageRows } from './pagination.js';
import type { DB } from './schema.js';

/** A file to store: what its listing shows, its clear body (encrypted here) and its entries' payments. */
export type NewAchFile = Omit<AchFileRecord, 'id' | 'downloads'> & {
  body: string;
  entries: { paymentId: string; traceNumber: string }[];
};

/** Advisory lock class of file creation (billing runs use their own). */
const ACH_FILE_LOCK = 7_301_035;
const newAchFileId = () => `ach_${randomUUID().replaceAll('-', '')}`;
const bytea = (b: Buffer) => `\\x${b.toString('hex')}`;

type FileRow = {
  id: string;
  seq: number;
  created_at: Date;
  created_by: string;
  effective_date: string;
  file_id_modifier: string;
  entry_count: number;
  batch_count: number;
  total_debit_cents: number;
  entry_hash: string;
  downloads: { apiKeyId: string; downloadedAt: string }[];
};

function toRecord(row: FileRow): AchFileRecord {
  return {
    id: row.id,
    createdAt: row.created_at,
    createdBy: row.created_by,
    effectiveDate: row.effective_date as IsoDate,
    fileIdModifier: row.file_id_modifier,
    entryCount: row.entry_count,
    batchCount: row.batch_count,
    totalDebitCents: row.total_debit_cents,
    entryHash: row.entry_hash,
    downloads: row.downloads.map((d) => ({ apiKeyId: d.apiKeyId, downloadedAt: new Date(d.downloadedAt) })),
  };
}

/**
 * ACH files (R35) and return files (R36). Full account numbers are decrypted only to build a file
 * (`lockPending`) and to serve one (`readBody`); the file body is stored encrypted, bound to its row.
 */
/** A bank payment by its ACH trace number (R36): what a return is matched to and checked against. */
export interface TracedPayment {
  id: string;
  returned: boolean;
  amountCents: number;
  method: 'checking' | 'savings';
}

export class AchStore {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly cipher?: FieldCipher,
  ) {}

  private need(): FieldCipher {
    if (!this.cipher) throw new Error('AchStore needs a cipher');
    return this.cipher;
  }

  /**
   * Every bank payment (online or phone, checking or savings, not returned) not yet in a file, locked
   * for this transaction. Rows another transaction holds (a concurrent file, a return in progress)
   * are skipped: they go into that file, or the next one, never into two.
   */
  async lockPending(): Promise<PendingDebit[]> {
    const rows = await sql<{
      id: string;
      channel: 'online' | 'phone';
      method: 'checking' | 'savings';
      amount_cents: number;
      bank_routing_number: string;
      bank_account_ciphertext: Buffer;
      bank_account_key_id: string;
      member_id: string | null;
      first_name: string | null;
      last_name: string | null;
    }>`
      select p.id, p.channel, p.method, p.amount_cents, p.bank_routing_number, p.bank_account_ciphertext,
             p.bank_account_key_id, coalesce(p.member_id, e.member_id) as member_id, a.first_name, a.last_name
      from payments p
      left join enrollments e on e.id = p.enrollment_id
      left join accounts a on a.member_id = coalesce(p.member_id, e.member_id)
      where p.ach_file_id is null and p.method in ('checking', 'savings') and p.channel in ('online', 'phone')
        and p.status <> 'returned' and p.bank_account_ciphertext is not null
      order by p.seq
      for no key update of p skip locked`.execute(this.db);
    const cipher = this.need();
    return rows.rows.map((r) => ({
      paymentId: r.id,
      channel: r.channel,
      method: r.method,
      amountCents: r.amount_cents,
      routingNumber: r.bank_routing_number,
      accountNumber: cipher.decrypt(r.bank_account_key_id, r.bank_account_ciphertext, {
        column: BANK_ACCOUNT_COLUMN,
        rowId: r.id,
      }).plaintext,
      memberId: r.member_id ?? '',
      firstName: r.first_name ?? '',
      lastName: r.last_name ?? '',
    }));
  }

  /**
   * Serializes file creation (transaction-scoped advisory lock): each file takes every payment
   * pending when it starts and gets its own file id modifier; `lockPending` skips rows held by others.
   */
  async lockFileCreation(): Promise<void> {
    await sql`select pg_advisory_xact_lock(${ACH_FILE_LOCK}::int4, 0)`.execute(this.db);
  }

  /** `n` fresh trace sequence numbers, ascending (never handed out again). */
  async traceSequences(n: number): Promise<number[]> {
    const r = await sql<{ n: number }>`
      select nextval('ach_trace_seq')::int8 as n from generate_series(1, ${n}::int)`.execute(this.db);
    return r.rows.map((row) => Number(row.n)).sort((a, b) => a - b);
  }

  /** How many files were created in [from, until): one business day's, for its file id modifier. */
  async countCreatedBetween(from: Date, until: Date): Promise<number> {
    const r = await this.db
      .selectFrom('ach_files')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('created_at', '>=', from)
      .where('created_at', '<', until)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** The file (body encrypted) and its payments' file id and trace numbers, in one transaction's writes. */
  async insertFile(file: NewAchFile): Promise<AchFileRecord> {
    const id = newAchFileId();
    const encrypted = this.need().encrypt(file.body, { column: ACH_FILE_BODY_COLUMN, rowId: id });
    await this.db
      .insertInto('ach_files')
      .values({
        id,
        created_at: file.createdAt,
        created_by: file.createdBy,
        effective_date: file.effectiveDate,
        file_id_modifier: file.fileIdModifier,
        entry_count: file.entryCount,
        batch_count: file.batchCount,
        total_debit_cents: file.totalDebitCents,
        entry_hash: file.entryHash,
        body_ciphertext: bytea(encrypted.blob) as unknown as Buffer,
        body_key_id: encrypted.keyId,
      })
      .execute();
    const ids = file.entries.map((e) => e.paymentId);
    const traces = file.entries.map((e) => e.traceNumber);
    await sql`
      update payments p set ach_file_id = ${id}, ach_trace_number = v.trace
      from unnest(${ids}::text[], ${traces}::text[]) as v(id, trace)
      where p.id = v.id`.execute(this.db);
    const record = await this.get(id);
    if (!record) throw new Error(`ACH file ${id} vanished`);
    return record;
  }

  private selectFiles() {
    return this.db.selectFrom('ach_files as f').select([
      'f.id',
      'f.seq',
      'f.created_at',
      'f.created_by',
      'f.effective_date',
      'f.file_id_modifier',
      'f.entry_count',
      'f.batch_count',
      'f.total_debit_cents',
      'f.entry_hash',
      sql<FileRow['downloads']>`coalesce((
          select json_agg(json_build_object('apiKeyId', d.api_key_id, 'downloadedAt', d.downloaded_at) order by d.id)
          from ach_file_downloads d where d.file_id = f.id), '[]'::json)`.as('downloads'),
    ]);
  }

  async get(id: string): Promise<AchFileRecord | null> {
    const row = await this.selectFiles().where('f.id', '=', id).executeTakeFirst();
    return row ? toRecord(row as FileRow) : null;
  }

  async list(limit: number, after?: string): Promise<Page<AchFileRecord>> {
    const rows = await seqPageRows<FileRow>(this.selectFiles(), 'f.seq', after, limit);
    return pageOf(rows, limit, toRecord);
  }

  /** R35: the file's text for a download, which is recorded (who, when) in the same transaction. */
  async readBody(id: string, apiKeyId: string, at: Date): Promise<string | null> {
    const row = await this.db
      .selectFrom('ach_files')
      .select(['body_ciphertext', 'body_key_id'])
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) return null;
    await this.db
      .insertInto('ach_file_downloads')
      .values({ file_id: id, api_key_id: apiKeyId, downloaded_at: at })
      .execute();
    return this.need().decrypt(row.body_key_id, row.body_ciphertext, { column: ACH_FILE_BODY_COLUMN, rowId: id })
      .plaintext;
  }

  /** R36: the payments with these trace numbers. */
  async paymentsByTrace(traces: readonly string[]): Promise<Map<string, TracedPayment>> {
    if (traces.length === 0) return new Map();
    // Trace numbers wrap after ten million entries (migration 0019): the most recent payment is meant.
    const rows = await this.db
      .selectFrom('payments')
      .distinctOn('ach_trace_number')
      .select(['id', 'status', 'ach_trace_number', 'amount_cents', 'method'])
      .where('ach_trace_number', 'in', [...new Set(traces)])
      .orderBy('ach_trace_number')
      .orderBy('seq', 'desc')
      .execute();
    return new Map(
      rows.map((r) => [
        r.ach_trace_number as string,
        {
          id: r.id,
          returned: r.status === 'returned',
          amountCents: Number(r.amount_cents),
          // Only bank payments get a trace number (R35).
          method: r.method === 'savings' ? 'savings' : 'checking',
        },
      ]),
    );
  }

  /**
   * R36: records a return file by its SHA-256 with the integrity warnings found in it; answers when it
   * was first received (now, if this is the first time) and the warnings recorded then (null for a
   * file recorded before warnings were kept, migration 0023).
   */
  async recordReturnFile(file: {
    sha256: Buffer;
    receivedAt: Date;
    receivedBy: string;
    returnCount: number;
    notificationCount: number;
    warnings: readonly ReturnFileWarning[];
  }): Promise<{ id: string; firstReceivedAt: Date; created: boolean; warnings: ReturnFileWarning[] | null }> {
    const inserted = await this.db
      .insertInto('ach_return_files')
      .values({
        sha256: bytea(file.sha256) as unknown as Buffer,
        received_at: file.receivedAt,
        received_by: file.receivedBy,
        return_count: file.returnCount,
        notification_count: file.notificationCount,
        warnings: JSON.stringify(file.warnings),
      })
      .onConflict((oc) => oc.column('sha256').doNothing())
      .returning(['id', 'received_at'])
      .executeTakeFirst();
    if (inserted) {
      return { id: inserted.id, firstReceivedAt: inserted.received_at, created: true, warnings: [...file.warnings] };
    }
    const row = await this.db
      .selectFrom('ach_return_files')
      .select(['id', 'received_at', 'warnings'])
      .where('sha256', '=', bytea(file.sha256) as unknown as Buffer)
      .executeTakeFirstOrThrow();
    return { id: row.id, firstReceivedAt: row.received_at, created: false, warnings: row.warnings };
  }

  /**
   * R36: claims a return file's hash for this request (migration 0025): true when it was free or its
   * claim is older than `staleSeconds` (a request that died). Real time, not the service clock.
   */
  async claimReturnFile(sha256: Buffer, staleSeconds: number): Promise<boolean> {
    const r = await sql<{ ok: number }>`
      insert into ach_return_file_claims as c (sha256, claimed_at) values (${bytea(sha256)}::bytea, clock_timestamp())
      on conflict (sha256) do update set claimed_at = clock_timestamp()
        where c.claimed_at < clock_timestamp() - make_interval(secs => ${staleSeconds})
      returning 1 as ok`.execute(this.db);
    return r.rows.length > 0;
  }

  /** Keeps this request's claim fresh while it applies the file. */
  async refreshReturnFileClaim(sha256: Buffer): Promise<void> {
    await sql`update ach_return_file_claims set claimed_at = clock_timestamp() where sha256 = ${bytea(sha256)}::bytea`.execute(
      this.db,
    );
  }

  async releaseReturnFileClaim(sha256: Buffer): Promise<void> {
    await sql`delete from ach_return_file_claims where sha256 = ${bytea(sha256)}::bytea`.execute(this.db);
  }

  /** R36: when a return file with this SHA-256 was first received, if ever. */
  async returnFileReceived(sha256: Buffer): Promise<{ id: string; firstReceivedAt: Date } | null> {
    const row = await this.db
      .selectFrom('ach_return_files')
      .select(['id', 'received_at'])
      .where('sha256', '=', bytea(sha256) as unknown as Buffer)
      .executeTakeFirst();
    return row ? { id: row.id, firstReceivedAt: row.received_at } : null;
  }
}
